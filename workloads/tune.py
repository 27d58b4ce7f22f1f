"""Hyperparameter search for the MNIST CNN on a Ray cluster, or on this machine with --local.

    python -m workloads.tune --local                        # first-run demo, about a minute on 2 CPUs
    ray job submit ... -- python -m workloads.tune --name mnist-1   # on the cluster (docs/workload.md)

Every argument is checked before Ray starts. A run lives in <storage path>/<name>; running again with
the same name continues it (--resume auto). At the end <run dir>/summary.json and trials.png are written.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from workloads import data, defaults

# Defaults sized for the local demo: 2 CPUs, about a minute, ~98% best validation accuracy.
NUM_SAMPLES = 16
MAX_EPOCHS = 10
GRACE_PERIOD = 2
CHECKPOINT_EVERY = 2
MAX_FAILURES = 3
GPUS_PER_TRIAL = 0.25  # four trials share a GPU: one small CNN cannot keep a GPU busy
LOCAL_DATA_DIR = "data"
LOCAL_STORAGE_DIR = "results"
RESUME_MODES = ("auto", "never", "required")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | None = None  # None: GPUS_PER_TRIAL if the cluster has GPUs, else 0
    max_concurrent: int | None = None  # None: as many as the cluster's resources fit
    max_failures: int = MAX_FAILURES
    seed: int = 0
    resume: str = "auto"
    local: bool = False

    @property
    def run_dir(self) -> Path:
        return self.storage_path / self.name


def default_name() -> str:
    return "mnist-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _number(kind: Callable[[str], float], low: float, example: str, *, low_open: bool = False,
            high: float | None = None) -> Callable[[str], float]:
    """An argparse type: `kind` within [low, high] (or (low, high] if low_open); errors give an example."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r} (e.g. {example})") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r} (e.g. {example})")
        below = value <= low if low_open else value < low
        if below or (high is not None and value > high):
            bounds = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text} (e.g. {example})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def _name(text: str) -> str:
    if not NAME_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"must be letters, digits, '.', '_' or '-' (a directory name), got {text!r} (e.g. mnist-1)")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workloads.tune", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--local", action="store_true",
                        help="start a Ray on this machine (its CPUs and GPUs) instead of joining a cluster")
    parser.add_argument("--data-dir", type=Path,
                        help=f"holds mnist/{{train,val}}.pack (default {defaults.DATASETS_MOUNT}; "
                             f"with --local ./{LOCAL_DATA_DIR}, filled from the offline digits if empty)")
    parser.add_argument("--storage-path", type=Path,
                        help=f"Tune's storage (default {defaults.RESULTS_MOUNT}; with --local ./{LOCAL_STORAGE_DIR})")
    parser.add_argument("--name", type=_name, help="run name, a directory under the storage path "
                                                   "(default mnist-<UTC timestamp>); reuse it to resume")
    parser.add_argument("--num-samples", type=_number(int, 1, "16"), default=NUM_SAMPLES, help="trials to run")
    parser.add_argument("--max-epochs", type=_number(int, 1, "10"), default=MAX_EPOCHS,
                        help="epochs of a trial that is never stopped early (ASHA's max_t)")
    parser.add_argument("--grace-period", type=_number(int, 1, "2"),
                        help=f"epochs before ASHA may stop a trial (default {GRACE_PERIOD}, at most --max-epochs)")
    parser.add_argument("--checkpoint-every", type=_number(int, 1, "2"), default=CHECKPOINT_EVERY,
                        help="epochs between checkpoints (the last epoch is always checkpointed)")
    parser.add_argument("--cpus-per-trial", type=_number(float, 0, "1", low_open=True), default=1.0,
                        help="CPUs each trial holds (and torch threads on CPU)")
    parser.add_argument("--gpus-per-trial", type=_number(float, 0, "0.25", low_open=True, high=1),
                        help=f"GPU share per trial, in (0, 1] (default {GPUS_PER_TRIAL} when the cluster "
                             "has GPUs, else none)")
    parser.add_argument("--max-concurrent", type=_number(int, 1, "4"),
                        help="trials at once (default: as many as the cluster's CPUs/GPUs fit)")
    parser.add_argument("--max-failures", type=_number(int, 0, "3"), default=MAX_FAILURES,
                        help="retries of a trial whose worker died, from its last checkpoint")
    parser.add_argument("--resume", choices=RESUME_MODES, default="auto",
                        help="auto: continue <storage>/<name> if it holds a run; never: refuse an existing "
                             "run directory; required: fail unless there is a run to continue")
    parser.add_argument("--seed", type=_number(int, 0, "0"), default=0, help="seeds the searcher and the trials")
    return parser


