"""The sweep's driver, `python -m workloads.tune`: checks, data, the one-driver lease, Ray, the Tuner, the summary.

Flags, defaults and exit statuses: `python -m workloads.tune --help` (workloads/cli.py). How a run ends,
SIGTERM included: workloads/stop.py. The search itself: workloads/trainable.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from workloads import capacity, data, defaults, lease, report
from workloads.cli import parse_sweep
from workloads.stop import EXIT_RUN_IN_USE, EXIT_USAGE, GracefulStop, exit_status
from workloads.sweep import (
    Sweep,
)

# The sweep's settings as first started, in its run directory: a resumed run keeps them (Tune restores its
# own), and the summary needs the trial count asked for to tell a run that never got to some trials.
SWEEP_FILE = "sweep.json"

log = logging.getLogger("workloads.tune")


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


def ray_job_ids() -> tuple[str | None, str | None]:
    """This driver's Ray job id and, under `ray job submit`, its submission id (what `ray job stop` takes)."""
    import ray

    # The job supervisor hands the driver its metadata, submission id included (job_manager.py,
    # JOB_ID_METADATA_KEY), in this variable.
    config = json.loads(os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR") or "{}")
    return ray.get_runtime_context().get_job_id(), (config.get("metadata") or {}).get("job_submission_id")


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
        trials, search = trainable.run(sweep, gpus, max_concurrent, resume)
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
        search=search,
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
