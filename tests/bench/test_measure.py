"""bench/measure.py: the benchmark's arithmetic, on hand-made trials."""

import pytest

from bench import measure
from bench.measure import Report, Trial


def trial(name, *rows):
    """rows: (accuracy, seconds after t=100, compute seconds)."""
    return Trial(name, tuple(Report(i + 1, acc, 100.0 + at, cs) for i, (acc, at, cs) in enumerate(rows)))


TRIALS = [
    trial("a", (0.50, 2.0, 1.0), (0.90, 3.5, 2.0)),
    trial("b", (0.95, 3.25, 1.5), (0.97, 6.0, 4.0)),
]


def test_time_to_target_is_the_earliest_report_at_or_above_it_with_sub_second_precision():
    assert measure.time_to_target(TRIALS, 0.90, started_at=100.0) == pytest.approx(3.25)
    assert measure.time_to_target(TRIALS, 0.95, started_at=100.0) == pytest.approx(3.25)
    assert measure.time_to_target(TRIALS, 0.96, started_at=100.0) == pytest.approx(6.0)


def test_time_to_target_is_none_when_no_trial_gets_there():
    assert measure.time_to_target(TRIALS, 0.99, started_at=100.0) is None


def test_progress_is_the_best_so_far_at_each_improvement_across_trials():
    assert measure.progress(TRIALS, started_at=100.0) == [(2.0, 0.50), (3.25, 0.95), (6.0, 0.97)]
    assert measure.progress([], started_at=0.0) == []


def test_a_seeds_own_target_is_its_baseline_best_capped_at_98_percent():
    assert measure.seed_target(0.86) == 0.86
    assert measure.seed_target(0.99) == 0.98


def test_best_accuracy_and_trial_epochs_cover_every_report():
    assert measure.best_accuracy(TRIALS) == 0.97
    assert measure.trial_epochs(TRIALS) == 4
    assert measure.best_accuracy([]) == 0.0


def test_a_trials_compute_time_is_its_last_cumulative_report():
    assert TRIALS[1].compute_seconds == 4.0


def test_overhead_is_the_share_of_slot_time_outside_trial_code():
    # 6 s of trial compute in 2 slots over 4 s: 6 / 8 used, a quarter overhead.
    assert measure.overhead(TRIALS, fit_seconds=4.0, slots=2) == pytest.approx(0.25)


def test_overhead_rejects_a_zero_window():
    with pytest.raises(ValueError, match="fit_seconds"):
        measure.overhead(TRIALS, fit_seconds=0.0, slots=1)


@pytest.mark.parametrize(
    "cpus, gpus, cpt, gpt, trials, slots",
    [
        (2, 0, 2, 0, 8, 1),  # upstream's 2 CPUs per trial on 2 cores: one at a time
        (2, 0, 1, 0, 8, 2),
        (2, 0, 1, 0, 1, 1),  # never more slots than trials
        (16, 1, 1, 1, 8, 1),  # one GPU bounds it
        (16, 1, 1, 0.25, 8, 4),  # fractional GPUs share one
        (2, 0, 0.5, 0, 8, 4),
    ],
)
def test_concurrent_slots_follow_rays_packing_on_one_node(cpus, gpus, cpt, gpt, trials, slots):
    assert measure.concurrent_slots(cpus, gpus, cpt, gpt, trials) == slots


def test_common_target_is_the_lower_of_98_percent_and_the_worst_baseline_best():
    assert measure.common_target([0.91, 0.89, 0.93]) == 0.89
    assert measure.common_target([0.99, 0.995]) == 0.98


def test_common_target_needs_a_baseline_run():
    with pytest.raises(ValueError, match="baseline"):
        measure.common_target([])


def test_spread_gives_median_min_and_max():
    assert measure.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}


def test_spread_counts_never_as_slower_than_any_time():
    assert measure.spread([1.0, None, 2.0]) == {"median": 2.0, "min": 1.0, "max": None}
    assert measure.spread([None, 4.0]) == {"median": None, "min": 4.0, "max": None}


def test_ratio_is_none_when_either_side_is_missing():
    assert measure.ratio(10.0, 2.0) == 5.0
    assert measure.ratio(None, 2.0) is None
    assert measure.ratio(10.0, None) is None