def parse_sweep(argv: Sequence[str] | None = None, cwd: Path | None = None) -> Sweep:
    """Parse and check the arguments; exits with status 2 and a message on any bad one, before Ray."""
    parser = build_parser()
    args = parser.parse_args(argv)
    cwd = cwd or Path.cwd()
    data_dir = args.data_dir or (cwd / LOCAL_DATA_DIR if args.local else Path(defaults.DATASETS_MOUNT))
    storage = args.storage_path or (cwd / LOCAL_STORAGE_DIR if args.local else Path(defaults.RESULTS_MOUNT))
    # Trials run in their own working directories, so every path they see must be absolute.
    data_dir, storage = (cwd / data_dir).resolve(), (cwd / storage).resolve()
    if args.grace_period is not None and args.grace_period > args.max_epochs:
        parser.error(f"--grace-period ({args.grace_period}) must not exceed --max-epochs ({args.max_epochs})")
    grace_period = args.grace_period or min(GRACE_PERIOD, args.max_epochs)
    if not args.local:
        if not data_dir.is_dir():
            parser.error(f"--data-dir {data_dir}: no such directory (is the datasets volume mounted?)")
        missing = data.missing_packs(data_dir)
        if missing:
            parser.error(f"--data-dir {data_dir}: missing {', '.join(map(str, missing))}; run "
                         f"`python -m workloads.data prepare --data-dir {data_dir}` first")
        if not storage.is_dir():
            parser.error(f"--storage-path {storage}: no such directory (is the results volume mounted?)")
    elif storage.exists() and not storage.is_dir():
        parser.error(f"--storage-path {storage}: not a directory")
    sweep = Sweep(
        name=args.name or default_name(), data_dir=data_dir, storage_path=storage,
        num_samples=args.num_samples, max_epochs=args.max_epochs, grace_period=grace_period,
        checkpoint_every=args.checkpoint_every, cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
        max_failures=args.max_failures, seed=args.seed, resume=args.resume, local=args.local)
    if sweep.resume == "never" and sweep.run_dir.exists():
        parser.error(f"--resume never: {sweep.run_dir} already exists; pick another --name")
    if sweep.resume == "required":
        from workloads import trainable  # imports ray.tune, which does not start Ray

        if not trainable.can_resume(sweep.run_dir):
            parser.error(f"--resume required: {sweep.run_dir} holds no run to continue")
    return sweep


def concurrent_trials(resources: dict[str, float], cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster's current resources hold at once (at least one)."""
    fits = [math.floor(resources.get("CPU", 0) / cpus_per_trial + 1e-9)]
    if gpus_per_trial > 0:
        fits.append(math.floor(resources.get("GPU", 0) / gpus_per_trial + 1e-9))
    return max(1, min(fits))


def check_ray_version() -> None:
    import ray

    if ray.__version__ != defaults.RAY_VERSION:
        sys.exit(f"error: this workload needs Ray {defaults.RAY_VERSION} (the cluster image's), "
                 f"found {ray.__version__}; install ray[tune,default]=={defaults.RAY_VERSION}")


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    sweep = parse_sweep(argv)
    check_ray_version()
    if sweep.local and data.missing_packs(sweep.data_dir):
        print(f"No packed MNIST in {sweep.data_dir}; preparing it from the 5,000 offline digits "
              "(4,000 train / 1,000 validation)...", flush=True)
        for path in data.prepare(sweep.data_dir, "offline"):
            print(f"  wrote {path}")
    sweep.storage_path.mkdir(parents=True, exist_ok=True)

    import ray
    import torch

    from workloads import report, trainable

    resume = sweep.resume != "never" and trainable.can_resume(sweep.run_dir)
    if sweep.local:
        # address="local": always a fresh Ray here, never another user's running one.
        ray.init(address="local", include_dashboard=False, configure_logging=False)
    else:
        try:
            ray.init(address=os.environ.get("RAY_ADDRESS") or "auto")
        except ConnectionError as err:
            sys.exit(f"error: no Ray cluster to join ({err}); use --local, or run it with `ray job submit`")
    try:
        resources = ray.cluster_resources()
        has_gpus = resources.get("GPU", 0) > 0
        gpus = sweep.gpus_per_trial if sweep.gpus_per_trial is not None else (GPUS_PER_TRIAL if has_gpus else 0.0)
        if gpus > 0 and not has_gpus:
            print(f"warning: --gpus-per-trial {gpus} but the cluster has no GPUs yet; trials wait for GPU nodes")
        max_concurrent = sweep.max_concurrent or concurrent_trials(resources, sweep.cpus_per_trial, gpus)
        print(f"{'Resuming' if resume else 'Starting'} {sweep.run_dir}: {sweep.num_samples} trials, up to "
              f"{max_concurrent} at once, {sweep.cpus_per_trial:g} CPU + {gpus:g} GPU each; cluster has "
              f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs", flush=True)
        if resume:
            print("(a resumed run keeps its original search space, trial count and scheduler)")
        trials = trainable.run(sweep, gpus, max_concurrent, resume)
    finally:
        ray.shutdown()

    run = report.RunInfo(
        name=sweep.name, run_dir=str(sweep.run_dir), wall_seconds=time.perf_counter() - started,
        ray_version=ray.__version__, torch_version=torch.__version__, resumed=resume,
        settings={k: str(v) if isinstance(v, Path) else v for k, v in asdict(sweep).items()})
    summary_path, plot_path = report.write_report(trials, run)
    best = report.best_trial(trials)
    print()
    if best is not None:
        print(f"Best validation accuracy {best.best_accuracy:.2%} (trial {best.trial_id}, {best.config})")
    errors = sum(t.status == report.ERROR for t in trials)
    print(f"{len(trials)} trials, {errors} errors, {run.wall_seconds:.0f} s")
    print(f"Summary: {summary_path}")
    print(f"Plot:    {plot_path}")
    return 1 if best is None else 0


if __name__ == "__main__":
    sys.exit(main())
