"""Side-by-side sweep benchmark: Ray's MNIST PyTorch Tune example (bench/baseline.py) against workloads/.

    python -m bench.sweep                 # 3 seeds x both approaches, CPU; ~8 min on 2 cores
    python -m bench.sweep --quick         # one small seed each: checks the plumbing, not a benchmark
    python -m bench.sweep --gpu           # 60,000-sample epochs on the GPU (tiny and on CPU without one)

Each sweep runs as its own command, as a user would start it, on the same prepared data, with the same
number of trials, epoch cap and seed. What is measured and how: docs/bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench import machine, measure, process, report
from workloads import data as workload_data
from workloads import tune as workload_tune

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
APPROACHES = ("baseline", "ours")
# The sizes: full-size MNIST epochs in GPU mode; a tenth of that when there is no GPU.
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

    def __post_init__(self):
        for name, value, example in (("num_samples", self.num_samples, 8), ("max_epochs", self.max_epochs, 10)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r} (e.g. {example})")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds!r} (e.g. (0, 1, 2))")
        if self.train_size is not None and self.train_size < 10:
            raise ValueError(f"train_size must be at least 10, got {self.train_size!r} (e.g. 60000)")

    @property
    def gpus_per_trial(self) -> float:
        """The baseline's: upstream asks for one whole GPU per trial in its --cuda mode."""
        return 1.0 if self.gpu_name else 0.0


def plan_from_args(args: argparse.Namespace, gpu_name: str | None) -> Plan:
    if args.gpu and not gpu_name:
        # No GPU: exercise the GPU mode's code on the CPU at a size that finishes in seconds.
        return Plan(num_samples=2, max_epochs=1, seeds=tuple(args.seeds or [0])[:1], gpu=True,
                    train_size=GPU_TRAIN_SIZE_WITHOUT_GPU)
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
    )


# --- data --------------------------------------------------------------------------------------------


def prepare_data(work: Path, plan: Plan) -> Path:
    """The offline digits packed by workloads.data; in GPU mode, the train split grown to `train_size`."""
    data_dir = work / "data"
    workload_data.prepare(data_dir, "offline")
    if plan.train_size is None:
        return data_dir
    grown = work / f"data-{plan.train_size}"
    train = workload_data.load_split(data_dir, "train")
    images, labels = synthesize(train.images, train.labels, plan.train_size, seed=0)
    (grown / "mnist").mkdir(parents=True, exist_ok=True)
    source = f"{train.source}; tiled to {plan.train_size} with random shifts of up to 2 px (bench.sweep)"
    workload_data.publish(workload_data.pack_path(grown, "train"), workload_data.encode_pack(images, labels, source))
    shutil.copyfile(workload_data.pack_path(data_dir, "val"), workload_data.pack_path(grown, "val"))
    return grown


