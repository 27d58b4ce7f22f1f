"""bench/records.py: what the benchmark scores is what the sweeps reported, read through public APIs.

The Tune side runs a real, tiny Tune experiment (a function trainable reporting a few metrics, seconds);
the Optuna study's own log and the search window files are written and read back.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

import pytest
import ray
from ray import tune

from bench import measure, records
from workloads import report
from workloads.callbacks import SearchClock

# (val_accuracy per epoch, epochs, peak GPU memory reported or None); 0 epochs: a trial that never reports.
TRIALS = [(0.5, 3, None), (0.25, 2, 4096), (0.1, 0, None)]


def reporting(config):
    """Reports like workloads' trainable: a first report without accuracy (skipped), then one per epoch."""
    started = time.perf_counter()
    accuracy, epochs, peak = TRIALS[config["trial"]]
    if epochs:
        tune.report({"warming_up": True})
    for epoch in range(1, epochs + 1):
        metrics = {
            "epoch": epoch,
            "val_accuracy": accuracy + epoch / 100,
            "wall_time": time.time(),
            "compute_seconds": time.perf_counter() - started,
        }
        if peak is not None:
            metrics["peak_gpu_memory_bytes"] = peak * epoch
        tune.report(metrics)


class Recorder(tune.Callback):
    """What Tune itself got from each trial, as its public callback API hands it over."""

    started: ClassVar[list[str]] = []
    results: ClassVar[list[tuple[str, dict]]] = []

    def on_trial_start(self, iteration, trials, trial, **info):
        Recorder.started.append(trial.trial_id)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        Recorder.results.append((trial.trial_id, dict(result)))


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    storage = tmp_path_factory.mktemp("tune")
    Recorder.started, Recorder.results = [], []
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, configure_logging=False)
    try:
        tune.Tuner(
            tune.with_resources(reporting, {"cpu": 1}),
            param_space={"trial": tune.grid_search(list(range(len(TRIALS))))},
            run_config=tune.RunConfig(
                name="tiny", storage_path=str(storage), verbose=0, callbacks=[Recorder(), SearchClock()]
            ),
        ).fit()
    finally:
        ray.shutdown()
    return storage / "tiny"


@pytest.mark.slow
def test_the_trials_read_are_the_reports_tune_received(experiment):
    expected = [
        measure.Trial(
            trial_id,
            tuple(
                measure.Report(r["epoch"], r["val_accuracy"], r["wall_time"], r["compute_seconds"])
                for seen, r in Recorder.results
                if seen == trial_id and "val_accuracy" in r
            ),
        )
        for trial_id in sorted(Recorder.started)
    ]
    assert [len(t.reports) for t in expected] != [0] * len(TRIALS)  # the trainable did report
    assert records.read_trials("ours", experiment) == expected  # exactly: ids, epochs, floats, order
    assert sorted(len(t.reports) for t in expected) == sorted(epochs for _, epochs, _ in TRIALS)


@pytest.mark.slow
def test_the_baseline_is_read_by_its_own_accuracy_key(experiment):
    # Our tiny trainable reports no mean_accuracy: every trial is there, with no report to score.
    trials = records.read_trials("baseline", experiment)
    assert len(trials) == len(TRIALS) and all(t.reports == () for t in trials)


@pytest.mark.slow
def test_the_peak_gpu_memory_is_the_highest_any_trial_reported(experiment):
    assert records.peak_gpu_memory(experiment) == max(p * e for _, e, p in TRIALS if p is not None)


@pytest.mark.slow
def test_the_search_window_is_tunes_own_start_and_last_save(experiment):
    window = SearchClock.last_window()
    assert window is not None and window.seconds > 0
    walls = [r["wall_time"] for _, r in Recorder.results if "wall_time" in r]
    assert window.started_at < min(walls) and max(walls) < window.started_at + window.seconds
    # The figures the benchmark read before, from Tune's internal experiment state file (so this test reads
    # the file itself): its start stamp and its last write. The window must stay within 50 ms of both.
    [state] = experiment.glob("experiment_state-*.json")
    assert window.started_at == pytest.approx(json.loads(state.read_text())["stats"]["start_time"], abs=0.05)
    assert window.started_at + window.seconds == pytest.approx(state.stat().st_mtime, abs=0.05)


def test_the_window_comes_from_the_scripts_search_file_or_else_ours_summary(tmp_path):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
    records.write_search(tmp_path / "a", report.SearchWindow(50.0, 7.5), n_jobs=2)
    assert records.fit_window(tmp_path / "a") == (50.0, 7.5) and records.read_search(tmp_path / "a")["n_jobs"] == 2
    run = report.RunInfo("b", str(tmp_path / "b"), 9.0, "2.60.0", "t", False, search=report.SearchWindow(60.0, 4.25))
    report.write_json(tmp_path / "b" / report.SUMMARY_FILE, report.summarize([], run))
    assert records.fit_window(tmp_path / "b") == (60.0, 4.25)


def test_a_sweep_that_left_no_window_is_an_error_that_names_its_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        records.fit_window(tmp_path)
    with pytest.raises(RuntimeError, match=str(tmp_path)):
        records.write_search(tmp_path, None)


def test_the_optuna_studys_log_reads_back_as_its_trials_in_trial_order(tmp_path):
    for number, rows in ((1, [(1, 0.5, 10.0, 1.0)]), (0, [(1, 0.75, 11.0, 2.0), (2, 0.875, 12.5, 3.5)])):
        with records.OptunaTrialLog(tmp_path, number) as log:
            for epoch, accuracy, wall, compute in rows:
                log.write(epoch, accuracy, wall, compute, {"lr": 0.01})
    assert records.read_trials("optuna", tmp_path) == [
        measure.Trial("trial_000", (measure.Report(1, 0.75, 11.0, 2.0), measure.Report(2, 0.875, 12.5, 3.5))),
        measure.Trial("trial_001", (measure.Report(1, 0.5, 10.0, 1.0),)),
    ]
