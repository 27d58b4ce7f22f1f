"""bench/score.py: times to the thresholds and the common target, medians, ratios and target verdicts.

Reading the sweeps' results back: tests/bench/test_records.py."""

import pytest

from bench import measure, score
from bench.plan import Plan


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
    plan = Plan(num_samples=2, max_epochs=1, seeds=(0,))
    rows = []
    for approach in plan.approaches:
        at = times_to_98[approach]
        reports = [[(0.5, 0.5), (0.97, 1.0)]] + ([[(0.981, at)]] if at is not None else [])
        rows.append(run_row(approach, 0, reports, overhead=overhead))
    return score.score(rows, plan)


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
    plan = Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=("baseline", "optuna"))
    rows = [run_row(a, 0, [[(0.98, 1.0)]]) for a in plan.approaches]
    assert [t["met"] for t in score.score(rows, plan)["targets"]] == [None, None, None]


def test_a_partial_run_without_the_baseline_still_scores_the_fixed_thresholds():
    plan = Plan(num_samples=2, max_epochs=1, seeds=(0,), approaches=("ours", "optuna"))
    rows = [run_row(a, 0, [[(0.98, at)]]) for a, at in (("ours", 4.0), ("optuna", 2.0))]
    result = score.score(rows, plan)
    assert result["target"] is None and result["runs"][0]["time_to_target_s"] is None
    assert result["ratios"]["time_to_98_ours_over_optuna"] == pytest.approx(2.0)
