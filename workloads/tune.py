"""Hyperparameter search for the MNIST CNN on a Ray cluster, or on this machine with --local.

    python -m workloads.tune --local                        # first-run demo, about a minute on 2 CPUs
    ray job submit ... -- python -m workloads.tune --name mnist-1   # on the cluster (docs/workload.md)

Every argument and the data are checked before Ray starts. A run lives in <storage path>/<name>; running
again with the same name continues it (--resume auto), and a second driver on a running run is refused.
SIGTERM stops it as Ctrl+C does. At the end <run dir>/summary.json and trials.png are written, stopped or not.

Exit status: 0 all trials finished; 1 a trial failed for good (unless --allow-errors) or none reported;
2 a bad argument or bad data; 3 the run is incomplete; 4 another driver holds the run; 128+N stopped by
signal N (143: SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workloads import capacity, data, defaults, lease, report
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

LOCAL_DATA_DIR = "data"
LOCAL_STORAGE_DIR = "results"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
EXIT_TRIALS_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_RUN_IN_USE = 1, 2, 3, 4
# The sweep's settings as first started, in its run directory: a resumed run keeps them (Tune restores its
# own), and the summary needs the trial count asked for to tell a run that never got to some trials.
SWEEP_FILE = "sweep.json"

log = logging.getLogger("workloads.tune")


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
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 3)[3],
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
        missing = data.missing_packs(data_dir)
        if missing:
            parser.error(
                f"--data-dir {data_dir}: missing {', '.join(map(str, missing))}; run "
                f"`python -m workloads.data prepare --data-dir {data_dir}` first"
            )
        if not storage.is_dir():
            parser.error(f"--storage-path {storage}: no such directory (is the results volume mounted?)")
    elif storage.exists() and not storage.is_dir():
        parser.error(f"--storage-path {storage}: not a directory")
    sweep = Sweep(
        name=args.name or default_name(),
        data_dir=data_dir,
        storage_path=storage,
        num_samples=args.num_samples,
        max_epochs=args.max_epochs,
        grace_period=grace_period,
        checkpoint_every=args.checkpoint_every,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent,
        max_failures=args.max_failures,
        seed=args.seed,
        resume=args.resume,
        local=args.local,
        allow_errors=args.allow_errors,
        initial_points=args.initial_points,
    )
    if sweep.resume == "never" and sweep.run_dir.exists():
        parser.error(f"--resume never: {sweep.run_dir} already exists; pick another --name")
    if sweep.resume == "required":
        from workloads import trainable  # imports ray.tune, which does not start Ray

        if not trainable.can_resume(sweep.run_dir):
            parser.error(f"--resume required: {sweep.run_dir} holds no run to continue")
    return sweep


def choose_resources(sweep: Sweep, resources: dict[str, float], resume: bool) -> capacity.Choice:
    """A resumed run keeps what it chose at the start (a GPU pool at zero must not turn it into a CPU
    run); a new run sizes itself from the flags, else from the nodes present. Explicit flags win."""
    saved = capacity.load_choice(sweep.run_dir) if resume else None
    if saved is not None:
        return capacity.Choice(
            sweep.cpus_per_trial,
            saved.gpus_per_trial if sweep.gpus_per_trial is None else sweep.gpus_per_trial,
            sweep.max_concurrent or saved.max_concurrent,
        )
    # Ray 2.60 keeps no record of the worker groups' maxima where a job can read it (nothing reports the
    # GCS's ClusterConfig), so the nodes present stand in, and on the cluster jobSubmitCommand passes the
    # sizes the stack computes from its RayCluster's groups (manifests/commands.py).
    choice = capacity.choose(
        capacity.groups_from_resources(resources),
        cpus_per_trial=sweep.cpus_per_trial,
        gpus_per_trial=sweep.gpus_per_trial,
        max_concurrent=sweep.max_concurrent,
        num_samples=sweep.num_samples,
    )
    capacity.save_choice(sweep.run_dir, choice)
    return choice


def check_ray_version() -> None:
    import ray

    if ray.__version__ != defaults.RAY_VERSION:
        log.error(
            "this workload needs Ray %s (the cluster image's), found %s; install ray[tune,default]==%s",
            defaults.RAY_VERSION,
            ray.__version__,
            defaults.RAY_VERSION,
        )
        raise SystemExit(EXIT_USAGE)


def check_data(sweep: Sweep) -> None:
    """Read and checksum every pack once, here, so bad data is one error before any trial (and no retries)."""
    try:
        data.verify_packs(sweep.data_dir)
    except data.DataError as err:
        log.error("bad data, no trial started: %s", err)
        raise SystemExit(EXIT_USAGE) from None


def configure_logging() -> None:
    """Our warnings and errors go to stderr as `level name: message`; Ray configures its own loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    workloads = logging.getLogger("workloads")
    if not workloads.handlers:
        workloads.addHandler(handler)
    workloads.setLevel(logging.INFO)


