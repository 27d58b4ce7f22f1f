"""The Ray Tune side: the function trainable, the search space, the Tuner and its callbacks. The only
`ray.tune` user of workloads/ (the benchmark's Tune scripts take SearchClock from here).

Tune's API has moved between releases (``ray.air`` -> ``ray.train`` -> ``ray.tune``); keeping it in one
module keeps the next move to one file. Inside a trial use ``ray.tune.report``/``ray.tune.get_checkpoint``
(``ray.train.report`` raises in a Tune trial since Ray 2.5x).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from workloads import data, defaults, train
from workloads import sweep as workload_sweep
from workloads.report import COMPLETED, ERROR, INTERRUPTED, STOPPED_EARLY, SearchWindow, TrialRecord
from workloads.sweep import Sweep

log = logging.getLogger(__name__)

METRIC, MODE = "val_accuracy", "max"
STATE_FILE = "state.pt"
# Keys of a trial's config that the search varies (the rest are the run's fixed settings).
SEARCHED = tuple(workload_sweep.search_space(gpu=False))
# Tried first, so even a short sweep has one strong trial early: on the 4,000 offline digits, 81-83% after
# its first epoch and 98.0-98.3% after 10 (seeds 0-2), at 0.9 s an epoch on one core. Width 16 at batch 128
# ends the same (97.9-98.4%) at twice the cost, and its first epochs swing between 63% and 83%.
KNOWN_GOOD = {"lr": 0.01, "weight_decay": 1e-4, "batch_size": 64, "width": 8, "depth": 3, "dropout": 0.1}
KNOWN_GOOD_GPU = {**KNOWN_GOOD, "batch_size": 512, "width": 32}


def tune_domain(domain: workload_sweep.Domain) -> Any:
    """One of workloads.sweep's Ray-free domains as Tune's."""
    if isinstance(domain, workload_sweep.LogUniform):
        return tune.loguniform(domain.low, domain.high)
    if isinstance(domain, workload_sweep.Uniform):
        return tune.uniform(domain.low, domain.high)
    return tune.choice(list(domain.options))


def search_space(gpu: bool) -> dict[str, Any]:
    """The search space of workloads.sweep.search_space in Tune's domains."""
    return {name: tune_domain(domain) for name, domain in workload_sweep.search_space(gpu).items()}


def initial_points(mode: str, gpu: bool) -> list[dict[str, Any]] | None:
    """The searcher's points_to_evaluate for --initial-points `mode` (workloads.sweep.INITIAL_POINTS)."""
    if mode == "none":
        return None
    if mode == "known-good":
        return [KNOWN_GOOD_GPU if gpu else KNOWN_GOOD]
    raise ValueError(f"initial points must be 'known-good' or 'none', got {mode!r}")


def _trial_cpus() -> int:
    resources = tune.get_context().get_trial_resources().required_resources
    return max(1, math.floor(resources.get("CPU", 1)))


def train_mnist(config: Mapping[str, Any]) -> None:
    """Train one configuration, reporting every epoch and checkpointing every `checkpoint_every`."""
    started = time.perf_counter()
    trial_id = tune.get_context().get_trial_id()
    for stream in (sys.stdout, sys.stderr):  # both of the worker's files: prints and logging
        print(f"{defaults.TRIAL_LOG_MARKER}{trial_id}", file=stream, flush=True)
    # One INFO line per checkpoint per trial drowns Tune's progress table; Tune reports checkpoints itself.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    device = train.pick_device()
    if device.type == "cpu":
        train.configure_cpu(_trial_cpus())
    hp = train.Hyperparameters.from_config(config)
    max_epochs, every = int(config["max_epochs"]), int(config["checkpoint_every"])
    splits = data.load_splits(config["data_dir"])
    x, y = train.to_device(splits["train"].images, splits["train"].labels, device)
    x_val, y_val = train.to_device(splits["val"].images, splits["val"].labels, device)
    state = train.build(hp, len(y), max_epochs, device, int(config["seed"]))
    compute_seconds = 0.0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            # CPU first: RNG states must stay CPU tensors; load_state_dict moves the rest to the device.
            snapshot = torch.load(Path(directory) / STATE_FILE, map_location="cpu")
        train.load_state_dict(state, snapshot)
        compute_seconds = float(snapshot["compute_seconds"])
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    compute_seconds += time.perf_counter() - started

    while state.epoch < max_epochs:
        started = time.perf_counter()
        train_loss = train.train_epoch(state, x, y, hp)
        val_loss, val_accuracy = train.evaluate(state.model, x_val, y_val)
        compute_seconds += time.perf_counter() - started
        metrics = {
            "epoch": state.epoch,
            "val_accuracy": val_accuracy,
            "val_loss": val_loss,
            "train_loss": train_loss,
            "compute_seconds": compute_seconds,
            "device": device_name,
            "precision": state.precision.name,  # float32, bfloat16 or float16 (train.choose_precision)
            "wall_time": time.time(),
        }
        if state.epoch % every == 0 or state.epoch == max_epochs:
            with tempfile.TemporaryDirectory() as directory:
                torch.save(
                    {**train.state_dict(state), "compute_seconds": compute_seconds}, Path(directory) / STATE_FILE
                )
                # report() copies the checkpoint to storage before returning, so the directory may go.
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        else:
            tune.report(metrics)


