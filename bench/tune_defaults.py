"""Ray Tune's defaults over our trainable: random search (BasicVariantGenerator), FIFO (no early stopping).

Everything else is as `python -m workloads.tune --local` sets it: the trainable (`workloads/trainable.
train_mnist`), the search space, one CPU per trial, as many trials at once as the CPUs hold, actor reuse,
checkpoints, the record of when the search ran (workloads/callbacks.SearchClock into `search.json`,
bench/records.py). Only the searcher and the
scheduler differ, so the comparison with `ours` is the search's.

    python -m bench.tune_defaults --data-dir D --storage-path S --name N --num-samples K --max-epochs E --seed X
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import ray
from ray import tune
from ray.tune.search.basic_variant import BasicVariantGenerator

from bench import records
from workloads import callbacks, results, trainable
from workloads import sweep as workload_sweep


def make_tuner(data_dir: Path, storage: Path, name: str, num_samples: int, max_epochs: int, seed: int) -> tune.Tuner:
    fixed = {
        "data_dir": os.fspath(data_dir),
        "max_epochs": max_epochs,
        "checkpoint_every": workload_sweep.CHECKPOINT_EVERY,
        "seed": seed,
    }
    return tune.Tuner(
        tune.with_resources(trainable.train_mnist, {"cpu": 1}),
        param_space={**trainable.search_space(False), **fixed},
        tune_config=tune.TuneConfig(
            metric=workload_sweep.METRIC,
            mode=workload_sweep.MODE,
            num_samples=num_samples,
            # Tune's default searcher, given a seed so that each run is repeatable; no scheduler: FIFO.
            search_alg=BasicVariantGenerator(random_state=seed),
            reuse_actors=True,
            trial_dirname_creator=results.trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=os.fspath(storage),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            callbacks=[callbacks.SearchClock()],
            verbose=1,
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tune_defaults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--storage-path", type=Path, required=True)
    parser.add_argument("--name", default="tune-defaults")
    parser.add_argument("--num-samples", type=int, default=workload_sweep.NUM_SAMPLES)
    parser.add_argument("--max-epochs", type=int, default=workload_sweep.MAX_EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # As workloads.tune --local starts it: always a fresh Ray on this machine.
    ray.init(address="local", include_dashboard=False, configure_logging=False)
    try:
        results = make_tuner(
            args.data_dir.resolve(),
            args.storage_path.resolve(),
            args.name,
            args.num_samples,
            args.max_epochs,
            args.seed,
        ).fit()
    finally:
        ray.shutdown()
    records.write_search(args.storage_path.resolve() / args.name, callbacks.SearchClock.last_window())
    return 1 if results.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
