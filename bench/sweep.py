"""Side-by-side sweep benchmark: workloads/ against plain Optuna, Ray Tune's defaults and Ray's example.

    python -m bench.sweep                 # 3 seeds x 5 approaches, CPU; ~30 min on 2 idle cores
    python -m bench.sweep --quick         # one tiny sweep each: checks the plumbing, not a benchmark
    python -m bench.sweep --gpu           # 60,000-sample epochs on the GPU (tiny and on CPU without one)

The approaches (APPROACHES): `ours` (python -m workloads.tune --initial-points none), `ours-seeded` (the
same with its known-good first point), `optuna` (bench/optuna_study.py: TPE + successive halving, threads
in one process), `tune-defaults` (bench/tune_defaults.py: our trainable, random search, FIFO) and
`baseline` (bench/baseline.py: Ray's smoke-test-sized MNIST example). Each sweep runs as its own
command, as a user would start it, on the same prepared data, with the same number of trials, epoch cap
and seed; the order alternates per seed. What is measured and how: docs/bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import machine, measure, process, records, report
from workloads import data as workload_data
from workloads import sweep as workload_sweep

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
APPROACHES = ("ours", "ours-seeded", "optuna", "tune-defaults", "baseline")
# Item 4's comparison: throughput on the GPU, ours against Ray's example.
GPU_APPROACHES = ("baseline", "ours")
# Fixed accuracy thresholds every approach is timed to (besides the baseline-derived common target).
THRESHOLDS = (0.97, 0.98)
# What the benchmark should show (docs/bench.md): (name, ratio or figure, comparison, bound).
TARGETS = (
    (
        "ours reaches 98% at least 2x sooner than Ray Tune's defaults (medians, from the search's start)",
        "time_to_98_tune_defaults_over_ours",
        ">=",
        2.0,
    ),
    (
        "ours is within 1.15x of plain Optuna's time to 98% (medians, from the search's start)",
        "time_to_98_ours_over_optuna",
        "<=",
        1.15,
    ),
    ("ours' Tune overhead is under 5% of trial compute (median)", "overhead_ours", "<", 0.05),
)
# GPU mode trains on full-size MNIST epochs; a tenth of that when there is no GPU.
GPU_TRAIN_SIZE = 60_000
GPU_TRAIN_SIZE_WITHOUT_GPU = 6_000
BASELINE_CPUS_PER_TRIAL = 2  # upstream's resources_per_trial
# On a loaded machine Ray's node can time out while starting ("The current node timed out during
# startup"); such a sweep is run once more from scratch, and the row says so.
ATTEMPTS = 6
RETRY_PAUSE_S = 20.0


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
    for dy, dx in {tuple(s) for s in shifts.tolist()} - {(0, 0)}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[rows] = padded[picks[rows], 2 - dy : 2 - dy + h, 2 - dx : 2 - dx + w]
    return out, labels[picks].copy()


# --- one sweep ---------------------------------------------------------------------------------------


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


def run_one(approach: str, plan: Plan, seed: int, data_dir: Path, storage: Path) -> dict:
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


# --- the whole benchmark -----------------------------------------------------------------------------


def threshold_key(threshold: float, suffix: str = "s") -> str:
    """`time_to_98_s` and the like: the name of the figure for one of THRESHOLDS."""
    return f"time_to_{round(threshold * 100)}_{suffix}"


def score(rows: list[dict], plan: Plan) -> dict:
    """Targets, times to them and the per-approach medians and spreads; drops the raw trials."""
    baseline_bests = [r["best_val_accuracy"] for r in rows if r["approach"] == "baseline"]
    # Without the baseline (a partial run) there is no common target: those figures stay None.
    target = measure.common_target(baseline_bests) if baseline_bests else None
    seed_targets = {r["seed"]: measure.seed_target(r["best_val_accuracy"]) for r in rows if r["approach"] == "baseline"}

    def time_to(trials, accuracy, started_at):
        return None if accuracy is None else measure.time_to_target(trials, accuracy, started_at)

    for r in rows:
        trials = r.pop("_trials")
        r["time_to_target_s"] = time_to(trials, target, r["fit_started_at"])
        r["time_to_target_from_command_s"] = time_to(trials, target, r["started_at"])
        r["seed_target"] = seed_targets.get(r["seed"])
        r["time_to_seed_target_s"] = time_to(trials, r["seed_target"], r["fit_started_at"])
        for threshold in THRESHOLDS:
            r[threshold_key(threshold)] = measure.time_to_target(trials, threshold, r["fit_started_at"])
            r[threshold_key(threshold, "from_command_s")] = measure.time_to_target(trials, threshold, r["started_at"])
        r["progress"] = measure.progress(trials, r["fit_started_at"])
        if plan.gpu:
            epochs, device_s = r["trial_epochs"], r["fit_seconds"] * (1 if plan.gpu_name else machine.cores())
            r["trial_epochs_per_device_second"] = epochs / device_s
            r["train_samples_per_device_second"] = epochs * samples_per_epoch(r["approach"], plan) / device_s
    keys = [
        "wall_seconds",
        "fit_seconds",
        "cpu_seconds",
        "cpu_seconds_trial_workers",
        "best_val_accuracy",
        "time_to_target_s",
        "time_to_target_from_command_s",
        "time_to_seed_target_s",
        "overhead",
        "trials",
        "trials_full_length",
        "trial_epochs",
        "compute_seconds",
    ]
    keys += [threshold_key(t, suffix) for t in THRESHOLDS for suffix in ("s", "from_command_s")]
    if plan.gpu:
        keys += ["trial_epochs_per_device_second", "train_samples_per_device_second"]
    approaches = {
        a: {k: measure.spread([r[k] for r in rows if r["approach"] == a]) for k in keys} for a in plan.approaches
    }
    by_seed = {(r["approach"], r["seed"]): r for r in rows}

    def of_medians(key: str, numerator: str, denominator: str) -> float | None:
        return measure.ratio(approaches[numerator][key]["median"], approaches[denominator][key]["median"])

    def per_seed(key: str, numerator: str, denominator: str) -> dict:
        return measure.spread(
            [measure.ratio(by_seed[(numerator, s)][key], by_seed[(denominator, s)][key]) for s in plan.seeds]
        )

    ratios: dict[str, Any] = {}
    if {"ours", "baseline"} <= set(approaches):
        ratios.update(
            {
                "time_to_target_baseline_over_ours": of_medians("time_to_target_s", "baseline", "ours"),
                "time_to_target_baseline_over_ours_per_seed": per_seed("time_to_target_s", "baseline", "ours"),
                "time_to_target_from_command_baseline_over_ours": of_medians(
                    "time_to_target_from_command_s", "baseline", "ours"
                ),
                "time_to_seed_target_baseline_over_ours_per_seed": per_seed(
                    "time_to_seed_target_s", "baseline", "ours"
                ),
                "cpu_seconds_baseline_over_ours": of_medians("cpu_seconds", "baseline", "ours"),
            }
        )
    pairs = [("tune-defaults", "ours"), ("ours", "optuna"), ("ours", "ours-seeded")]
    for numerator, denominator in pairs:
        if {numerator, denominator} <= set(plan.approaches):
            name = f"{numerator}_over_{denominator}".replace("-", "_")
            for threshold in THRESHOLDS:
                for suffix in ("s", "from_command_s"):
                    key = threshold_key(threshold, suffix)
                    label = key.removesuffix("_s")
                    ratios[f"{label}_{name}"] = of_medians(key, numerator, denominator)
                    ratios[f"{label}_{name}_per_seed"] = per_seed(key, numerator, denominator)
            ratios[f"cpu_seconds_{name}"] = of_medians("cpu_seconds", numerator, denominator)
    if plan.gpu and {"ours", "baseline"} <= set(approaches):
        ratios["train_samples_per_device_second_ours_over_baseline"] = of_medians(
            "train_samples_per_device_second", "ours", "baseline"
        )
    figures = {**ratios, "overhead_ours": approaches["ours"]["overhead"]["median"] if "ours" in approaches else None}
    targets = [
        target_verdict(
            name,
            key,
            op,
            bound,
            figures.get(key),
            measured=key in figures and (key != "overhead_ours" or "ours" in approaches),
        )
        for name, key, op, bound in TARGETS
    ]
    return {
        "target": target,
        "thresholds": list(THRESHOLDS),
        "approaches": approaches,
        "ratios": ratios,
        "targets": targets,
        "runs": rows,
    }


def target_verdict(name: str, key: str, op: str, bound: float, value: float | None, measured: bool = True) -> dict:
    """Whether one of TARGETS holds; a ratio of a time that never came (None) is not met.

    `measured` False: the run left out an approach the figure needs; `met` is then None.
    """
    checks = {">=": lambda v: v >= bound, "<=": lambda v: v <= bound, "<": lambda v: v < bound}
    met = None if not measured else (False if value is None else bool(checks[op](value)))
    return {"target": name, "figure": key, "bound": f"{op} {bound:g}", "value": value, "met": met}


def samples_per_epoch(approach: str, plan: Plan) -> int:
    """Training images one reported epoch consumes: upstream's loop stops after EPOCH_SIZE (+ a batch)."""
    train_size = plan.train_size or 4000
    if approach == "baseline":
        from bench.baseline import BATCH_SIZE, EPOCH_SIZE

        return min(train_size, (EPOCH_SIZE // BATCH_SIZE + 1) * BATCH_SIZE)
    return train_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 2 trials x 1 epoch per approach")
    parser.add_argument("--gpu", action="store_true", help="GPU mode: 60,000-sample epochs, one GPU per trial")
    parser.add_argument(
        "--num-samples", type=int, help="trials per sweep (default 16, the workload's default; quick 2)"
    )
    parser.add_argument(
        "--max-epochs", type=int, help="epoch cap per trial (default 10, the workload's default; quick 1)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="default 0 1 2; quick 0")
    parser.add_argument(
        "--approaches",
        nargs="+",
        choices=APPROACHES,
        help=f"default all ({' '.join(APPROACHES)}); with --gpu {' '.join(GPU_APPROACHES)}",
    )
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/<machine>[-quick|-gpu].json)")
    parser.add_argument("--work-dir", type=Path, help="data and Tune results (default: a temporary directory)")
    parser.add_argument(
        "--rescore",
        type=Path,
        metavar="PARTIAL_JSON",
        help="score the sweeps a stopped run recorded in PARTIAL_JSON (<out>.partial.json) from "
        "their Tune/Optuna files under --work-dir, without running anything",
    )
    args = parser.parse_args(argv)
    if args.rescore:
        if not args.work_dir:
            parser.error("--rescore needs the --work-dir the stopped run used")
        return rescore(
            args.rescore,
            args.work_dir / "runs",
            args.out or args.rescore.with_name(args.rescore.name.replace(".partial.json", ".json")),
            argv,
        )

    adopted = process.become_subreaper()
    gpu_name = machine.cuda_device_name() if args.gpu else None
    plan = plan_from_args(args, gpu_name)
    info = machine.describe(gpu_name)
    info["load_average_before"] = machine.load_average()
    info["cpu_accounting"] = f"psutil samples every {process.SAMPLE_S} s over the sweep's process tree" + (
        "" if adopted else " (no subreaper: daemons orphaned at exit are missed)"
    )
    suffix = "-quick" if args.quick else ""
    suffix += "-gpu" if args.gpu else ""
    out = args.out or RESULTS_DIR / f"{info['name']}{suffix}.json"

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ray-aks-bench-"))
    try:
        data_dir = prepare_data(work, plan)
        rows = []
        partial = out.with_suffix(".partial.json")
        command_line = shlex.join(["python", "-m", "bench.sweep", *(argv if argv is not None else sys.argv[1:])])
        for i, seed in enumerate(plan.seeds):
            for approach in run_order(plan.approaches, i):
                rows.append(run_one(approach, plan, seed, data_dir, work / "runs"))
                # What has run so far, should the benchmark be stopped before it ends.
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(
                    json.dumps(
                        {
                            "machine": info,
                            "plan": asdict(plan),
                            "command": command_line,
                            "runs": [{k: v for k, v in r.items() if k != "_trials"} for r in rows],
                        },
                        indent=2,
                        default=str,
                    )
                    + "\n"
                )
        info["load_average_after"] = machine.load_average()
        result = {
            "machine": info,
            "command": command_line,
            "plan": {**asdict(plan), "gpu_available": gpu_name is not None},
            **score(rows, plan),
        }
        if plan.gpu and not gpu_name:
            result["note"] = (
                "No GPU on this machine: the GPU mode ran on the CPU at tiny size "
                f"({plan.train_size} synthesized images per epoch); its figures are not GPU figures."
            )
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    out.with_suffix(".partial.json").unlink(missing_ok=True)
    picture = report.plot(result, out.with_suffix(".png"))
    print(report.table(result))
    print(f"[bench] wrote {out} and {picture}")
    return 0


def complete_subset(
    done: set[tuple[str, int]], approaches: Sequence[str], seeds: Sequence[int]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The approaches and first seeds of a stopped run to score: every approach finished for every seed
    kept; as many approaches as possible (comparisons need them), then as many seeds."""
    best: tuple[tuple[str, ...], tuple[int, ...]] = ((), ())
    for n in range(1, len(seeds) + 1):
        kept = tuple(seeds[:n])
        full = tuple(a for a in approaches if all((a, s) in done for s in kept))
        if full and len(full) >= len(best[0]):
            best = (full, kept)
    if not best[0]:
        raise ValueError(f"no approach finished its first seed; finished: {sorted(done)}")
    return best


def rescore(partial: Path, storage: Path, out: Path, argv: Sequence[str] | None) -> int:
    """Score what a stopped benchmark ran: its rows, their trials re-read from the experiment directories."""
    recorded = json.loads(partial.read_text())
    rows = recorded["runs"]
    for r in rows:
        r["_trials"] = records.read_trials(r["approach"], storage / f"{r['approach']}-seed{r['seed']}")
    approaches, seeds = complete_subset(
        {(r["approach"], r["seed"]) for r in rows}, recorded["plan"]["approaches"], recorded["plan"]["seeds"]
    )
    plan = Plan(**{**recorded["plan"], "seeds": seeds, "approaches": approaches})
    rows = [r for r in rows if r["approach"] in approaches]
    info = {**recorded["machine"], "load_average_after": rows[-1]["load_average_after"]}
    result = {
        "machine": info,
        "command": recorded.get("command", "python -m bench.sweep"),
        "rescored": shlex.join(["python", "-m", "bench.sweep", *(argv if argv is not None else sys.argv[1:])]),
        "plan": {**asdict(plan), "gpu_available": bool(plan.gpu_name)},
        **score(rows, plan),
    }
    planned = len(recorded["plan"]["approaches"]) * len(recorded["plan"]["seeds"])
    if len(rows) < planned:
        left_out = sorted(
            {(r["approach"], r["seed"]) for r in recorded["runs"]} - {(r["approach"], r["seed"]) for r in rows}
        )
        result["partial"] = True
        result["note"] = (
            f"Partial: {len(recorded['runs'])} of the {planned} planned sweeps finished before the run "
            f"was stopped; scored here: {len(rows)} (approaches {', '.join(approaches)}, seeds "
            f"{', '.join(map(str, seeds))})"
            + (f"; left out, finished for too few seeds: {left_out}" if left_out else "")
            + "."
        )
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    picture = report.plot(result, out.with_suffix(".png"))
    print(report.table(result))
    print(f"[bench] wrote {out} and {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
