"""One sweep, run and measured: its command in its own process (retried when Ray's node fails to start),
CPU time, load, GPU samples, and what it left behind read back into one row of the results."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from pathlib import Path

from bench import machine, measure, process, records
from bench.plan import BASELINE_CPUS_PER_TRIAL, Plan, command
from workloads import sweep as workload_sweep

REPO = Path(__file__).resolve().parent.parent
# On a loaded machine Ray's node can time out while starting ("The current node timed out during
# startup"); such a sweep is run once more from scratch, and the row says so.
ATTEMPTS = 6
RETRY_PAUSE_S = 20.0


def run_one(approach: str, plan: Plan, seed: int, data_dir: Path, storage: Path) -> dict:
    """One sweep of `approach` as its own command, measured: its row of the results, the trials it reported
    under `_trials` for bench/score.py (which drops them)."""
    cmd = command(approach, plan, seed, data_dir, storage)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    print(f"[bench] {approach} seed {seed}: {shlex.join(cmd)}", flush=True)
    experiment = storage / f"{approach}-seed{seed}"
    failures = []
    for _attempt in range(ATTEMPTS):
        shutil.rmtree(experiment, ignore_errors=True)
        load_before = machine.load_average()
        gpu = machine.GpuSampler() if plan.gpu else None
        if gpu:
            gpu.start()
        run = process.run_measured(cmd, env=env, cwd=str(REPO), timeout_s=plan.timeout_s)
        if run.returncode == 0:
            break
        failures.append(f"exit code {run.returncode}: {run.output_tail[-1500:]}")
        print(f"[bench] {approach} seed {seed} failed ({failures[-1][-300:]}); retrying", flush=True)
        time.sleep(RETRY_PAUSE_S)
    else:
        raise RuntimeError(f"{approach} seed {seed} failed {ATTEMPTS} times; last:\n{run.output_tail}")
    trials = records.read_trials(approach, experiment)
    cpus_per_trial: float
    if approach == "baseline":
        cpus_per_trial, gpus_per_trial = BASELINE_CPUS_PER_TRIAL, plan.gpus_per_trial
    elif approach == "optuna":
        n_jobs = records.read_search(experiment)["n_jobs"]
        cpus_per_trial, gpus_per_trial = machine.cores() / n_jobs, 0.0
    elif approach == "tune-defaults":
        cpus_per_trial, gpus_per_trial = 1.0, 0.0
    else:
        settings = json.loads((experiment / "summary.json").read_text())["settings"]
        cpus_per_trial, gpus_per_trial = float(settings["cpus_per_trial"]), settings["gpus_per_trial"]
        if gpus_per_trial is None:  # the workload's default: a share of a GPU when Ray sees one
            gpus_per_trial = workload_sweep.GPUS_PER_TRIAL if plan.gpu_name else 0.0
    slots = measure.concurrent_slots(
        machine.cores(), 1 if plan.gpu_name else 0, cpus_per_trial, float(gpus_per_trial), len(trials)
    )
    fit_started_at, fit_seconds = records.fit_window(experiment)
    row = {
        "approach": approach,
        "seed": seed,
        "command": shlex.join(cmd),
        "failed_attempts": failures,
        "load_average_before": load_before,
        "load_average_after": machine.load_average(),
        "started_at": run.started_at,
        "fit_started_at": fit_started_at,
        "wall_seconds": run.wall_seconds,
        "fit_seconds": fit_seconds,
        "cpu_seconds": run.cpu_seconds,
        "cpu_seconds_trial_workers": run.cpu_seconds_workers,
        "processes": run.processes,
        "trials": len(trials),
        "trials_full_length": sum(len(t.reports) >= plan.max_epochs for t in trials),
        "trial_epochs": measure.trial_epochs(trials),
        "cpus_per_trial": cpus_per_trial,
        "gpus_per_trial": float(gpus_per_trial),
        "slots": slots,
        "compute_seconds": sum(t.compute_seconds for t in trials),
        "best_val_accuracy": measure.best_accuracy(trials),
        "overhead": measure.overhead(trials, fit_seconds, slots),
        "_trials": trials,
    }
    if gpu is not None:
        row["gpu"] = gpu.summary()
        row["peak_gpu_memory_bytes"] = records.peak_gpu_memory(experiment)
    print(
        f"[bench] {approach} seed {seed}: {run.wall_seconds:.1f} s, best {row['best_val_accuracy']:.4f}, "
        f"{row['trials']} trials / {row['trial_epochs']} epochs",
        flush=True,
    )
    return row
