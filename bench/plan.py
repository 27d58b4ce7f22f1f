"""What one benchmark invocation runs: its plan (approaches, trials, epochs, seeds, GPU mode), the exact
command of each approach's sweep, and the order they run in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

APPROACHES = ("ours", "ours-seeded", "optuna", "tune-defaults", "baseline")
# GPU mode's comparison: throughput on the GPU, ours against Ray's example.
GPU_APPROACHES = ("baseline", "ours")
# GPU mode trains on full-size MNIST epochs; a tenth of that when there is no GPU.
GPU_TRAIN_SIZE = 60_000
GPU_TRAIN_SIZE_WITHOUT_GPU = 6_000
BASELINE_CPUS_PER_TRIAL = 2  # upstream's resources_per_trial


@dataclass(frozen=True)
class Plan:
    """One benchmark invocation's settings, validated at construction."""

    num_samples: int
    max_epochs: int
    seeds: tuple[int, ...]
    gpu: bool = False  # GPU mode was asked for
    gpu_name: str | None = None  # the GPU found; None: GPU mode runs on the CPU at tiny size
    train_size: int | None = None  # GPU mode: training images per full epoch (synthesized)
    timeout_s: float = 1800.0
    approaches: tuple[str, ...] = APPROACHES

    def __post_init__(self):
        for name, value, example in (("num_samples", self.num_samples, 8), ("max_epochs", self.max_epochs, 10)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r} (e.g. {example})")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds!r} (e.g. (0, 1, 2))")
        if self.train_size is not None and self.train_size < 10:
            raise ValueError(f"train_size must be at least 10, got {self.train_size!r} (e.g. 60000)")
        unknown = [a for a in self.approaches if a not in APPROACHES]
        if not self.approaches or unknown or len(set(self.approaches)) != len(self.approaches):
            raise ValueError(
                f"approaches must be distinct, among {APPROACHES}, got {self.approaches!r} (e.g. {GPU_APPROACHES})"
            )

    @property
    def gpus_per_trial(self) -> float:
        """The baseline's: upstream asks for one whole GPU per trial in its --cuda mode."""
        return 1.0 if self.gpu_name else 0.0


def plan_from_args(args: argparse.Namespace, gpu_name: str | None) -> Plan:
    if args.gpu and not gpu_name:
        # No GPU: exercise the GPU mode's code on the CPU at a size that finishes in seconds.
        return Plan(
            num_samples=2,
            max_epochs=1,
            seeds=tuple(args.seeds or [0])[:1],
            gpu=True,
            train_size=GPU_TRAIN_SIZE_WITHOUT_GPU,
            approaches=GPU_APPROACHES,
        )
    if args.quick:
        num_samples, max_epochs, seeds = 2, 1, [0]
    else:
        num_samples, max_epochs, seeds = 16, 10, [0, 1, 2]
    return Plan(
        num_samples=args.num_samples or num_samples,
        max_epochs=args.max_epochs or max_epochs,
        seeds=tuple(args.seeds or seeds),
        gpu=args.gpu,
        gpu_name=gpu_name if args.gpu else None,
        train_size=GPU_TRAIN_SIZE if args.gpu else None,
        approaches=tuple(getattr(args, "approaches", None) or (GPU_APPROACHES if args.gpu else APPROACHES)),
    )


def command(approach: str, plan: Plan, seed: int, data_dir: Path, storage: Path) -> list[str]:
    """The exact command a user would type for one sweep; `ours` keeps every other workload default.

    Resources are each approach's own: upstream's {"cpu": 2, "gpu": 1 if GPU mode}; the workload's
    defaults (1 CPU, and a quarter GPU when Ray sees one) for ours and tune-defaults; one thread of one
    process per core for optuna.
    """
    common = [
        "--data-dir",
        str(data_dir),
        "--storage-path",
        str(storage),
        "--name",
        f"{approach}-seed{seed}",
        "--num-samples",
        str(plan.num_samples),
        "--max-epochs",
        str(plan.max_epochs),
        "--seed",
        str(seed),
    ]
    if approach == "baseline":
        return [
            sys.executable,
            "-m",
            "bench.baseline",
            *common,
            "--cpus-per-trial",
            str(BASELINE_CPUS_PER_TRIAL),
            "--gpus-per-trial",
            str(int(plan.gpus_per_trial)),
        ]
    if approach == "optuna":
        return [sys.executable, "-m", "bench.optuna_study", *common]
    if approach == "tune-defaults":
        return [sys.executable, "-m", "bench.tune_defaults", *common]
    points = "known-good" if approach == "ours-seeded" else "none"
    return [sys.executable, "-m", "workloads.tune", "--local", *common, "--initial-points", points]


def run_order(approaches: Sequence[str], index: int) -> tuple[str, ...]:
    """Seed `index`'s order: forward for even seeds, reversed for odd, so load drift hits all alike."""
    return tuple(approaches) if index % 2 == 0 else tuple(approaches)[::-1]
