"""What a finished sweep leaves beside Tune's files: summary.json and trials.png. No Ray here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workloads.files import publish

SUMMARY_FILE = "summary.json"
PLOT_FILE = "trials.png"

# How a trial ended. INTERRUPTED: the driver stopped (a signal, a lost head) before the trial finished; a
# resumed run continues it. ERROR: it failed more often than --max-failures allows.
COMPLETED, STOPPED_EARLY, INTERRUPTED, ERROR = "completed", "stopped_early", "interrupted", "error"
STATUSES = (COMPLETED, STOPPED_EARLY, INTERRUPTED, ERROR)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the sweep left it; `history` is [(epoch, val_accuracy), ...] in epoch order."""

    trial_id: str
    status: str  # one of STATUSES
    config: dict[str, Any]
    history: tuple[tuple[int, float], ...] = ()
    compute_seconds: float = 0.0
    device: str = ""
    error: str | None = None
    path: str = ""  # the trial's directory on the storage path (the results volume)
    failures: int = 0  # times its worker failed; each but a final ERROR was retried from a checkpoint
    error_file: str | None = None  # Tune's error.txt, on the storage path

    @property
    def retried(self) -> bool:
        return self.failures > 0 and self.status != ERROR

    @property
    def epochs(self) -> int:
        return max((epoch for epoch, _ in self.history), default=0)

    @property
    def final_accuracy(self) -> float | None:
        return self.history[-1][1] if self.history else None

    @property
    def best_accuracy(self) -> float | None:
        return max((acc for _, acc in self.history), default=None)


@dataclass(frozen=True)
class SearchWindow:
    """When this invocation's search ran: from Tune starting the experiment to its last save of it, as
    `fit()` ended (workloads/tune_clock.py), without Python's, Ray's and the Tuner's start-up."""

    started_at: float  # time.time()
    seconds: float


@dataclass(frozen=True)
class RunInfo:
    """About the run as a whole, for the summary's top level."""

    name: str
    run_dir: str
    wall_seconds: float
    ray_version: str
    torch_version: str
    resumed: bool
    settings: dict[str, Any] = field(default_factory=dict)
    num_samples: int | None = None  # trials asked for; fewer in the summary means the run is incomplete
    stopped_by: str | None = None  # the signal that stopped the driver (SIGTERM, SIGINT), if any
    search: SearchWindow | None = None


def incomplete_reasons(trials: Sequence[TrialRecord], run: RunInfo) -> list[str]:
    """Why the run is not finished (empty when it is): resuming it would do more work."""
    reasons = []
    if run.stopped_by:
        reasons.append(f"the driver was stopped by {run.stopped_by}")
    interrupted = sum(t.status == INTERRUPTED for t in trials)
    if interrupted:
        reasons.append(f"{interrupted} trial{'s' * (interrupted != 1)} interrupted")
    if run.num_samples is not None and len(trials) < run.num_samples:
        reasons.append(f"{run.num_samples - len(trials)} of {run.num_samples} trials never started")
    return reasons


def best_trial(trials: Sequence[TrialRecord]) -> TrialRecord | None:
    scored = [(t.best_accuracy, i, t) for i, t in enumerate(trials) if t.best_accuracy is not None]
    return max(scored, key=lambda s: (s[0], -s[1]))[2] if scored else None


def summarize(trials: Sequence[TrialRecord], run: RunInfo) -> dict[str, Any]:
    """summary.json's content."""
    best = best_trial(trials)
    devices = sorted({t.device for t in trials if t.device})
    reasons = incomplete_reasons(trials, run)
    return {
        "name": run.name,
        "run_dir": run.run_dir,
        "complete": not reasons,
        "incomplete_reasons": reasons,
        "stopped_by": run.stopped_by,
        "best_accuracy": best.best_accuracy if best else None,
        "best_trial_id": best.trial_id if best else None,
        "best_config": best.config if best else None,
        "num_samples": run.num_samples,
        "num_trials": len(trials),
        "num_errors": sum(t.status == ERROR for t in trials),
        "num_completed": sum(t.status == COMPLETED for t in trials),
        "num_stopped_early": sum(t.status == STOPPED_EARLY for t in trials),
        "num_interrupted": sum(t.status == INTERRUPTED for t in trials),
        "num_retried": sum(t.retried for t in trials),
        "num_failures": sum(t.failures for t in trials),
        "total_epochs": sum(len(t.history) for t in trials),
        "wall_seconds": round(run.wall_seconds, 3),
        # Unrounded: the benchmark times reports (their wall_time) from the search's start.
        "fit_started_at": run.search.started_at if run.search else None,
        "fit_seconds": run.search.seconds if run.search else None,
        "ray_version": run.ray_version,
        "torch_version": run.torch_version,
        "device": ", ".join(devices) or "unknown",
        "resumed": run.resumed,
        "settings": run.settings,
        "trials": [
            {
                "trial_id": t.trial_id,
                "status": t.status,
                "epochs": t.epochs,
                "final_accuracy": t.final_accuracy,
                "best_accuracy": t.best_accuracy,
                "compute_seconds": round(t.compute_seconds, 3),
                "config": t.config,
                "history": [list(point) for point in t.history],
                "failures": t.failures,
                "error": t.error,
                "error_file": t.error_file,
                "path": t.path,
            }
            for t in sorted(trials, key=lambda t: t.trial_id)
        ],
    }


