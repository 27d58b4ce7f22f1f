"""The results JSON as a Markdown table (pure: dict in, text out) and as a picture of time to accuracy."""

from __future__ import annotations

from pathlib import Path

COLUMNS = (
    # (key, header, format)
    ("best_val_accuracy", "best val acc", "{:.4f}"),
    ("time_to_97_s", "to 97% s (search)", "{:.1f}"),
    ("time_to_98_s", "to 98% s (search)", "{:.1f}"),
    ("time_to_97_from_command_s", "to 97% s (cmd)", "{:.1f}"),
    ("time_to_98_from_command_s", "to 98% s (cmd)", "{:.1f}"),
    ("wall_seconds", "sweep wall s", "{:.1f}"),
    ("cpu_seconds", "CPU-s", "{:.0f}"),
    ("trials", "trials", "{:.0f}"),
    ("trials_full_length", "ran all epochs", "{:.0f}"),
    ("overhead", "overhead", "{:.1%}"),
)
# Ray's example's question (time to the accuracy its smoke-test-sized model reaches).
BASELINE_COLUMNS = (
    ("time_to_target_s", "to common target s (fit)", "{:.2f}"),
    ("time_to_target_from_command_s", "to common target s (cmd)", "{:.2f}"),
    ("time_to_seed_target_s", "to seed's target s (fit)", "{:.2f}"),
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


def rows(result: dict, columns) -> list[str]:
    lines = [
        "| approach | " + " | ".join(header for _, header, _ in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for approach, stats in result["approaches"].items():
        lines.append(f"| {approach} | " + " | ".join(cell(stats[key], fmt) for key, _, fmt in columns) + " |")
    return lines


def targets(result: dict) -> list[str]:
    """One line per target: met or not, with the figure."""
    lines = []
    for t in result.get("targets", []):
        if t["met"] is None:
            lines.append(f"- NOT MEASURED: {t['target']} (an approach it needs was not run)")
            continue
        value = (
            "n/a (a time that never came)"
            if t["value"] is None
            else (f"{t['value']:.1%}" if t["figure"].startswith("overhead") else f"{t['value']:.2f}x")
        )
        lines.append(f"- {'MET' if t['met'] else 'NOT MET'}: {t['target']}: {value} (needs {t['bound']})")
    return lines


def pair_ratios(result: dict) -> list[str]:
    """Time-to-98% (and 97%) ratios between approaches, of medians and per seed."""
    lines = []
    for key, value in result["ratios"].items():
        if key.startswith("time_to_9") and not key.endswith("_per_seed"):
            lines.append(f"- {key}: {_x(value, 2)} (per seed {cell(result['ratios'][key + '_per_seed'], '{:.2f}x')})")
    return lines


def table(result: dict) -> str:
    columns = COLUMNS + (GPU_COLUMNS if result["plan"]["gpu"] else ())
    lines = rows(result, columns)
    if result["target"] is not None:
        lines += ["", *rows(result, BASELINE_COLUMNS)]
    ratios = result["ratios"]
    m, plan = result["machine"], result["plan"]
    if "time_to_target_baseline_over_ours" in ratios:
        lines += [
            "",
            f"Common target {result['target']:.4f} (the stock example's worst best); time to it, baseline/ours "
            f"(medians): {_x(ratios['time_to_target_baseline_over_ours'])} (per seed "
            f"{cell(ratios['time_to_target_baseline_over_ours_per_seed'], '{:.1f}x')}); from the command's start: "
            + _x(ratios["time_to_target_from_command_baseline_over_ours"])
            + f"; CPU-seconds baseline/ours: {_x(ratios['cpu_seconds_baseline_over_ours'])}.",
            "Each seed scored against its own baseline run's best (seed's target, capped at 98%): baseline/ours "
            + cell(ratios["time_to_seed_target_baseline_over_ours_per_seed"], "{:.1f}x")
            + " (median, range over seeds).",
        ]
    lines += [
        "",
        f"{plan['num_samples']} trials x {plan['max_epochs']} epochs, seeds {', '.join(map(str, plan['seeds']))}; "
        f"{m['date']} on {m['name']} ({m['cpu_model']}, {m['cores']} cores"
        + (f", {m['gpu']}" if m.get("gpu") else "")
        + f"), Python {m['python']}, Ray {m['ray']}, torch {m['torch']}; load average "
        f"{m['load_average_before'][0]} before, {m['load_average_after'][0]} after.",
        f"Command: `{result['command']}`",
    ]
    if result.get("targets"):
        lines += ["", "Targets:", *targets(result)]
    if pair_ratios(result):
        lines += ["", "Ratios (numerator over denominator; above 1: the denominator is faster):", *pair_ratios(result)]
    if result.get("note"):
        lines.append(result["note"])
    return "\n".join(lines)


def _x(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}x"


COLORS = {
    "baseline": "tab:gray",
    "ours": "tab:blue",
    "ours-seeded": "tab:cyan",
    "optuna": "tab:orange",
    "tune-defaults": "tab:green",
}


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
        seen_at, seen = zip(*curve)
        # A step that holds the best so far until the end of the fit window.
        times, accuracies = [*seen_at, run["fit_seconds"]], [*seen, seen[-1]]
        label = None if run["approach"] in labelled else run["approach"]
        labelled.add(run["approach"])
        ax.step(times, accuracies, where="post", color=COLORS.get(run["approach"]), alpha=0.8, label=label)
    if result["target"] is not None:
        ax.axhline(
            result["target"],
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"common target {result['target']:.1%}",
        )
    for threshold in result.get("thresholds", []):
        ax.axhline(threshold, color="black", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("seconds since the search started (Tuner.fit() or study.optimize(); log)")
    ax.set_ylabel("best validation accuracy so far")
    m, plan = result["machine"], result["plan"]
    ax.set_title(
        f"{plan['num_samples']} trials x {plan['max_epochs']} epochs, {len(plan['seeds'])} seed(s) each, "
        f"{m['name']}" + (" (partial run)" if result.get("partial") else ""),
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
