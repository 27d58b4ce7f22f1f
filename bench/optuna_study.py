"""Plain Optuna, no Ray: the sweep as a user would write it for one machine.

The same model and training loop (`workloads/train.py`), the same data, search space
(`workloads/sweep.search_space`, Ray-free), trial budget, epoch cap and seed as `python -m workloads.tune`; an
Optuna study with TPE (seeded) and its successive-halving pruner at Tune's ASHA rungs (min resource
`--grace-period` epochs, reduction factor 3), `study.optimize(n_jobs=<cores>)`: as many trials at once
as cores, as threads of this one process, sharing one copy of the data. Each epoch is a pruning step.

    python -m bench.optuna_study --data-dir D --storage-path S --name N --num-samples K --max-epochs E --seed X

Writes what the benchmark reads (bench/records.py), in its own format: `<storage>/<name>/trials/trial_<n>.jsonl`
(one JSON line per epoch: epoch, val_accuracy, wall_time, compute_seconds, config) and
`<storage>/<name>/search.json` (the study's start, duration, parallel trials and outcome counts). No Ray is
imported: this is the sweep as written without it.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

IMPORT_STARTED = time.time()

import optuna  # noqa: E402
import torch  # noqa: E402

from bench import records  # noqa: E402
from workloads import data, report, train  # noqa: E402
from workloads import sweep as workload_sweep  # noqa: E402

# Tune's ASHAScheduler as workloads/trainable.py configures it.
REDUCTION_FACTOR = 3


def distribution(domain: workload_sweep.Domain) -> optuna.distributions.BaseDistribution:
    """One of workloads.sweep's domains as the Optuna distribution Ray's OptunaSearch makes of its Tune domain."""
    if isinstance(domain, workload_sweep.Uniform):
        return optuna.distributions.FloatDistribution(domain.low, domain.high, log=domain.log)
    return optuna.distributions.CategoricalDistribution(domain.options)


def distributions(gpu: bool) -> dict[str, optuna.distributions.BaseDistribution]:
    """The workload's search space (workloads.sweep.search_space) as Optuna distributions, in its order."""
    return {name: distribution(domain) for name, domain in workload_sweep.search_space(gpu).items()}


def suggest(trial: optuna.Trial, name: str, distribution: optuna.distributions.BaseDistribution) -> Any:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, optuna.distributions.FloatDistribution):
        return trial.suggest_float(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    raise TypeError(f"{name}: no suggest_* for {distribution!r}")


def make_study(seed: int, grace_period: int) -> optuna.Study:
    return optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=grace_period, reduction_factor=REDUCTION_FACTOR),
    )


def make_objective(
    out: Path,
    splits: Mapping[str, torch.Tensor],
    space: Mapping[str, Any],
    max_epochs: int,
    seed: int,
    device: torch.device,
):
    """One trial: build, then train epoch by epoch, reporting to Optuna and to its records.OptunaTrialLog."""
    x, y, x_val, y_val = splits["x"], splits["y"], splits["x_val"], splits["y_val"]

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        hp = train.Hyperparameters.from_config({name: suggest(trial, name, d) for name, d in space.items()})
        state = train.build(hp, len(y), max_epochs, device, seed)
        compute_seconds = time.perf_counter() - started
        accuracy = 0.0
        with records.OptunaTrialLog(out, trial.number) as log:
            while state.epoch < max_epochs:
                started = time.perf_counter()
                train.train_epoch(state, x, y, hp)
                _, accuracy = train.evaluate(state.model, x_val, y_val, state.precision)
                compute_seconds += time.perf_counter() - started
                log.write(state.epoch, accuracy, time.time(), compute_seconds, trial.params)
                trial.report(accuracy, state.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        return accuracy  # the last epoch's, as Tune's OptunaSearch tells the study

    return objective


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.optuna_study", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--storage-path", type=Path, required=True)
    parser.add_argument("--name", default="optuna")
    parser.add_argument("--num-samples", type=int, default=workload_sweep.NUM_SAMPLES)
    parser.add_argument("--max-epochs", type=int, default=workload_sweep.MAX_EPOCHS)
    parser.add_argument("--grace-period", type=int, default=workload_sweep.GRACE_PERIOD)
    parser.add_argument("--n-jobs", type=int, help="trials at once (default: the cores this process may use)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    n_jobs = args.n_jobs or len(os.sched_getaffinity(0))
    device = train.pick_device()
    # One intra-op thread per concurrent trial, as workloads/ gives each 1-CPU trial (torch's setting is
    # per process, so it is set once for every thread).
    train.configure_cpu(max(1, len(os.sched_getaffinity(0)) // n_jobs))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = args.storage_path / args.name
    out.mkdir(parents=True, exist_ok=True)
    space = distributions(device.type == "cuda")
    imported = time.time()

    splits = data.load_splits(args.data_dir)
    x, y = train.to_device(splits["train"].images, splits["train"].labels, device)
    x_val, y_val = train.to_device(splits["val"].images, splits["val"].labels, device)
    study = make_study(args.seed, min(args.grace_period, args.max_epochs))
    objective = make_objective(
        out, {"x": x, "y": y, "x_val": x_val, "y_val": y_val}, space, args.max_epochs, args.seed, device
    )
    started = time.time()
    study.optimize(objective, n_trials=args.num_samples, n_jobs=n_jobs)
    seconds = time.time() - started
    states = [t.state.name for t in study.trials]
    records.write_search(
        out,
        report.SearchWindow(started, seconds),
        n_jobs=n_jobs,
        torch_threads=torch.get_num_threads(),
        python_threads_at_end=threading.active_count(),
        imports_seconds=imported - IMPORT_STARTED,
        states={s: states.count(s) for s in sorted(set(states))},
        best_value=study.best_value if any(s == "COMPLETE" for s in states) else None,
    )
    print(
        f"{len(states)} trials in {seconds:.1f} s ({n_jobs} at once); best {study.best_value:.4f}"
        if "COMPLETE" in states
        else f"{len(states)} trials, none completed"
    )
    return 0 if "COMPLETE" in states or "PRUNED" in states else 1


if __name__ == "__main__":
    raise SystemExit(main())