class GracefulStop:
    """SIGTERM stops the sweep the way Ctrl+C does: Tune saves the experiment state and we write the summary.

    `ray job stop`, a pod's termination and a Spot eviction send SIGTERM, and Tune ends gracefully only on
    SIGINT or SIGUSR1 (ray/tune/tune.py _setup_signal_catching). SIGINT cannot carry it: Ray blocks SIGINT
    in a job's driver unless RAY_JOB_STOP_SIGNAL=SIGINT (ray/dashboard/modules/job/job_supervisor.py), so
    SIGTERM is passed on as SIGUSR1, which Tune always handles while it runs. Outside Tune's loop, or on a
    second SIGTERM, it raises KeyboardInterrupt. `ray.init` installs Ray's own fatal-signal handler for
    SIGTERM (a C handler that aborts the process), so install again after it.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: Any = None  # signal.signal's previous handler: a callable, SIG_DFL/SIG_IGN or None

    def install(self) -> GracefulStop:
        previous = signal.signal(signal.SIGTERM, self._handle)
        if self._previous is None:
            self._previous = previous
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        first = self.received is None
        self.received = signal.Signals(signum).name
        if first and callable(signal.getsignal(signal.SIGUSR1)):
            log.warning(
                "%s: stopping the sweep; Tune saves its state, then the summary is written. "
                "Run the same command again to continue.",
                self.received,
            )
            os.kill(os.getpid(), signal.SIGUSR1)
        else:
            raise KeyboardInterrupt(self.received)

    @property
    def exit_code(self) -> int:
        return 128 + signal.Signals[self.received].value if self.received else 0


def ray_job_ids() -> tuple[str | None, str | None]:
    """This driver's Ray job id and, under `ray job submit`, its submission id (what `ray job stop` takes)."""
    import ray

    # The job supervisor hands the driver its metadata, submission id included (job_manager.py,
    # JOB_ID_METADATA_KEY), in this variable.
    config = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
    return ray.get_runtime_context().get_job_id(), (config.get("metadata") or {}).get("job_submission_id")


def exit_status(summary: dict, sweep: Sweep, stop: GracefulStop) -> int:
    """The process's exit status, so CI, a RayJob and scripts can tell what happened (see the module doc)."""
    if stop.received:
        return stop.exit_code
    if not summary["complete"]:
        return EXIT_INCOMPLETE
    if summary["best_accuracy"] is None or (summary["num_errors"] and not sweep.allow_errors):
        return EXIT_TRIALS_FAILED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    started = time.perf_counter()
    configure_logging()
    sweep = parse_sweep(argv)
    check_ray_version()
    if sweep.local and data.missing_packs(sweep.data_dir):
        print(
            f"No packed MNIST in {sweep.data_dir}; preparing it from the 5,000 offline digits "
            "(4,000 train / 1,000 validation)...",
            flush=True,
        )
        for path in data.prepare(sweep.data_dir, "offline"):
            print(f"  wrote {path}")
    check_data(sweep)
    sweep.storage_path.mkdir(parents=True, exist_ok=True)
    held = lease.Lease(sweep.run_dir)
    try:
        held.acquire()
    except lease.RunInUse as err:
        log.error("%s", err)
        return EXIT_RUN_IN_USE
    stop = GracefulStop().install()
    try:
        return _sweep(sweep, started, held, stop)
    except KeyboardInterrupt:
        log.error(
            "stopped by %s without a final save or summary; the state Tune saved last is in %s, and "
            "the same command resumes from it",
            stop.received or "SIGINT",
            sweep.run_dir,
        )
        return stop.exit_code or 130
    finally:
        stop.uninstall()
        held.release()


