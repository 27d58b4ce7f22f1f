"""bench/sweep.py's command without running a sweep: which sweeps of a stopped run get scored.

The plan and commands: tests/bench/test_plan.py; scoring: tests/bench/test_score.py; end to end:
tests/bench/test_sweep_quick.py."""

import json

import pytest

from bench import measure, records, report, sweep


def test_a_stopped_run_is_scored_on_the_most_approaches_then_the_most_seeds_that_all_finished():
    approaches, seeds = ("ours", "optuna", "baseline"), (0, 1, 2)
    # Seed 0 finished for all three; seed 1 (reversed order) only for the baseline and optuna.
    done = {("ours", 0), ("optuna", 0), ("baseline", 0), ("baseline", 1), ("optuna", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0,))
    done |= {("ours", 1)}
    assert sweep.complete_subset(done, approaches, seeds) == (("ours", "optuna", "baseline"), (0, 1))
    with pytest.raises(ValueError, match="no approach"):
        sweep.complete_subset(set(), approaches, seeds)


MACHINE = dict(
    name="m", date="2026-12-02", cpu_model="cpu", cores=2, python="3.11", ray="r", torch="t", load_average_before=[0.0]
)


def test_a_rescore_scores_only_the_seeds_every_kept_approach_finished(tmp_path, monkeypatch, capsys):
    # optuna finished seed 1, ours did not: both approaches are kept for seed 0 alone, and optuna's seed 1
    # (three times as slow) must not reach the medians.
    def trials(approach, run_dir):
        at = 3.0 if run_dir.name.endswith("seed1") else 1.0
        return [measure.Trial("t0", (measure.Report(1, 0.985, 1000.0 + at, 1.0),))]

    monkeypatch.setattr(records, "read_trials", trials)
    monkeypatch.setattr(report, "plot", lambda result, path: path)
    figures = dict(started_at=990.0, fit_started_at=1000.0, load_average_after=[0.0, 0.0, 0.0], best_val_accuracy=0.985)
    figures |= {key: 1.0 for key in ("wall_seconds", "fit_seconds", "cpu_seconds", "cpu_seconds_trial_workers")}
    figures |= dict(overhead=0.01, trials=1, trials_full_length=1, trial_epochs=1, compute_seconds=1.0)
    runs = [{"approach": a, "seed": s, **figures} for a, s in (("ours", 0), ("optuna", 0), ("optuna", 1))]
    plan = {"num_samples": 2, "max_epochs": 1, "seeds": [0, 1], "approaches": ["ours", "optuna"]}
    partial = tmp_path / "r.partial.json"
    partial.write_text(json.dumps({"machine": MACHINE, "plan": plan, "runs": runs}))

    assert sweep.rescore(partial, tmp_path / "runs", tmp_path / "r.json", []) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert [(r["approach"], r["seed"]) for r in result["runs"]] == [("ours", 0), ("optuna", 0)]
    assert result["approaches"]["optuna"]["time_to_98_s"]["max"] == pytest.approx(1.0)
    assert "left out, finished for too few seeds: [('optuna', 1)]" in result["note"]