def trial_dirname(trial: tune.experiment.Trial) -> str:
    """`<trainable>_<trial id>`: Tune's default appends every config value, data_dir included."""
    return f"{trial.trainable_name}_{trial.trial_id}"


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


def can_resume(run_dir: str | os.PathLike) -> bool:
    return os.path.isdir(run_dir) and tune.Tuner.can_restore(os.fspath(run_dir))


def _trainable(sweep: Sweep, gpus_per_trial: float):
    resources = {"cpu": sweep.cpus_per_trial, "gpu": gpus_per_trial}
    return tune.with_resources(train_mnist, resources)


def make_tuner(sweep: Sweep, gpus_per_trial: float, max_concurrent: int) -> tune.Tuner:
    """A new Tuner for `sweep`: Optuna's TPE proposes, ASHA stops the laggards at epoch rungs."""
    gpu = gpus_per_trial > 0
    fixed = {
        "data_dir": os.fspath(sweep.data_dir),
        "max_epochs": sweep.max_epochs,
        "checkpoint_every": sweep.checkpoint_every,
        "seed": sweep.seed,
    }
    searcher = OptunaSearch(points_to_evaluate=initial_points(sweep.initial_points, gpu), seed=sweep.seed)
    scheduler = ASHAScheduler(
        time_attr="epoch",  # our own counter: it survives restores, Tune's iteration count restarts with them
        max_t=sweep.max_epochs,
        grace_period=min(sweep.grace_period, sweep.max_epochs),
        reduction_factor=3,
    )
    return tune.Tuner(
        _trainable(sweep, gpus_per_trial),
        param_space={**search_space(gpu), **fixed},
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode=MODE,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=sweep.num_samples,
            max_concurrent_trials=max_concurrent,
            # Function trainables support this since Ray 2.x (FunctionTrainable.reset_config): a stopped
            # trial's process and its in-memory dataset serve the next trial.
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=sweep.name,
            storage_path=os.fspath(sweep.storage_path),
            failure_config=tune.FailureConfig(max_failures=sweep.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            callbacks=[SweepMonitor(sweep.max_failures)],
            verbose=0,  # see QUIET_TUNE_ENV
        ),
    )


# Tune's own console output names each trial's error file in the driver's staging directory under the Ray
# session dir (/tmp/ray/session_*/artifacts/..., Trial.error_file in ray/tune/experiment/trial.py): the head
# pod's local disk, gone with the pod. The legacy output engine at verbosity 0 prints nothing (the new one
# prints error files at every verbosity, ray/tune/experimental/output.py on_trial_error); SweepMonitor
# prints progress and failures instead, with the copies Tune syncs to the storage path.
QUIET_TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0"}
ERROR_FILE = "error.txt"  # ray.tune.result.EXPR_ERROR_FILE
PROGRESS_SECONDS = 30.0


def error_file(trial_path: str) -> str:
    """Where Tune's error.txt of a trial lives on the storage path (Tune syncs it from its staging copy)."""
    return os.path.join(trial_path, ERROR_FILE)


class SearchClock(tune.Callback):
    """When Tune's search ran, through its public Callback API: summary.json's and the benchmark's window.

    It opens at `setup`, which Tune's controller calls as it starts the experiment, right after stamping
    its own start time, and closes at Tune's last save of the experiment state: Tune calls every callback's
    `get_state` at each save (TuneController.save_to_dir), the last time as `fit()` ends. Both lie within a
    few milliseconds of the start time and the last write of Tune's `experiment_state-*.json`, which the
    benchmark used to read. `fit()` itself runs longer at both ends: before the controller exists (the
    first `fit()` of a process spends 2-4 s there on two cores) and after the last save, while it stops the
    trials' actors (0.3-0.7 s with actor reuse), which is also when `on_experiment_end` comes.
    """

    # A restored Tuner brings back its RunConfig, callbacks included, from the run directory (tuner.pkl):
    # the instance Tune calls is then a copy, so each one makes itself known when the experiment starts.
    latest: SearchClock | None = None

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.saved_at: float | None = None

    def setup(self, **info: Any) -> None:
        self.started_at, self.saved_at = time.time(), None
        SearchClock.latest = self

    def get_state(self) -> dict | None:
        self.saved_at = time.time()
        return None  # nothing to save: Tune then writes no callback state file

    def window(self) -> SearchWindow | None:
        if self.started_at is None or self.saved_at is None:
            return None
        return SearchWindow(self.started_at, self.saved_at - self.started_at)

    @staticmethod
    def last_window() -> SearchWindow | None:
        """The window of the latest experiment this process started; None before one started."""
        return SearchClock.latest.window() if SearchClock.latest else None


