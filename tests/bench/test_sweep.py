"""bench/sweep.py's pieces that need no Ray: the plan, the GPU mode's data, the commands, the scoring.

Reading the sweeps' results back: tests/bench/test_records.py."""

import argparse
from pathlib import Path

import numpy as np
import pytest

from bench import measure, sweep


def args(**overrides):
    base = dict(quick=False, gpu=False, num_samples=None, max_epochs=None, seeds=None, approaches=None)
    return argparse.Namespace(**{**base, **overrides})


def test_the_full_plan_is_the_workloads_default_16_trials_by_10_epochs_over_3_seeds():
    plan = sweep.plan_from_args(args(), gpu_name=None)
    assert (plan.num_samples, plan.max_epochs, plan.seeds) == (16, 10, (0, 1, 2))


def test_quick_mode_is_one_seed_of_a_tiny_sweep_of_every_approach():
    plan = sweep.plan_from_args(args(quick=True), gpu_name=None)
    assert plan.seeds == (0,) and plan.num_samples * plan.max_epochs <= 4
    assert set(plan.approaches) == {"ours", "ours-seeded", "optuna", "tune-defaults", "baseline"}


def test_gpu_mode_compares_ours_with_the_baseline_unless_told_otherwise():
    assert sweep.plan_from_args(args(gpu=True), gpu_name="NVIDIA H100").approaches == ("baseline", "ours")
    chosen = sweep.plan_from_args(args(approaches=["baseline", "optuna"]), gpu_name=None)
    assert chosen.approaches == ("baseline", "optuna")


@pytest.mark.parametrize("approaches", [(), ("ours", "ours"), ("ours", "baseline", "grid")])
def test_a_plan_needs_distinct_known_approaches(approaches):
    with pytest.raises(ValueError, match="approaches"):
        sweep.Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=approaches)


def test_the_order_alternates_per_seed_so_load_drift_hits_every_approach():
    approaches = sweep.APPROACHES
    assert sweep.run_order(approaches, 0) == approaches
    assert sweep.run_order(approaches, 1) == approaches[::-1]
    assert sweep.run_order(approaches, 2) == approaches


def test_gpu_mode_without_a_gpu_shrinks_to_a_tiny_cpu_run():
    plan = sweep.plan_from_args(args(gpu=True), gpu_name=None)
    assert plan.gpu and plan.gpu_name is None and plan.gpus_per_trial == 0
    assert plan.train_size == sweep.GPU_TRAIN_SIZE_WITHOUT_GPU and plan.seeds == (0,)


def test_gpu_mode_with_a_gpu_uses_full_size_epochs_and_one_gpu_per_trial():
    plan = sweep.plan_from_args(args(gpu=True), gpu_name="NVIDIA H100")
    assert plan.train_size == 60_000 and plan.gpus_per_trial == 1.0 and plan.seeds == (0, 1, 2)


@pytest.mark.parametrize("field, value", [("num_samples", 0), ("max_epochs", -1), ("seeds", ()), ("seeds", (1, 1))])
def test_a_plan_rejects_bad_values_and_names_the_field(field, value):
    settings = dict(num_samples=8, max_epochs=10, seeds=(0, 1, 2))
    with pytest.raises(ValueError, match=field):
        sweep.Plan(**{**settings, field: value})


def test_synthesize_keeps_every_original_then_adds_shifted_copies_with_their_labels():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    grown, grown_labels = sweep.synthesize(images, labels, 75, seed=0)
    assert grown.shape == (75, 28, 28) and grown.dtype == np.uint8 and grown_labels.shape == (75,)
    assert np.array_equal(grown[:20], images) and np.array_equal(grown_labels[:20], labels)
    # A copy's pixels are its source's, moved by at most 2 px: the same ink, less what fell off the edge.
    for copy, label in zip(grown[20:], grown_labels[20:]):
        sources = np.flatnonzero(labels == label)
        assert any(copy.sum() <= images[s].sum() for s in sources)


def test_ours_runs_with_the_workloads_defaults_the_shared_budget_and_no_seeded_point():
    plan = sweep.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = sweep.command("ours", plan, 0, Path("/d"), Path("/s"))
    assert cmd[1:4] == ["-m", "workloads.tune", "--local"]
    assert "--cpus-per-trial" not in cmd and "--gpus-per-trial" not in cmd
    assert cmd[cmd.index("--num-samples") + 1] == "8" and cmd[cmd.index("--max-epochs") + 1] == "10"
    assert cmd[cmd.index("--initial-points") + 1] == "none"
    seeded = sweep.command("ours-seeded", plan, 0, Path("/d"), Path("/s"))
    assert seeded[seeded.index("--initial-points") + 1] == "known-good"


@pytest.mark.parametrize(
    "approach, module", [("optuna", "bench.optuna_study"), ("tune-defaults", "bench.tune_defaults")]
)
def test_the_other_approaches_get_the_same_data_budget_and_seed(approach, module):
    plan = sweep.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    ours, cmd = (sweep.command(a, plan, 4, Path("/d"), Path("/s")) for a in ("ours", approach))
    assert cmd[1:3] == ["-m", module]
    for flag in ("--data-dir", "--storage-path", "--num-samples", "--max-epochs", "--seed"):
        assert cmd[cmd.index(flag) + 1] == ours[ours.index(flag) + 1], flag


