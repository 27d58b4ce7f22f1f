"""What each trial of a sweep did, read through Ray Tune's public results API: its directory's name, its
reports (`ExperimentAnalysis`), its record for summary.json (`Result`) and how it ended.

A `ray.tune` user with workloads/trainable.py (the trainable, search space and Tuner) and
workloads/callbacks.py (progress, the trials' states, the search window): Tune's results API has moved
between releases, and these three modules are where the next move lands.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from ray import tune

from workloads.report import COMPLETED, ERROR, INTERRUPTED, STOPPED_EARLY, TrialRecord
from workloads.sweep import METRIC, SEARCHED

ERROR_FILE = "error.txt"  # ray.tune.result.EXPR_ERROR_FILE


def trial_dirname(trial: tune.experiment.Trial) -> str:
    """`<trainable>_<trial id>`: Tune's default appends every config value, data_dir included."""
    return f"{trial.trainable_name}_{trial.trial_id}"


def _trial_id_from_path(path: str) -> str:
    # trial_dirname() names directories <trainable>_<trial id>.
    return os.path.basename(path).rsplit("_", 1)[-1]


def error_file(trial_path: str) -> str:
    """Where Tune's error.txt of a trial lives on the storage path (Tune syncs it from its staging copy)."""
    return os.path.join(trial_path, ERROR_FILE)


def trial_reports(run_dir: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """{trial id: its reports in order} of a run, trial ids sorted, through Tune's public ExperimentAnalysis.

    ExperimentAnalysis (PublicAPI beta) lists the trials of the run's last saved experiment state and reads
    each one's reports from its result.json into `trial_dataframes` (nested keys flattened: `config/lr`). A
    key missing from a report is NaN in its row and left out here: each row holds what the trial reported.
    A running sweep's newest trials appear once Tune has saved its state again (TUNE_GLOBAL_CHECKPOINT_S).
    """
    analysis = tune.ExperimentAnalysis(os.fspath(run_dir))
    frames = analysis.trial_dataframes
    return {
        trial_id: [
            {key: value for key, value in row.items() if not (isinstance(value, float) and math.isnan(value))}
            for row in frames[trial_id].to_dict("records")
        ]
        for trial_id in sorted(trial.trial_id for trial in analysis.trials)
    }


def record(result: tune.Result, states: Mapping[str, tuple[str, int, str]]) -> TrialRecord:
    """A trial from Tune's public Result (metrics, history, error) and the monitor's last view of it
    (`states`: trial id -> Tune status, failures, path; workloads/callbacks.SweepMonitor)."""
    metrics = result.metrics or {}
    history: list[tuple[int, float]] = []
    frame = result.metrics_dataframe
    if frame is not None and {"epoch", METRIC} <= set(frame.columns):
        # A resumed trial repeats the epochs after its last checkpoint; the later report wins.
        by_epoch = {int(e): float(a) for e, a in zip(frame["epoch"], frame[METRIC]) if e == e and a == a}
        history = sorted(by_epoch.items())
    elif "epoch" in metrics:
        history = [(int(metrics["epoch"]), float(metrics[METRIC]))]
    config = result.config or {}
    path = result.path or ""
    trial_id = str(metrics.get("trial_id") or _trial_id_from_path(path))
    tune_status, failures, _ = states.get(trial_id, ("", 0, path))
    status = classify(
        tune_status, history[-1][0] if history else 0, int(config.get("max_epochs", 0)), result.error is not None
    )
    return TrialRecord(
        trial_id=trial_id,
        status=status,
        config={key: config[key] for key in SEARCHED if key in config},
        history=tuple(history),
        compute_seconds=float(metrics.get("compute_seconds", 0.0)),
        device=str(metrics.get("device", "")),
        # Result.error is the last failure even of a trial that was retried and then went on.
        error=f"{type(result.error).__name__}: {result.error}"[:2000] if status == ERROR else None,
        path=path,
        failures=failures,
        error_file=error_file(path) if path and failures else None,
    )


def classify(tune_status: str, last_epoch: int, max_epochs: int, has_error: bool) -> str:
    """How a trial ended, from Tune's status after the last loop step ("" if the monitor never saw it)."""
    if tune_status == "ERROR" or (not tune_status and has_error):
        return ERROR
    if tune_status in ("PENDING", "RUNNING", "PAUSED"):
        return INTERRUPTED
    if last_epoch >= max_epochs:
        return COMPLETED
    # TERMINATED before max_epochs: only ASHA ends our trials early (train_mnist runs to max_epochs).
    return STOPPED_EARLY if tune_status == "TERMINATED" else INTERRUPTED
