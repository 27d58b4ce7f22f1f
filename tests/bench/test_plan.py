"""bench/plan.py: the plan of a benchmark run, each approach's command and the order they run in."""

import argparse
from pathlib import Path

import pytest

from bench import plan as bench_plan


def args(**overrides):
    base = dict(quick=False, gpu=False, num_samples=None, max_epochs=None, seeds=None, approaches=None)
    return argparse.Namespace(**{**base, **overrides})


def test_the_full_plan_is_the_workloads_default_16_trials_by_10_epochs_over_3_seeds():
    plan = bench_plan.plan_from_args(args(), gpu_name=None)
    assert (plan.num_samples, plan.max_epochs, plan.seeds) == (16, 10, (0, 1, 2))


def test_quick_mode_is_one_seed_of_a_tiny_sweep_of_every_approach():
    plan = bench_plan.plan_from_args(args(quick=True), gpu_name=None)
    assert plan.seeds == (0,) and plan.num_samples * plan.max_epochs <= 4
    assert set(plan.approaches) == {"ours", "ours-seeded", "optuna", "tune-defaults", "baseline"}


def test_gpu_mode_compares_ours_with_the_baseline_unless_told_otherwise():
    assert bench_plan.plan_from_args(args(gpu=True), gpu_name="NVIDIA H100").approaches == ("baseline", "ours")
    chosen = bench_plan.plan_from_args(args(approaches=["baseline", "optuna"]), gpu_name=None)
    assert chosen.approaches == ("baseline", "optuna")


@pytest.mark.parametrize("approaches", [(), ("ours", "ours"), ("ours", "baseline", "grid")])
def test_a_plan_needs_distinct_known_approaches(approaches):
    with pytest.raises(ValueError, match="approaches"):
        bench_plan.Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=approaches)


def test_the_order_alternates_per_seed_so_load_drift_hits_every_approach():
    approaches = bench_plan.APPROACHES
    assert bench_plan.run_order(approaches, 0) == approaches
    assert bench_plan.run_order(approaches, 1) == approaches[::-1]
    assert bench_plan.run_order(approaches, 2) == approaches


def test_gpu_mode_without_a_gpu_shrinks_to_a_tiny_cpu_run():
    plan = bench_plan.plan_from_args(args(gpu=True), gpu_name=None)
    assert plan.gpu and plan.gpu_name is None and plan.gpus_per_trial == 0
    assert plan.train_size == bench_plan.GPU_TRAIN_SIZE_WITHOUT_GPU and plan.seeds == (0,)


def test_gpu_mode_with_a_gpu_uses_full_size_epochs_and_one_gpu_per_trial():
    plan = bench_plan.plan_from_args(args(gpu=True), gpu_name="NVIDIA H100")
    assert plan.train_size == 60_000 and plan.gpus_per_trial == 1.0 and plan.seeds == (0, 1, 2)


@pytest.mark.parametrize("field, value", [("num_samples", 0), ("max_epochs", -1), ("seeds", ()), ("seeds", (1, 1))])
def test_a_plan_rejects_bad_values_and_names_the_field(field, value):
    settings = dict(num_samples=8, max_epochs=10, seeds=(0, 1, 2))
    with pytest.raises(ValueError, match=field):
        bench_plan.Plan(**{**settings, field: value})


def test_ours_runs_with_the_workloads_defaults_the_shared_budget_and_no_seeded_point():
    plan = bench_plan.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = bench_plan.command("ours", plan, 0, Path("/d"), Path("/s"))
    assert cmd[1:4] == ["-m", "workloads.tune", "--local"]
    assert "--cpus-per-trial" not in cmd and "--gpus-per-trial" not in cmd
    assert cmd[cmd.index("--num-samples") + 1] == "8" and cmd[cmd.index("--max-epochs") + 1] == "10"
    assert cmd[cmd.index("--initial-points") + 1] == "none"
    seeded = bench_plan.command("ours-seeded", plan, 0, Path("/d"), Path("/s"))
    assert seeded[seeded.index("--initial-points") + 1] == "known-good"


@pytest.mark.parametrize(
    "approach, module", [("optuna", "bench.optuna_study"), ("tune-defaults", "bench.tune_defaults")]
)
def test_the_other_approaches_get_the_same_data_budget_and_seed(approach, module):
    plan = bench_plan.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    ours, cmd = (bench_plan.command(a, plan, 4, Path("/d"), Path("/s")) for a in ("ours", approach))
    assert cmd[1:3] == ["-m", module]
    for flag in ("--data-dir", "--storage-path", "--num-samples", "--max-epochs", "--seed"):
        assert cmd[cmd.index(flag) + 1] == ours[ours.index(flag) + 1], flag


def test_the_baseline_keeps_upstreams_two_cpus_per_trial():
    plan = bench_plan.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = bench_plan.command("baseline", plan, 3, Path("/d"), Path("/s"))
    assert cmd[1:3] == ["-m", "bench.baseline"]
    assert cmd[cmd.index("--cpus-per-trial") + 1] == "2" and cmd[cmd.index("--seed") + 1] == "3"