def test_the_baseline_keeps_upstreams_two_cpus_per_trial():
    plan = sweep.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = sweep.command("baseline", plan, 3, Path("/d"), Path("/s"))
    assert cmd[1:3] == ["-m", "bench.baseline"]
    assert cmd[cmd.index("--cpus-per-trial") + 1] == "2" and cmd[cmd.index("--seed") + 1] == "3"


def run_row(approach, seed, reports, fit_started_at=1000.0, started_at=990.0, overhead=0.04, cpu=100.0):
    """A row as run_one leaves it, trials given as [(accuracy, seconds after the fit start)] per trial."""
    trials = [
        measure.Trial(
            f"t{i}", tuple(measure.Report(j + 1, acc, fit_started_at + at, 1.0) for j, (acc, at) in enumerate(trial))
        )
        for i, trial in enumerate(reports)
    ]
    figures = dict(
        wall_seconds=60.0,
        fit_seconds=50.0,
        cpu_seconds=cpu,
        cpu_seconds_trial_workers=cpu / 2,
        trials=len(trials),
        trials_full_length=1,
        trial_epochs=measure.trial_epochs(trials),
        compute_seconds=10.0,
    )
    return {
        "approach": approach,
        "seed": seed,
        "started_at": started_at,
        "fit_started_at": fit_started_at,
        "best_val_accuracy": measure.best_accuracy(trials),
        "overhead": overhead,
        "_trials": trials,
        **figures,
    }


def scored(times_to_98: dict, overhead=0.04):
    """Score one seed of every approach; each reaches 97% at 1 s and 98% at its time (None: never)."""
    plan = sweep.Plan(num_samples=2, max_epochs=1, seeds=(0,))
    rows = []
    for approach in plan.approaches:
        at = times_to_98[approach]
        reports = [[(0.5, 0.5), (0.97, 1.0)]] + ([[(0.981, at)]] if at is not None else [])
        rows.append(run_row(approach, 0, reports, overhead=overhead))
    return sweep.score(rows, plan)


def test_times_to_97_and_98_percent_are_scored_from_the_search_and_from_the_command():
    result = scored({"ours": 10.0, "ours-seeded": 5.0, "optuna": 9.0, "tune-defaults": 30.0, "baseline": None})
    ours = next(r for r in result["runs"] if r["approach"] == "ours")
    assert ours["time_to_97_s"] == pytest.approx(1.0) and ours["time_to_98_s"] == pytest.approx(10.0)
    assert ours["time_to_98_from_command_s"] == pytest.approx(20.0)
    assert result["approaches"]["baseline"]["time_to_98_s"]["median"] is None
    assert result["ratios"]["time_to_98_tune_defaults_over_ours"] == pytest.approx(3.0)
    assert result["ratios"]["time_to_98_ours_over_optuna"] == pytest.approx(10 / 9)
    assert result["ratios"]["time_to_98_ours_over_ours_seeded"] == pytest.approx(2.0)


def test_each_target_is_reported_met_or_not_with_its_figure():
    met = {
        t["figure"]: t
        for t in scored({"ours": 10.0, "ours-seeded": 5.0, "optuna": 9.0, "tune-defaults": 30.0, "baseline": None})[
            "targets"
        ]
    }
    assert [t["met"] for t in met.values()] == [True, True, True]
    missed = {
        t["figure"]: t
        for t in scored(
            {"ours": 20.0, "ours-seeded": 5.0, "optuna": 9.0, "tune-defaults": 30.0, "baseline": None}, overhead=0.08
        )["targets"]
    }
    assert missed["time_to_98_tune_defaults_over_ours"]["met"] is False  # 1.5x < 2x
    assert missed["time_to_98_ours_over_optuna"]["met"] is False
    assert missed["overhead_ours"]["met"] is False and missed["overhead_ours"]["value"] == pytest.approx(0.08)


def test_a_target_whose_time_never_came_is_not_met():
    result = scored({"ours": None, "ours-seeded": 5.0, "optuna": 9.0, "tune-defaults": 30.0, "baseline": None})
    target = next(t for t in result["targets"] if t["figure"] == "time_to_98_ours_over_optuna")
    assert target["value"] is None and target["met"] is False


def test_a_run_without_an_approach_leaves_its_targets_unmeasured():
    plan = sweep.Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=("baseline", "optuna"))
    rows = [run_row(a, 0, [[(0.98, 1.0)]]) for a in plan.approaches]
    assert [t["met"] for t in sweep.score(rows, plan)["targets"]] == [None, None, None]


def test_a_partial_run_without_the_baseline_still_scores_the_fixed_thresholds():
    plan = sweep.Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=("ours", "optuna"))
    rows = [run_row(a, 0, [[(0.98, at)]]) for a, at in (("ours", 4.0), ("optuna", 2.0))]
    result = sweep.score(rows, plan)
    assert result["target"] is None and result["runs"][0]["time_to_target_s"] is None
    assert result["ratios"]["time_to_98_ours_over_optuna"] == pytest.approx(2.0)


def test_a_stopped_run_is_scored_on_the_most_approaches_then_the_most_seeds_that_all_finished():
    approaches, seeds = ("ours", "optuna", "baseline"), (0, 1, 2)
    # Seed 0 finished for all three; seed 1 (reversed order) only for the baseline and optuna.
    done = {("ours", 0), ("optuna", 0), ("baseline", 0), ("baseline", 1), ("optuna", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0,))
    done |= {("ours", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0, 1))
    with pytest.raises(ValueError, match="no approach"):
        sweep.complete_subset(set(), approaches, seeds)
