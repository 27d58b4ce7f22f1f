"""The sweep's command line, `python -m workloads.tune`: its flags, and the checks that run before Ray.

Standard library only (no Ray, torch or numpy): the Pulumi program validates the stack's sweepArgs with the
same parser (settings/types.py), and `pulumi up` runs without the workload's packages.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from workloads import defaults, layout
from workloads.sweep import (
    CHECKPOINT_EVERY,
    CPUS_PER_TRIAL,
    GPUS_PER_TRIAL,
    GRACE_PERIOD,
    INITIAL_POINTS,
    MAX_EPOCHS,
    MAX_FAILURES,
    NUM_SAMPLES,
    RESUME_MODES,
    SEED,
    Sweep,
    default_name,
)

# The usage text: what `python -m workloads.tune --help` prints above and below the flags.
USAGE = """Hyperparameter search for the MNIST CNN on a Ray cluster, or on this machine with --local.

    python -m workloads.tune --local                        # first-run demo, about a minute on 2 CPUs
    ray job submit ... -- python -m workloads.tune --name mnist-1   # on the cluster (docs/workload.md)

Every argument and the data are checked before Ray starts. A run lives in <storage path>/<name>; running
again with the same name continues it (--resume auto), and a second driver on a running run is refused.
SIGTERM stops it as Ctrl+C does. At the end <run dir>/summary.json and trials.png are written, stopped or not.

Exit status: 0 all trials finished; 1 a trial failed for good (unless --allow-errors) or none reported;
2 a bad argument or bad data; 3 the run is incomplete; 4 another driver holds the run; 128+N stopped by
signal N (143: SIGTERM).
"""
LOCAL_DATA_DIR = "data"
LOCAL_STORAGE_DIR = "results"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _number(
    kind: Callable[[str], float], low: float, example: str, *, low_open: bool = False, high: float | None = None
) -> Callable[[str], float]:
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
            f"must be letters, digits, '.', '_' or '-' (a directory name), got {text!r} (e.g. mnist-1)"
        )
    return text


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" only where there is one X; flags whose default depends on others say so."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workloads.tune",
        description=USAGE.split("\n\n")[0],
        epilog=USAGE.split("\n\n", 3)[3],
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="start a Ray on this machine (its CPUs and GPUs) instead of joining a cluster",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"holds mnist/{{train,val}}.pack (default: {defaults.DATASETS_MOUNT}; "
        f"with --local ./{LOCAL_DATA_DIR}, filled from the offline digits if empty)",
    )
    parser.add_argument(
        "--storage-path",
        type=Path,
        help=f"Tune's storage (default: {defaults.RESULTS_MOUNT}; with --local ./{LOCAL_STORAGE_DIR})",
    )
    parser.add_argument(
        "--name",
        type=_name,
        help="run name, a directory under the storage path (default: mnist-<UTC timestamp>); reuse it to resume",
    )
    parser.add_argument("--num-samples", type=_number(int, 1, "16"), default=NUM_SAMPLES, help="trials to run")
    parser.add_argument(
        "--max-epochs",
        type=_number(int, 1, "10"),
        default=MAX_EPOCHS,
        help="epochs of a trial that is never stopped early (ASHA's max_t)",
    )
    parser.add_argument(
        "--grace-period",
        type=_number(int, 1, "2"),
        help=f"epochs before ASHA may stop a trial (default: {GRACE_PERIOD}, at most --max-epochs)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=_number(int, 1, "2"),
        default=CHECKPOINT_EVERY,
        help="epochs between checkpoints (the last epoch is always checkpointed)",
    )
    parser.add_argument(
        "--cpus-per-trial",
        type=_number(float, 0, "1", low_open=True),
        default=CPUS_PER_TRIAL,
        help="CPUs each trial holds (and torch threads on CPU)",
    )
    parser.add_argument(
        "--gpus-per-trial",
        type=_number(float, 0, "0.25", low_open=True, high=1),
        help=f"GPU share per trial, in (0, 1] (default: {GPUS_PER_TRIAL} when the cluster "
        "has GPUs, else none; a resumed run keeps its own; the stack's jobSubmitCommand "
        "sets it, since an autoscaled GPU pool starts at zero)",
    )
    parser.add_argument(
        "--max-concurrent",
        type=_number(int, 1, "4"),
        help="trials at once (default: as many as the cluster's CPUs/GPUs fit; a resumed run keeps its own; "
        "jobSubmitCommand sets what the worker groups hold at their maxima)",
    )
    parser.add_argument(
        "--max-failures",
        type=_number(int, 0, "3"),
        default=MAX_FAILURES,
        help="retries of a trial whose worker died, from its last checkpoint",
    )
    parser.add_argument(
        "--allow-errors",
        action="store_true",
        help="exit 0 even if trials failed for good (they are still in the summary)",
    )
    parser.add_argument(
        "--resume",
        choices=RESUME_MODES,
        default="auto",
        help="auto: continue <storage>/<name> if it holds a run; never: refuse an existing "
        "run directory; required: fail unless there is a run to continue",
    )
    parser.add_argument("--seed", type=_number(int, 0, "0"), default=SEED, help="seeds the searcher and the trials")
    parser.add_argument(
        "--initial-points",
        choices=INITIAL_POINTS,
        default=Sweep.initial_points,
        help="known-good: try a configuration known to reach ~98%% first; none: leave every trial to the search",
    )
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
        missing = layout.missing_packs(data_dir)
        if missing:
            parser.error(
                f"--data-dir {data_dir}: missing {', '.join(map(str, missing))}; run "
                f"`python -m workloads.data prepare --data-dir {data_dir}` first"
            )
        if not storage.is_dir():
            parser.error(f"--storage-path {storage}: no such directory (is the results volume mounted?)")
    elif storage.exists() and not storage.is_dir():
        parser.error(f"--storage-path {storage}: not a directory")
    # Each flag is the Sweep field of its name; the name, the paths and the grace period as resolved above.
    resolved = {"name": args.name or default_name(), "data_dir": data_dir, "storage_path": storage}
    sweep = Sweep(**{**vars(args), **resolved, "grace_period": grace_period})
    if sweep.resume == "never" and sweep.run_dir.exists():
        parser.error(f"--resume never: {sweep.run_dir} already exists; pick another --name")
    if sweep.resume == "required":
        from workloads import trainable  # imports ray.tune, which does not start Ray

        if not trainable.can_resume(sweep.run_dir):
            parser.error(f"--resume required: {sweep.run_dir} holds no run to continue")
    return sweep