def synthesize(images: np.ndarray, labels: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`size` images: the originals once, then copies shifted by up to 2 px (background-filled)."""
    rng = np.random.default_rng(seed)
    picks = np.concatenate([np.arange(len(labels)), rng.integers(0, len(labels), max(0, size - len(labels)))])[:size]
    out = images[picks].copy()
    shifts = rng.integers(-2, 3, size=(size, 2))
    shifts[: len(labels)] = 0
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    h, w = images.shape[1:]
    for (dy, dx) in {tuple(s) for s in shifts.tolist()} - {(0, 0)}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[rows] = padded[picks[rows], 2 - dy : 2 - dy + h, 2 - dx : 2 - dx + w]
    return out, labels[picks].copy()


# --- one sweep ---------------------------------------------------------------------------------------


def command(approach: str, plan: Plan, seed: int, data_dir: Path, storage: Path) -> list[str]:
    """The exact command a user would type for one sweep; `ours` keeps every workload default.

    Resources are each approach's own: upstream's {"cpu": 2, "gpu": 1 if GPU mode}; the workload's
    defaults (1 CPU, and a quarter GPU when Ray sees one).
    """
    common = ["--data-dir", str(data_dir), "--storage-path", str(storage), "--name", f"{approach}-seed{seed}",
              "--num-samples", str(plan.num_samples), "--max-epochs", str(plan.max_epochs), "--seed", str(seed)]
    if approach == "baseline":
        return [sys.executable, "-m", "bench.baseline", *common, "--cpus-per-trial", str(BASELINE_CPUS_PER_TRIAL),
                "--gpus-per-trial", str(int(plan.gpus_per_trial))]
    return [sys.executable, "-m", "workloads.tune", "--local", *common]


def read_trials(experiment_dir: Path, accuracy_key: str) -> list[measure.Trial]:
    """Every trial's reports from Tune's `result.json` (one JSON object per line per report)."""
    trials = []
    for result in sorted(experiment_dir.glob("*/result.json")):
        reports = []
        for line in result.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if accuracy_key not in row:
                continue
            reports.append(measure.Report(epoch=int(row["epoch"] if "epoch" in row else row["training_iteration"]),
                                          accuracy=float(row[accuracy_key]), wall_time=float(row["wall_time"]),
                                          compute_seconds=float(row["compute_seconds"])))
        trials.append(measure.Trial(trial_id=result.parent.name, reports=tuple(reports)))
    return trials


def fit_window(experiment_dir: Path) -> tuple[float, float]:
    """When Tuner.fit() started and how long it ran, from Tune's own experiment state, for both approaches.

    Tune's controller stamps `stats.start_time` (time.time()) as fit() starts and rewrites the state file
    as fit() ends; against a clock read around fit() in bench/baseline.py both agree within 0.05 s.
    """
    states = sorted(experiment_dir.glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    if not states:
        raise FileNotFoundError(f"{experiment_dir}: no experiment_state-*.json; did the sweep run?")
    started = float(json.loads(states[-1].read_text())["stats"]["start_time"])
    return started, states[-1].stat().st_mtime - started


def read_peak_memory(experiment_dir: Path) -> int | None:
    peaks = [json.loads(line).get("peak_gpu_memory_bytes") for result in experiment_dir.glob("*/result.json")
             for line in result.read_text().splitlines() if line.strip()]
    peaks = [p for p in peaks if p is not None]
    return max(peaks) if peaks else None


def run_one(approach: str, plan: Plan, seed: int, data_dir: Path, storage: Path) -> dict:
    cmd = command(approach, plan, seed, data_dir, storage)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    print(f"[bench] {approach} seed {seed}: {shlex.join(cmd)}", flush=True)
    gpu = machine.GpuSampler() if plan.gpu else None
    if gpu:
        gpu.start()
    run = process.run_measured(cmd, env=env, cwd=str(REPO), timeout_s=plan.timeout_s)
    experiment = storage / f"{approach}-seed{seed}"
    if run.returncode != 0:
        raise RuntimeError(f"{approach} seed {seed} failed with exit code {run.returncode}:\n{run.output_tail}")
    accuracy_key = "mean_accuracy" if approach == "baseline" else "val_accuracy"
    trials = read_trials(experiment, accuracy_key)
    if approach == "baseline":
        cpus_per_trial, gpus_per_trial = BASELINE_CPUS_PER_TRIAL, plan.gpus_per_trial
    else:
        settings = json.loads((experiment / "summary.json").read_text())["settings"]
        cpus_per_trial, gpus_per_trial = float(settings["cpus_per_trial"]), settings["gpus_per_trial"]
        if gpus_per_trial is None:  # the workload's default: a share of a GPU when Ray sees one
            gpus_per_trial = workload_tune.GPUS_PER_TRIAL if plan.gpu_name else 0.0
    slots = measure.concurrent_slots(machine.cores(), 1 if plan.gpu_name else 0, cpus_per_trial,
                                     float(gpus_per_trial), len(trials))
    fit_started_at, fit_seconds = fit_window(experiment)
    row = {
        "approach": approach,
        "seed": seed,
        "command": shlex.join(cmd),
        "started_at": run.started_at,
        "fit_started_at": fit_started_at,
        "wall_seconds": run.wall_seconds,
        "fit_seconds": fit_seconds,
        "cpu_seconds": run.cpu_seconds,
        "cpu_seconds_trial_workers": run.cpu_seconds_workers,
        "processes": run.processes,
        "trials": len(trials),
        "trial_epochs": measure.trial_epochs(trials),
        "cpus_per_trial": cpus_per_trial,
        "gpus_per_trial": float(gpus_per_trial),
        "slots": slots,
        "compute_seconds": sum(t.compute_seconds for t in trials),
        "best_val_accuracy": measure.best_accuracy(trials),
        "overhead": measure.overhead(trials, fit_seconds, slots),
        "_trials": trials,
    }
    if plan.gpu:
        row["gpu"] = gpu.summary()
        row["peak_gpu_memory_bytes"] = read_peak_memory(experiment)
    print(f"[bench] {approach} seed {seed}: {run.wall_seconds:.1f} s, best {row['best_val_accuracy']:.4f}, "
          f"{row['trials']} trials / {row['trial_epochs']} epochs", flush=True)
    return row


# --- the whole benchmark -----------------------------------------------------------------------------


def score(rows: list[dict], plan: Plan) -> dict:
    """Target, times to target and the per-approach medians and spreads; drops the raw trials."""
    baseline_bests = [r["best_val_accuracy"] for r in rows if r["approach"] == "baseline"]
    target = measure.common_target(baseline_bests)
    seed_targets = {r["seed"]: measure.seed_target(r["best_val_accuracy"]) for r in rows if r["approach"] == "baseline"}
    for r in rows:
        trials = r.pop("_trials")
        r["time_to_target_s"] = measure.time_to_target(trials, target, r["fit_started_at"])
        r["time_to_target_from_command_s"] = measure.time_to_target(trials, target, r["started_at"])
        r["seed_target"] = seed_targets[r["seed"]]
        r["time_to_seed_target_s"] = measure.time_to_target(trials, r["seed_target"], r["fit_started_at"])
        r["progress"] = measure.progress(trials, r["fit_started_at"])
        if plan.gpu:
            epochs, device_s = r["trial_epochs"], r["fit_seconds"] * (1 if plan.gpu_name else machine.cores())
            r["trial_epochs_per_device_second"] = epochs / device_s
            r["train_samples_per_device_second"] = epochs * samples_per_epoch(r["approach"], plan) / device_s
    keys = ["wall_seconds", "fit_seconds", "cpu_seconds", "cpu_seconds_trial_workers", "best_val_accuracy",
            "time_to_target_s", "time_to_target_from_command_s", "time_to_seed_target_s", "overhead", "trial_epochs",
            "compute_seconds"]
    if plan.gpu:
        keys += ["trial_epochs_per_device_second", "train_samples_per_device_second"]
    approaches = {a: {k: measure.spread([r[k] for r in rows if r["approach"] == a]) for k in keys}
                  for a in APPROACHES}
    by_seed = {(r["approach"], r["seed"]): r for r in rows}
    per_seed_ratio = [measure.ratio(by_seed[("baseline", s)]["time_to_target_s"], by_seed[("ours", s)]["time_to_target_s"])
                      for s in plan.seeds]
    seed_target_ratio = [measure.ratio(by_seed[("baseline", s)]["time_to_seed_target_s"],
                                       by_seed[("ours", s)]["time_to_seed_target_s"]) for s in plan.seeds]
    ratios = {
        "time_to_target_baseline_over_ours": measure.ratio(approaches["baseline"]["time_to_target_s"]["median"],
                                                            approaches["ours"]["time_to_target_s"]["median"]),
        "time_to_target_baseline_over_ours_per_seed": measure.spread(per_seed_ratio),
        "time_to_target_from_command_baseline_over_ours": measure.ratio(
            approaches["baseline"]["time_to_target_from_command_s"]["median"],
            approaches["ours"]["time_to_target_from_command_s"]["median"]),
        "time_to_seed_target_baseline_over_ours_per_seed": measure.spread(seed_target_ratio),
        "cpu_seconds_baseline_over_ours": measure.ratio(approaches["baseline"]["cpu_seconds"]["median"],
                                                        approaches["ours"]["cpu_seconds"]["median"]),
    }
    if plan.gpu:
        ratios["train_samples_per_device_second_ours_over_baseline"] = measure.ratio(
            approaches["ours"]["train_samples_per_device_second"]["median"],
            approaches["baseline"]["train_samples_per_device_second"]["median"])
    return {"target": target, "approaches": approaches, "ratios": ratios, "runs": rows}


def samples_per_epoch(approach: str, plan: Plan) -> int:
    """Training images one reported epoch consumes: upstream's loop stops after EPOCH_SIZE (+ a batch)."""
    train_size = plan.train_size or 4000
    if approach == "baseline":
        from bench.baseline import BATCH_SIZE, EPOCH_SIZE

        return min(train_size, (EPOCH_SIZE // BATCH_SIZE + 1) * BATCH_SIZE)
    return train_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 2 trials x 1 epoch: under a minute")
    parser.add_argument("--gpu", action="store_true", help="GPU mode: 60,000-sample epochs, one GPU per trial")
    parser.add_argument("--num-samples", type=int, help="trials per sweep (default 16, the workload's default; quick 2)")
    parser.add_argument("--max-epochs", type=int, help="epoch cap per trial (default 10, the workload's default; quick 1)")
    parser.add_argument("--seeds", type=int, nargs="+", help="default 0 1 2; quick 0")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/<machine>[-quick|-gpu].json)")
    parser.add_argument("--work-dir", type=Path, help="data and Tune results (default: a temporary directory)")
    args = parser.parse_args(argv)

    adopted = process.become_subreaper()
    gpu_name = machine.cuda_device_name() if args.gpu else None
    plan = plan_from_args(args, gpu_name)
    info = machine.describe(gpu_name)
    info["load_average_before"] = machine.load_average()
    info["cpu_accounting"] = (f"psutil samples every {process.SAMPLE_S} s over the sweep's process tree"
                              + ("" if adopted else " (no subreaper: daemons orphaned at exit are missed)"))
    suffix = "-quick" if args.quick else ""
    suffix += "-gpu" if args.gpu else ""
    out = args.out or RESULTS_DIR / f"{info['name']}{suffix}.json"

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ray-aks-bench-"))
    try:
        data_dir = prepare_data(work, plan)
        rows = []
        for i, seed in enumerate(plan.seeds):
            # Alternate which approach goes first, so a drift in the machine's load hits both alike.
            order = APPROACHES if i % 2 == 0 else APPROACHES[::-1]
            for approach in order:
                rows.append(run_one(approach, plan, seed, data_dir, work / "runs"))
        info["load_average_after"] = machine.load_average()
        result = {
            "machine": info,
            "command": shlex.join(["python", "-m", "bench.sweep", *(argv if argv is not None else sys.argv[1:])]),
            "plan": {**asdict(plan), "gpu_available": gpu_name is not None},
            **score(rows, plan),
        }
        if plan.gpu and not gpu_name:
            result["note"] = ("No GPU on this machine: the GPU mode ran on the CPU at tiny size "
                              f"({plan.train_size} synthesized images per epoch); its figures are not GPU figures.")
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    picture = report.plot(result, out.with_suffix(".png"))
    print(report.table(result))
    print(f"[bench] wrote {out} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
