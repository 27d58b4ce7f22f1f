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

COMPLETED, STOPPED_EARLY, ERROR = "completed", "stopped_early", "error"


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the sweep left it; `history` is [(epoch, val_accuracy), ...] in epoch order."""

    trial_id: str
    status: str  # COMPLETED, STOPPED_EARLY (by the scheduler) or ERROR
    config: dict[str, Any]
    history: tuple[tuple[int, float], ...] = ()
    compute_seconds: float = 0.0
    device: str = ""
    error: str | None = None
    path: str = ""

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
class RunInfo:
    """About the run as a whole, for the summary's top level."""

    name: str
    run_dir: str
    wall_seconds: float
    ray_version: str
    torch_version: str
    resumed: bool
    settings: dict[str, Any] = field(default_factory=dict)


def best_trial(trials: Sequence[TrialRecord]) -> TrialRecord | None:
    scored = [t for t in trials if t.best_accuracy is not None]
    return max(scored, key=lambda t: t.best_accuracy) if scored else None


def summarize(trials: Sequence[TrialRecord], run: RunInfo) -> dict[str, Any]:
    """summary.json's content."""
    best = best_trial(trials)
    devices = sorted({t.device for t in trials if t.device})
    return {
        "name": run.name,
        "run_dir": run.run_dir,
        "best_accuracy": best.best_accuracy if best else None,
        "best_trial_id": best.trial_id if best else None,
        "best_config": best.config if best else None,
        "num_trials": len(trials),
        "num_errors": sum(t.status == ERROR for t in trials),
        "num_completed": sum(t.status == COMPLETED for t in trials),
        "num_stopped_early": sum(t.status == STOPPED_EARLY for t in trials),
        "total_epochs": sum(len(t.history) for t in trials),
        "wall_seconds": round(run.wall_seconds, 3),
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
                "error": t.error,
                "path": t.path,
            }
            for t in sorted(trials, key=lambda t: t.trial_id)
        ],
    }


def write_json(path: Path, content: dict[str, Any]) -> Path:
    """Write whole-file-or-nothing: a results volume may be read while we write."""
    return publish(path, (json.dumps(content, indent=2, sort_keys=False) + "\n").encode())


def plot_trials(trials: Sequence[TrialRecord], path: Path, title: str) -> Path:
    """Validation accuracy per trial over epochs; x ends stopped trials, the best trial is bold."""
    import matplotlib

    matplotlib.use("Agg")  # no display on cluster pods
    import matplotlib.pyplot as plt

    best = best_trial(trials)
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    for trial in sorted(trials, key=lambda t: t.trial_id):
        if not trial.history:
            continue
        epochs, accuracy = zip(*trial.history)
        is_best = best is not None and trial.trial_id == best.trial_id
        line, = ax.plot(epochs, accuracy, lw=2.8 if is_best else 1.0, alpha=1.0 if is_best else 0.55,
                        color="tab:red" if is_best else None, zorder=3 if is_best else 2,
                        label=f"best: {trial.trial_id} ({trial.best_accuracy:.2%})" if is_best else None)
        end = {STOPPED_EARLY: "x", ERROR: "X"}.get(trial.status, "o")
        ax.plot(epochs[-1], accuracy[-1], marker=end, ms=8 if end != "o" else 4, color=line.get_color(),
                ls="none", zorder=line.get_zorder())
    # Legend entries for the end markers that occur, drawn once.
    ends = {t.status for t in trials if t.history}
    for status, marker, text in ((STOPPED_EARLY, "x", "stopped early"), (ERROR, "X", "error"),
                                 (COMPLETED, "o", "ran all epochs")):
        if status in ends:
            ax.plot([], [], marker=marker, color="gray", ls="none", label=text)
    scored = [acc for t in trials for _, acc in t.history]
    # Zoom on the useful range: the first epochs of poor trials would squash the rest.
    ax.set_ylim(max(0.0, min(scored, default=0.0) - 0.02) if scored and min(scored) > 0.5 else 0.0, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(trials: Sequence[TrialRecord], run: RunInfo) -> tuple[Path, Path]:
    """summary.json and trials.png in the run directory."""
    run_dir = Path(run.run_dir)
    summary = summarize(trials, run)
    best = summary["best_accuracy"]
    title = (f"{run.name}: {len(trials)} trials, best validation accuracy "
             + (f"{best:.2%}" if best is not None else "n/a"))
    return write_json(run_dir / SUMMARY_FILE, summary), plot_trials(trials, run_dir / PLOT_FILE, title)

