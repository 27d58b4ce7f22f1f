"""The Ray Tune side, as in Ray's own examples: the function trainable (`train_mnist`), the search space
in Tune's domains, and the Tuner that runs the sweep (Optuna's TPE proposes, ASHA stops the laggards).

The `ray.tune` users of workloads/ are this module, workloads/callbacks.py (Tune's Callback API: progress,
the trials' states, when the search ran; the benchmark's Tune scripts take SearchClock from there) and
workloads/results.py (Tune's Result and ExperimentAnalysis: what each trial did). Tune's API has moved
between releases (``ray.air`` -> ``ray.train`` -> ``ray.tune``); keeping it to these three modules keeps the
next move to them. Inside a trial use ``ray.tune.report``/``ray.tune.get_checkpoint`` (``ray.train.report``
raises in a Tune trial since Ray 2.5x).
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

from workloads import data, defaults, results, train
from workloads import sweep as workload_sweep

# Run directories started before callbacks.py and results.py existed pickled their Tuner's callback and
# trial_dirname_creator (tuner.pkl, by reference) as workloads.trainable.SweepMonitor and .trial_dirname:
# importing them by these names keeps such runs resumable (tests/unit/test_workload_trainable.py).
from workloads.callbacks import QUIET_TUNE_ENV, SweepMonitor
from workloads.report import SearchWindow, TrialRecord
from workloads.results import trial_dirname
from workloads.sweep import METRIC, MODE, Sweep

STATE_FILE = "state.pt"
# Tried first, so even a short sweep has one strong trial early: on the 4,000 offline digits, 81-83% after
# its first epoch and 98.0-98.3% after 10 (seeds 0-2), at 0.9 s an epoch on one core. Width 16 at batch 128
# ends the same (97.9-98.4%) at twice the cost, and its first epochs swing between 63% and 83%.
KNOWN_GOOD = {"lr": 0.01, "weight_decay": 1e-4, "batch_size": 64, "width": 8, "depth": 3, "dropout": 0.1}
KNOWN_GOOD_GPU = {**KNOWN_GOOD, "batch_size": 512, "width": 32}


def tune_domain(domain: workload_sweep.Domain) -> Any:
    """One of workloads.sweep's Ray-free domains as Tune's."""
    if isinstance(domain, workload_sweep.Uniform):
        return (tune.loguniform if domain.log else tune.uniform)(domain.low, domain.high)
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
            verbose=0,  # see callbacks.QUIET_TUNE_ENV
        ),
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
    grid = tuner.fit()
    monitor = SweepMonitor.active
    states: dict[str, tuple[str, int, str]] = monitor.states if monitor else {}
    return [results.record(result, states) for result in grid], monitor.window() if monitor else None
