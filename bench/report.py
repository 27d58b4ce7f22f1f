"""The results JSON as a Markdown table (pure: dict in, text out) and as a picture of time to accuracy."""

from __future__ import annotations

from pathlib import Path

COLUMNS = (
    # (key, header, format)
    ("wall_seconds", "sweep wall s", "{:.1f}"),
    ("cpu_seconds", "CPU-s", "{:.0f}"),
    ("best_val_accuracy", "best val acc", "{:.4f}"),
    ("time_to_target_s", "to target s (fit)", "{:.2f}"),
    ("time_to_target_from_command_s", "to target s (cmd)", "{:.2f}"),
    ("time_to_seed_target_s", "to seed's target s (fit)", "{:.2f}"),
    ("overhead", "overhead", "{:.1%}"),
)
GPU_COLUMNS = (
    ("trial_epochs_per_device_second", "trial-epochs / device-s", "{:.2f}"),
    ("train_samples_per_device_second", "samples / device-s", "{:.0f}"),
)


def cell(stats: dict, fmt: str) -> str:
    """`median (min–max)`; `never` where a run did not get there."""

    def one(value):
        return "never" if value is None else fmt.format(value)

    if stats["min"] == stats["max"]:
        return one(stats["median"])
    return f"{one(stats['median'])} ({one(stats['min'])}–{one(stats['max'])})"


def table(result: dict) -> str:
    columns = COLUMNS + (GPU_COLUMNS if result["plan"]["gpu"] else ())
    lines = [
        "| approach | " + " | ".join(header for _, header, _ in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for approach, stats in result["approaches"].items():
        lines.append(f"| {approach} | " + " | ".join(cell(stats[key], fmt) for key, _, fmt in columns) + " |")
    ratios = result["ratios"]
    speedup = ratios["time_to_target_baseline_over_ours"]
    per_seed = ratios["time_to_target_baseline_over_ours_per_seed"]
    m, plan = result["machine"], result["plan"]
    lines += [
        "",
        f"Target {result['target']:.4f}; time to target, baseline/ours (medians): "
        + ("n/a" if speedup is None else f"{speedup:.1f}x")
        + f" (per seed {cell(per_seed, '{:.1f}x')}); from the command's start: "
        + _x(ratios["time_to_target_from_command_baseline_over_ours"])
        + f"; CPU-seconds baseline/ours: {_x(ratios['cpu_seconds_baseline_over_ours'])}.",
        "Each seed scored against its own baseline run's best (seed's target, capped at 98%): baseline/ours "
        + cell(ratios["time_to_seed_target_baseline_over_ours_per_seed"], "{:.1f}x") + " (median, range over seeds).",
        f"{plan['num_samples']} trials x {plan['max_epochs']} epochs, seeds {', '.join(map(str, plan['seeds']))}; "
        f"{m['date']} on {m['name']} ({m['cpu_model']}, {m['cores']} cores"
        + (f", {m['gpu']}" if m.get("gpu") else "")
        + f"), Python {m['python']}, Ray {m['ray']}, torch {m['torch']}; load average "
        f"{m['load_average_before'][0]} before, {m['load_average_after'][0]} after.",
        f"Command: `{result['command']}`",
    ]
    if result.get("note"):
        lines.append(result["note"])
    return "\n".join(lines)


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


COLORS = {"baseline": "tab:gray", "ours": "tab:blue"}


def plot(result: dict, path: Path) -> Path:
    """Best validation accuracy so far against seconds since Tuner.fit() started, every run, both approaches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    labelled = set()
    for run in result["runs"]:
        curve = run.get("progress") or []
        if not curve:
            continue
        times, accuracies = zip(*curve)
        # A step that holds the best so far until the end of the fit window.
        times, accuracies = [*times, run["fit_seconds"]], [*accuracies, accuracies[-1]]
        label = None if run["approach"] in labelled else run["approach"]
        labelled.add(run["approach"])
        ax.step(times, accuracies, where="post", color=COLORS.get(run["approach"]), alpha=0.8, label=label)
    ax.axhline(result["target"], color="tab:red", linestyle="--", linewidth=1,
               label=f"common target {result['target']:.1%}")
    ax.set_xscale("log")
    ax.set_xlabel("seconds since Tuner.fit() started (log)")
    ax.set_ylabel("best validation accuracy so far")
    m, plan = result["machine"], result["plan"]
    ax.set_title(f"{plan['num_samples']} trials x {plan['max_epochs']} epochs, {len(plan['seeds'])} seed(s) each, "
                 f"{m['name']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
