"""bench/optuna_study.py: plain Optuna over the workload's space and training loop, in one process."""

import json

import numpy as np
import optuna
import torch

from bench import optuna_study
from workloads import data, trainable
from workloads import sweep as workload_sweep


def test_the_space_is_the_workloads_own_as_optuna_distributions():
    space = optuna_study.distributions(trainable.search_space(False))
    assert set(space) == set(trainable.SEARCHED)
    assert space["lr"] == optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)
    assert space["width"].choices == tuple(trainable.search_space(False)["width"].categories)


def test_every_distribution_is_suggested_within_its_domain():
    space = optuna_study.distributions(trainable.search_space(False))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = {name: optuna_study.suggest(trial, name, d) for name, d in space.items()}
        for name, value in params.items():
            assert space[name]._contains(space[name].to_internal_repr(value)), (name, value)


def test_the_pruner_halves_at_tunes_asha_rungs():
    study = optuna_study.make_study(seed=0, grace_period=workload_sweep.GRACE_PERIOD)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    pruner = study.pruner
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert (pruner._min_resource, pruner._reduction_factor) == (workload_sweep.GRACE_PERIOD, 3)


def test_a_study_trains_in_parallel_threads_and_writes_tunes_result_shape(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "d" / "mnist").mkdir(parents=True)
    for split, n in (("train", 64), ("val", 32)):
        data.publish(
            data.pack_path(tmp_path / "d", split),
            data.encode_pack(
                rng.integers(0, 255, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8), "test"
            ),
        )
    before = torch.get_num_threads()
    try:
        assert (
            optuna_study.main(
                [
                    "--data-dir",
                    str(tmp_path / "d"),
                    "--storage-path",
                    str(tmp_path / "s"),
                    "--name",
                    "o",
                    "--num-samples",
                    "3",
                    "--max-epochs",
                    "2",
                    "--n-jobs",
                    "2",
                ]
            )
            == 0
        )
    finally:
        torch.set_num_threads(before)
    search = json.loads((tmp_path / "s" / "o" / "search.json").read_text())
    assert search["n_jobs"] == 2 and sum(search["states"].values()) == 3 and search["seconds"] > 0
    results = sorted((tmp_path / "s" / "o").glob("trial_*/result.json"))
    assert len(results) == 3
    for result in results:
        rows = [json.loads(line) for line in result.read_text().splitlines()]
        assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
        assert all(0 <= r["val_accuracy"] <= 1 and r["wall_time"] >= search["started_at"] for r in rows)
        assert rows[-1]["compute_seconds"] > 0 and set(rows[0]["config"]) == set(trainable.SEARCHED)
