"""bench/optuna_study.py: plain Optuna over the workload's space and training loop, in one process."""

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest
import torch

from bench import optuna_study, records
from workloads import data, trainable
from workloads import sweep as workload_sweep


@pytest.mark.parametrize("gpu", [False, True])
def test_the_space_is_the_one_ours_searches_as_ray_hands_it_to_optuna(gpu):
    from ray.tune.search.optuna import OptunaSearch

    # What ours' OptunaSearch makes of the Tune domains (workloads/trainable.py), in the same order: the
    # same sampler then draws the same configurations from the same seed.
    ours = OptunaSearch.convert_search_space(trainable.search_space(gpu))
    assert list(optuna_study.distributions(gpu).items()) == list(ours.items())
    assert tuple(ours) == workload_sweep.SEARCHED


def test_the_study_runs_without_ray():
    # The approach is what a user writes without Ray: importing the study must not import it.
    code = "import sys, bench.optuna_study; print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_distribution_is_suggested_within_its_domain():
    space = optuna_study.distributions(False)
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


def test_a_study_trains_in_parallel_threads_and_logs_every_epoch_for_the_benchmark(tmp_path):
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
    run_dir = tmp_path / "s" / "o"
    search = records.read_search(run_dir)
    assert search["n_jobs"] == 2 and sum(search["states"].values()) == 3 and search["seconds"] > 0
    trials = records.read_trials("optuna", run_dir)
    assert len(trials) == 3
    for trial in trials:
        assert [r.epoch for r in trial.reports] == list(range(1, len(trial.reports) + 1))
        assert all(0 <= r.accuracy <= 1 and r.wall_time >= search["started_at"] for r in trial.reports)
        assert trial.compute_seconds > 0
    logged = (run_dir / records.OPTUNA_TRIALS_DIR / "trial_000.jsonl").read_text().splitlines()[0]
    assert set(json.loads(logged)["config"]) == set(workload_sweep.SEARCHED)