def _sweep(sweep: Sweep, started: float, held: lease.Lease, stop: GracefulStop) -> int:
    import ray
    import torch

    from workloads import trainable

    resume = sweep.resume != "never" and trainable.can_resume(sweep.run_dir)
    if sweep.local:
        # address="local": always a fresh Ray here, never another user's running one.
        ray.init(address="local", include_dashboard=False, configure_logging=False)
    else:
        try:
            ray.init(address=os.environ.get("RAY_ADDRESS") or "auto")
        except ConnectionError as err:
            log.error("no Ray cluster to join (%s); use --local, or run it with `ray job submit`", err)
            return EXIT_USAGE
    try:
        stop.install()
        held.describe_job(*ray_job_ids())
        resources = ray.cluster_resources()
        choice = choose_resources(sweep, resources, resume)
        gpus, max_concurrent = choice.gpus_per_trial, choice.max_concurrent
        if gpus > 0 and not resources.get("GPU", 0):
            log.warning(
                "%g GPU per trial; the cluster has no GPUs yet: trials wait for the autoscaler's GPU nodes", gpus
            )
        print(
            f"{'Resuming' if resume else 'Starting'} {sweep.run_dir}: {sweep.num_samples} trials, up to "
            f"{max_concurrent} at once, {sweep.cpus_per_trial:g} CPU + {gpus:g} GPU each; cluster has "
            f"{resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs",
            flush=True,
        )
        if resume:
            print("(a resumed run keeps its original search space, trial count and scheduler)")
        planned = planned_trials(sweep, resume)
        trials = trainable.run(sweep, gpus, max_concurrent, resume)
    finally:
        ray.shutdown()

    run = report.RunInfo(
        name=sweep.name,
        run_dir=str(sweep.run_dir),
        wall_seconds=time.perf_counter() - started,
        ray_version=ray.__version__,
        torch_version=torch.__version__,
        resumed=resume,
        settings={k: str(v) if isinstance(v, Path) else v for k, v in asdict(sweep).items()},
        num_samples=planned,
        stopped_by=stop.received,
    )
    summary_path, plot_path = report.write_report(trials, run)
    summary = json.loads(summary_path.read_text())
    print_outcome(summary, summary_path, plot_path)
    return exit_status(summary, sweep, stop)


def planned_trials(sweep: Sweep, resume: bool) -> int:
    """The trial count of the run as first started (recorded then in SWEEP_FILE)."""
    path = sweep.run_dir / SWEEP_FILE
    if resume:
        try:
            return int(json.loads(path.read_text())["num_samples"])
        except (OSError, ValueError, KeyError, TypeError):
            return sweep.num_samples  # a run started before SWEEP_FILE existed
    report.write_json(path, {k: str(v) if isinstance(v, Path) else v for k, v in asdict(sweep).items()})
    return sweep.num_samples


def print_outcome(summary: dict, summary_path: Path, plot_path: Path) -> None:
    print()
    if summary["best_accuracy"] is not None:
        print(
            f"Best validation accuracy {summary['best_accuracy']:.2%} (trial {summary['best_trial_id']}, "
            f"{summary['best_config']})"
        )
    print(
        f"{summary['num_trials']} trials: {summary['num_completed']} completed, {summary['num_stopped_early']} "
        f"stopped early by ASHA, {summary['num_interrupted']} interrupted, {summary['num_errors']} failed for "
        f"good; {summary['num_retried']} retried after a failure; {summary['wall_seconds']:.0f} s"
    )
    for trial in summary["trials"]:
        if trial["status"] == "error":
            log.error(
                "trial %s failed for good: %s (%s)",
                trial["trial_id"],
                trial["error_file"],
                (trial["error"] or "").splitlines()[0][:200],
            )
    print(f"Summary: {summary_path}")
    print(f"Plot:    {plot_path}")
    if not summary["complete"]:
        log.warning(
            "the run is incomplete (%s); run the same command again to continue it",
            "; ".join(summary["incomplete_reasons"]),
        )


if __name__ == "__main__":
    sys.exit(main())
