"""The Ray Tune side: the function trainable, the search space and the Tuner. The only `ray.tune` user.

Tune's API has moved between releases (``ray.air`` -> ``ray.train`` -> ``ray.tune``); keeping it in one
module keeps the next move to one file. Inside a trial use ``ray.tune.report``/``ray.tune.get_checkpoint``
(``ray.train.report`` raises in a Tune trial since Ray 2.5x).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from workloads import data, train
from workloads.report import COMPLETED, ERROR, STOPPED_EARLY, TrialRecord

if TYPE_CHECKING:
    from workloads.tune import Sweep

METRIC, MODE = "val_accuracy", "max"
STATE_FILE = "state.pt"
# Keys of a trial's config that the search varies (the rest are the run's fixed settings).
SEARCHED = ("lr", "weight_decay", "batch_size", "width", "depth", "dropout")
# Tried first, so even a short sweep has one strong trial early: on the 4,000 offline digits, 81-83% after
# its first epoch and 98.0-98.3% after 10 (seeds 0-2), at 0.9 s an epoch on one core. Width 16 at batch 128
# ends the same (97.9-98.4%) at twice the cost, and its first epochs swing between 63% and 83%.
KNOWN_GOOD = {"lr": 0.01, "weight_decay": 1e-4, "batch_size": 64, "width": 8, "depth": 3, "dropout": 0.1}
KNOWN_GOOD_GPU = {**KNOWN_GOOD, "batch_size": 512, "width": 32}


def search_space(gpu: bool) -> dict[str, Any]:
    """Hyperparameter domains; on GPUs larger batches and models cost little more per epoch."""
    return {
        "lr": tune.loguniform(1e-3, 3e-2),
        "weight_decay": tune.loguniform(1e-5, 1e-2),
        "batch_size": tune.choice([256, 512, 1024] if gpu else [64, 128, 256]),
        "width": tune.choice([16, 32, 64] if gpu else [8, 16, 24]),
        "depth": tune.choice([2, 3, 4] if gpu else [2, 3]),
        "dropout": tune.uniform(0.0, 0.4),
    }


def _trial_cpus() -> int:
    resources = tune.get_context().get_trial_resources().required_resources
    return max(1, math.floor(resources.get("CPU", 1)))


def train_mnist(config: Mapping[str, Any]) -> None:
    """Train one configuration, reporting every epoch and checkpointing every `checkpoint_every`."""
    started = time.perf_counter()
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
            "wall_time": time.time(),
        }
        if state.epoch % every == 0 or state.epoch == max_epochs:
            with tempfile.TemporaryDirectory() as directory:
                torch.save({**train.state_dict(state), "compute_seconds": compute_seconds},
                           Path(directory) / STATE_FILE)
                # report() copies the checkpoint to storage before returning, so the directory may go.
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        else:
            tune.report(metrics)


def trial_dirname(trial: tune.experiment.Trial) -> str:
    """`<trainable>_<trial id>`: Tune's default appends every config value, data_dir included."""
    return f"{trial.trainable_name}_{trial.trial_id}"


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
    searcher = OptunaSearch(points_to_evaluate=[KNOWN_GOOD_GPU if gpu else KNOWN_GOOD], seed=sweep.seed)
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
        ),
    )


def run(sweep: Sweep, gpus_per_trial: float, max_concurrent: int, resume: bool) -> list[TrialRecord]:
    """Run (or continue) the sweep and return what each trial did."""
    if resume:
        # The search space, searcher and scheduler come back from the run directory; errored trials
        # continue from their last checkpoint (a lost node is an error to Tune).
        tuner = tune.Tuner.restore(os.fspath(sweep.run_dir), _trainable(sweep, gpus_per_trial), resume_errored=True)
    else:
        tuner = make_tuner(sweep, gpus_per_trial, max_concurrent)
    return [_record(result) for result in tuner.fit()]


def _record(result: tune.Result) -> TrialRecord:
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
    if result.error is not None:
        status = ERROR
    elif history and history[-1][0] >= int(config.get("max_epochs", 0)):
        status = COMPLETED
    else:
        status = STOPPED_EARLY
    path = result.path or ""
    return TrialRecord(
        trial_id=str(metrics.get("trial_id") or _trial_id_from_path(path)),
        status=status,
        config={key: config[key] for key in SEARCHED if key in config},
        history=tuple(history),
        compute_seconds=float(metrics.get("compute_seconds", 0.0)),
        device=str(metrics.get("device", "")),
        error=f"{type(result.error).__name__}: {result.error}"[:2000] if result.error is not None else None,
        path=path,
    )


def _trial_id_from_path(path: str) -> str:
    # trial_dirname() names directories <trainable>_<trial id>.
    return os.path.basename(path).rsplit("_", 1)[-1]