def write_json(path: Path, content: dict[str, Any]) -> Path:
    """Write whole-file-or-nothing: a results volume may be read while we write."""
    return publish(path, (json.dumps(content, indent=2, sort_keys=False) + "\n").encode())


# The band where MNIST trials end and differ: on a 0-1 axis 0.97 and 0.98 are one pixel apart.
ZOOM_BAND = (0.9, 1.0)
END_MARKERS = {
    COMPLETED: ("o", "ran all epochs"),
    STOPPED_EARLY: ("x", "stopped early by ASHA"),
    INTERRUPTED: ("s", "interrupted (resume continues it)"),
    ERROR: ("X", "error"),
}


def draw(trials: Sequence[TrialRecord], title: str):
    """Validation accuracy per trial over whole epochs: the full range, and the 0.9-1.0 band enlarged.

    A marker ends each trial by how it ended; the best trial is bold red in both panels. Returns the
    matplotlib Figure (axes: the full range, then the band).
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on cluster pods
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    best = best_trial(trials)
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(12, 5.5), dpi=110, gridspec_kw={"width_ratios": [1, 1.3]})
    for ax in (full, zoom):
        for index, trial in enumerate(sorted(trials, key=lambda t: t.trial_id)):
            if not trial.history:
                continue
            epochs, accuracy = zip(*trial.history)
            is_best = best is not None and trial.trial_id == best.trial_id
            (line,) = ax.plot(
                epochs,
                accuracy,
                lw=2.8 if is_best else 1.0,
                alpha=1.0 if is_best else 0.55,
                color="tab:red" if is_best else f"C{index % 10}",  # the same colour in both panels
                zorder=3 if is_best else 2,
                label=f"best: {trial.trial_id} ({trial.best_accuracy:.2%})" if is_best and ax is zoom else None,
            )
            marker = END_MARKERS.get(trial.status, ("o", ""))[0]
            ax.plot(
                epochs[-1],
                accuracy[-1],
                marker=marker,
                ms=4 if marker == "o" else 8,
                color=line.get_color(),
                ls="none",
                zorder=line.get_zorder(),
            )
        # Whole epochs only: a fractional epoch is never reported.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    max_epoch = max((t.epochs for t in trials), default=1)
    for ax in (full, zoom):
        ax.set_xlim(0.5, max(max_epoch, 1) + 0.5)
    full.set_ylim(0.0, 1.0)
    full.axhspan(*ZOOM_BAND, color="0.85", alpha=0.5, zorder=0)
    full.set_ylabel("validation accuracy")
    full.set_title("all epochs", fontsize=9)
    zoom.set_ylim(*ZOOM_BAND)
    zoom.set_title(f"{ZOOM_BAND[0]:.1f}-{ZOOM_BAND[1]:.1f} enlarged (the shaded band on the left)", fontsize=9)
    ends = {t.status for t in trials if t.history}
    for status, (marker, text) in END_MARKERS.items():
        if status in ends:
            zoom.plot([], [], marker=marker, color="gray", ls="none", label=text)
    if zoom.get_legend_handles_labels()[0]:
        zoom.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_trials(trials: Sequence[TrialRecord], path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt

    fig = draw(trials, title)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(trials: Sequence[TrialRecord], run: RunInfo) -> tuple[Path, Path]:
    """summary.json and trials.png in the run directory."""
    run_dir = Path(run.run_dir)
    summary = summarize(trials, run)
    best = summary["best_accuracy"]
    title = (
        f"{run.name}: {len(trials)} trials, best validation accuracy "
        + (f"{best:.2%}" if best is not None else "n/a")
        + ("" if summary["complete"] else " (incomplete: " + "; ".join(summary["incomplete_reasons"]) + ")")
    )
    return write_json(run_dir / SUMMARY_FILE, summary), plot_trials(trials, run_dir / PLOT_FILE, title)