class SweepMonitor(SearchClock):
    """Tune's public callback API: the trials' states as the loop last saw them, readable progress, and
    (SearchClock) when the search ran.

    Tune marks every trial still running as TERMINATED while it cleans up after an interruption
    (TuneController._cleanup_trials -> _schedule_trial_stop), so the states at `on_experiment_end` and in
    the ResultGrid cannot tell an interrupted trial from a finished one. The states after the last loop
    step (`on_step_end`) can: that is also what the experiment state saved for a resume holds.
    """

    active: SweepMonitor | None = None  # the instance Tune calls (see SearchClock.latest)

    def __init__(self, max_failures: int, progress_seconds: float = PROGRESS_SECONDS):
        super().__init__()
        self.max_failures = max_failures
        self.progress_seconds = progress_seconds
        self.states: dict[str, tuple[str, int, str]] = {}  # trial_id -> (Tune status, failures, path)
        self._printed = 0.0
        self._best: tuple[float, str] | None = None

    def setup(self, **info) -> None:
        super().setup(**info)
        self.states, self._printed, self._best = {}, time.monotonic(), None
        SweepMonitor.active = self

    def _snapshot(self, trials) -> None:
        self.states = {t.trial_id: (t.status, t.num_failures, t.path or "") for t in trials}

    def on_step_end(self, iteration: int, trials, **info) -> None:
        self._snapshot(trials)
        now = time.monotonic()
        if now - self._printed >= self.progress_seconds:
            self._printed = now
            counts: dict[str, int] = {}
            for trial in trials:
                counts[trial.status] = counts.get(trial.status, 0) + 1
            best = f"; best {self._best[0]:.2%} ({self._best[1]})" if self._best else ""
            print(
                f"[sweep] {len(trials)} trials: "
                + ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))
                + best,
                flush=True,
            )

    def on_experiment_end(self, trials, **info) -> None:
        if not self.states:  # no loop step ran (a restored run with nothing left to do)
            self._snapshot(trials)

    def on_trial_result(self, iteration: int, trials, trial, result, **info) -> None:
        accuracy = result.get(METRIC)
        if accuracy is not None and (self._best is None or accuracy > self._best[0]):
            self._best = (float(accuracy), trial.trial_id)

    def on_trial_complete(self, iteration: int, trials, trial, **info) -> None:
        result = trial.last_result or {}
        print(
            f"[sweep] trial {trial.trial_id} ended at epoch {result.get('epoch', 0)}, "
            f"{METRIC} {result.get(METRIC, float('nan')):.2%}",
            flush=True,
        )

    def on_trial_recover(self, iteration: int, trials, trial, **info) -> None:
        log.warning(
            "trial %s failed (failure %d of at most %d retried); retrying from its last checkpoint. Error: %s",
            trial.trial_id,
            trial.num_failures,
            self.max_failures,
            error_file(trial.path),
        )

    def on_trial_error(self, iteration: int, trials, trial, **info) -> None:
        log.error(
            "trial %s failed for good after %d failures (--max-failures %d). Error: %s",
            trial.trial_id,
            trial.num_failures,
            self.max_failures,
            error_file(trial.path),
        )


def run(
    sweep: Sweep, gpus_per_trial: float, max_concurrent: int, resume: bool
) -> tuple[list[TrialRecord], SearchWindow | None]:
    """Run (or continue) the sweep: what each trial did (interrupted ones included), and when the search ran."""
    os.environ.update(QUIET_TUNE_ENV)
    SweepMonitor.active = None
    if resume:
        # The search space, searcher, scheduler and callbacks come back from the run directory; errored
        # trials continue from their last checkpoint (a lost node is an error to Tune).
        tuner = tune.Tuner.restore(os.fspath(sweep.run_dir), _trainable(sweep, gpus_per_trial), resume_errored=True)
    else:
        tuner = make_tuner(sweep, gpus_per_trial, max_concurrent)
    results = tuner.fit()
    monitor = SweepMonitor.active
    states: dict[str, tuple[str, int, str]] = monitor.states if monitor else {}
    return [_record(result, states) for result in results], monitor.window() if monitor else None


def _record(result: tune.Result, states: Mapping[str, tuple[str, int, str]]) -> TrialRecord:
    """A trial from Tune's public Result (metrics, history, error) and the monitor's last view of it."""
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


def _trial_id_from_path(path: str) -> str:
    # trial_dirname() names directories <trainable>_<trial id>.
    return os.path.basename(path).rsplit("_", 1)[-1]
