"""Side-by-side sweep benchmark: workloads/ against plain Optuna, Ray Tune's defaults and Ray's example.

    python -m bench.sweep                 # 3 seeds x 5 approaches, CPU; ~30 min on 2 idle cores
    python -m bench.sweep --quick         # one tiny sweep each: checks the plumbing, not a benchmark
    python -m bench.sweep --gpu           # 60,000-sample epochs on the GPU (tiny and on CPU without one)

The approaches (APPROACHES, bench/plan.py): `ours` (python -m workloads.tune --initial-points none),
`ours-seeded` (the same with its known-good first point), `optuna` (bench/optuna_study.py: TPE + successive
halving, threads in one process), `tune-defaults` (bench/tune_defaults.py: our trainable, random search,
FIFO) and `baseline` (bench/baseline.py: Ray's smoke-test-sized MNIST example). Each sweep runs as its own
command, as a user would start it, on the same prepared data, with the same number of trials, epoch cap
and seed; the order alternates per seed. What is measured and how: docs/bench.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench import machine, process, records, report
from bench.data import prepare_data
from bench.plan import APPROACHES, GPU_APPROACHES, Plan, plan_from_args, run_order
from bench.run import REPO, run_one
from bench.score import score

RESULTS_DIR = REPO / "bench" / "results"
PARTIAL_SUFFIX = ".partial.json"  # what has run so far, beside the results JSON until it is written


def parser() -> argparse.ArgumentParser:
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
        help=f"score the sweeps a stopped run recorded in PARTIAL_JSON (<out>{PARTIAL_SUFFIX}) from "
        "their Tune/Optuna files under --work-dir, without running anything",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.rescore:
        if not args.work_dir:
            cli.error("--rescore needs the --work-dir the stopped run used")
        return rescore(
            args.rescore,
            args.work_dir / "runs",
            args.out or args.rescore.with_name(args.rescore.name.replace(PARTIAL_SUFFIX, ".json")),
            argv,
        )
    return benchmark(args, argv)


def command_line(argv: Sequence[str] | None) -> str:
    """How this benchmark was invoked, for the results."""
    return shlex.join(["python", "-m", "bench.sweep", *(argv if argv is not None else sys.argv[1:])])


def benchmark(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """Run every sweep of the plan, seed by seed in alternating order, keeping a partial record as they end."""
    adopted = process.become_subreaper()
    gpu_name = machine.cuda_device_name() if args.gpu else None
    plan = plan_from_args(args, gpu_name)
    info = machine.describe(gpu_name)
    info["load_average_before"] = machine.load_average()
    info["cpu_accounting"] = (
        "the kernel's account of every reaped descendant (getrusage), or the psutil samples of the sweep's "
        f"process tree every {process.SAMPLE_S} s where larger"
    ) + ("" if adopted else " (no subreaper: daemons orphaned at exit are missed)")
    suffix = "-quick" if args.quick else ""
    suffix += "-gpu" if args.gpu else ""
    out = args.out or RESULTS_DIR / f"{info['name']}{suffix}.json"

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ray-aks-bench-"))
    try:
        data_dir = prepare_data(work, plan)
        rows = []
        partial = out.with_suffix(PARTIAL_SUFFIX)
        invoked = command_line(argv)
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
                            "command": invoked,
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
            "command": invoked,
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
    partial.unlink(missing_ok=True)
    show(result, out)
    return 0


def show(result: dict, out: Path) -> None:
    """The picture beside the results JSON, and the table on stdout."""
    picture = report.plot(result, out.with_suffix(".png"))
    print(report.table(result))
    print(f"[bench] wrote {out} and {picture}")


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
    rows = [r for r in rows if r["approach"] in approaches and r["seed"] in seeds]
    info = {**recorded["machine"], "load_average_after": rows[-1]["load_average_after"]}
    result = {
        "machine": info,
        "command": recorded.get("command", "python -m bench.sweep"),
        "rescored": command_line(argv),
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
    show(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
