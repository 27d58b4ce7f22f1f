"""What each sweep leaves for the benchmark to score, and how bench/run.py and `--rescore` read it back. No
Ray at import.

- Every report of every trial: for the Tune approaches (ours, ours-seeded, tune-defaults, baseline)
  through Tune's public `ray.tune.ExperimentAnalysis` (workloads/results.trial_reports); for the Optuna
  study, its own per-trial JSON lines (`OPTUNA_TRIALS_DIR`, written by `OptunaTrialLog`), not Tune's.
- The search window: ours records it in summary.json (`fit_started_at`, `fit_seconds`, workloads/report.py);
  the benchmark's own scripts (bench/baseline.py, bench/tune_defaults.py, bench/optuna_study.py) write
  `SEARCH_FILE` with `write_search`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from bench import measure
from workloads import report

SEARCH_FILE = "search.json"
OPTUNA_TRIALS_DIR = "trials"  # <run>/trials/trial_<number>.jsonl, one line per epoch


def write_search(run_dir: Path, window: report.SearchWindow | None, **extra: Any) -> Path:
    """`SEARCH_FILE`: when the search ran (`started_at`: time.time(), `seconds`) and what else a script adds."""
    if window is None:
        raise RuntimeError(f"{run_dir}: the search's window was not recorded (did fit() start?)")
    return report.write_json(
        run_dir / SEARCH_FILE, {"started_at": window.started_at, "seconds": window.seconds, **extra}
    )


def read_search(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / SEARCH_FILE).read_text())


def fit_window(run_dir: Path) -> tuple[float, float]:
    """When the search started (time.time()) and how long it ran: `SEARCH_FILE`, else ours' summary.json."""
    if (run_dir / SEARCH_FILE).is_file():
        search = read_search(run_dir)
        return float(search["started_at"]), float(search["seconds"])
    summary_file = run_dir / report.SUMMARY_FILE
    if not summary_file.is_file():
        raise FileNotFoundError(f"{run_dir}: neither {SEARCH_FILE} nor {report.SUMMARY_FILE}; did the sweep run?")
    summary = json.loads(summary_file.read_text())
    if summary.get("fit_started_at") is None:
        raise ValueError(f"{summary_file}: no fit_started_at; written by a workload from before it recorded one?")
    return float(summary["fit_started_at"]), float(summary["fit_seconds"])


def tune_reports(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    from workloads import results  # here: it imports ray.tune, seconds that scoring needs once

    return results.trial_reports(run_dir)


def tune_trials(run_dir: Path, accuracy_key: str) -> list[measure.Trial]:
    """Every Tune trial's reports of `accuracy_key`, with their epoch, wall_time and compute_seconds, in
    trial-id order."""
    return [
        measure.Trial(trial_id, tuple(_report(row, accuracy_key) for row in rows if accuracy_key in row))
        for trial_id, rows in tune_reports(run_dir).items()
    ]


def peak_gpu_memory(run_dir: Path) -> int | None:
    """The highest `peak_gpu_memory_bytes` any trial reported (bench/baseline.py reports it on a GPU)."""
    peaks = [
        row["peak_gpu_memory_bytes"]
        for rows in tune_reports(run_dir).values()
        for row in rows
        if "peak_gpu_memory_bytes" in row
    ]
    return int(max(peaks)) if peaks else None


class OptunaTrialLog:
    """One Optuna trial's reports, a JSON line per epoch, flushed as they come (bench/optuna_study.py)."""

    def __init__(self, run_dir: Path, number: int):
        self.path = run_dir / OPTUNA_TRIALS_DIR / f"trial_{number:03d}.jsonl"
        self._file: IO[str] | None = None

    def __enter__(self) -> OptunaTrialLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def write(self, epoch: int, accuracy: float, wall_time: float, compute_seconds: float, config: dict) -> None:
        assert self._file is not None, "use OptunaTrialLog as a context manager"
        row = {
            "epoch": epoch,
            "val_accuracy": accuracy,
            "wall_time": wall_time,
            "compute_seconds": compute_seconds,
            "config": config,
        }
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()


def optuna_trials(run_dir: Path) -> list[measure.Trial]:
    """Every trial of the Optuna study, from its `OptunaTrialLog`s, in trial-number order."""
    trials = []
    for path in sorted((run_dir / OPTUNA_TRIALS_DIR).glob("trial_*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        trials.append(measure.Trial(path.stem, tuple(_report(row, "val_accuracy") for row in rows)))
    return trials


def read_trials(approach: str, run_dir: Path) -> list[measure.Trial]:
    """The trials of one sweep of `approach` (bench.plan.APPROACHES)."""
    if approach == "optuna":
        return optuna_trials(run_dir)
    return tune_trials(run_dir, "mean_accuracy" if approach == "baseline" else "val_accuracy")


def _report(row: dict[str, Any], accuracy_key: str) -> measure.Report:
    return measure.Report(
        epoch=int(row["epoch"]),
        accuracy=float(row[accuracy_key]),
        wall_time=float(row["wall_time"]),
        compute_seconds=float(row["compute_seconds"]),
    )
