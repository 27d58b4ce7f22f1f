"""What one sweep is: its settings, their defaults, the search space and its objective. No Ray here: the CLI,
the trainable and the benchmark's plain-Optuna study import it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from workloads import capacity

# Defaults sized for the local demo: 2 CPUs, about a minute, ~98% best validation accuracy.
NUM_SAMPLES = 16
MAX_EPOCHS = 10
GRACE_PERIOD = 2
CHECKPOINT_EVERY = 2
MAX_FAILURES = 3
# The per-trial shares are the capacity rule's (workloads/capacity.py), declared there once.
CPUS_PER_TRIAL = capacity.CPUS_PER_TRIAL
GPUS_PER_TRIAL = capacity.GPUS_PER_TRIAL
SEED = 0
RESUME_MODES = ("auto", "never", "required")
# known-good: the searcher tries trainable.KNOWN_GOOD first; none: every trial is the searcher's own.
INITIAL_POINTS = ("known-good", "none")


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly between `low` and `high`, in log space if `log` (as Optuna's FloatDistribution)."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    """One of `options`."""

    options: tuple[int | float | str, ...]


Domain = Uniform | Choice


def search_space(gpu: bool) -> dict[str, Domain]:
    """The hyperparameters the search varies and their domains, in the order they are proposed; on GPUs
    larger batches and models cost little more per epoch. workloads/trainable.py turns these into Tune's
    domains, bench/optuna_study.py into Optuna's distributions."""
    return {
        "lr": Uniform(1e-3, 3e-2, log=True),
        "weight_decay": Uniform(1e-5, 1e-2, log=True),
        "batch_size": Choice((256, 512, 1024) if gpu else (64, 128, 256)),
        "width": Choice((16, 32, 64) if gpu else (8, 16, 24)),
        "depth": Choice((2, 3, 4) if gpu else (2, 3)),
        "dropout": Uniform(0.0, 0.4),
    }


# What the search maximises: the validation accuracy every trial reports after each epoch.
METRIC, MODE = "val_accuracy", "max"
# Keys of a trial's config that the search varies (the rest are the run's fixed settings).
SEARCHED = tuple(search_space(gpu=False))


@dataclass(frozen=True)
class Sweep:
    """One sweep's settings, validated by the CLI before Ray starts."""

    name: str
    data_dir: Path
    storage_path: Path
    num_samples: int = NUM_SAMPLES
    max_epochs: int = MAX_EPOCHS
    grace_period: int = GRACE_PERIOD
    checkpoint_every: int = CHECKPOINT_EVERY
    cpus_per_trial: float = CPUS_PER_TRIAL
    gpus_per_trial: float | None = None  # None: GPUS_PER_TRIAL if the cluster can have GPUs, else 0; kept on resume
    max_concurrent: int | None = None  # None: as many as the cluster's resources fit; kept on resume
    max_failures: int = MAX_FAILURES
    seed: int = SEED
    resume: str = "auto"
    local: bool = False
    allow_errors: bool = False  # exit 0 even when trials errored for good
    initial_points: str = "known-good"  # INITIAL_POINTS

    @property
    def run_dir(self) -> Path:
        return self.storage_path / self.name


def default_name() -> str:
    return "mnist-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
