"""bench/sweep.py's command without running a sweep: which sweeps of a stopped run get scored.

The plan and commands: tests/bench/test_plan.py; scoring: tests/bench/test_score.py; end to end:
tests/bench/test_sweep_quick.py."""

import pytest

from bench import sweep


def test_a_stopped_run_is_scored_on_the_most_approaches_then_the_most_seeds_that_all_finished():
    approaches, seeds = ("ours", "optuna", "baseline"), (0, 1, 2)
    # Seed 0 finished for all three; seed 1 (reversed order) only for the baseline and optuna.
    done = {("ours", 0), ("optuna", 0), ("baseline", 0), ("baseline", 1), ("optuna", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0,))
    done |= {("ours", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0, 1))
    with pytest.raises(ValueError, match="no approach"):
        sweep.complete_subset(set(), approaches, seeds)
