"""A real Ray Tune sweep on a local two-CPU Ray: trials, checkpoints, metrics, summary and plot."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import ray

from workloads import defaults, report, results, trainable
from workloads.sweep import SEARCHED, Sweep

pytestmark = pytest.mark.slow

# The benchmark (bench/) reads these from every report.
REPORTED = {"val_accuracy", "val_loss", "epoch", "compute_seconds", "wall_time"}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def finished_sweep(local_ray, data_dir, tmp_path_factory):
    """One sweep shared by this module's tests: 3 trials of up to 3 epochs, two at a time."""
    sweep = Sweep(
        name="small",
        data_dir=data_dir,
        storage_path=tmp_path_factory.mktemp("results"),
        num_samples=3,
        max_epochs=3,
        grace_period=1,
        checkpoint_every=2,
    )
    trials, search = trainable.run(sweep, gpus_per_trial=0.0, max_concurrent=2, resume=False)
    run = report.RunInfo(
        name=sweep.name,
        run_dir=str(sweep.run_dir),
        wall_seconds=1.0,
        ray_version=ray.__version__,
        torch_version="test",
        resumed=False,
        search=search,
    )
    summary_path, plot_path = report.write_report(trials, run)
    return sweep, trials, json.loads(summary_path.read_text()), plot_path


@pytest.fixture(scope="module")
def reported(finished_sweep) -> dict[str, list[dict]]:
    """{trial id: its reports}, through Tune's public ExperimentAnalysis."""
    return results.trial_reports(finished_sweep[0].run_dir)


def test_a_small_sweep_learns_well_above_chance(finished_sweep):
    _, trials, summary, _ = finished_sweep
    assert len(trials) == 3
    assert summary["num_errors"] == 0
    assert summary["best_accuracy"] > 0.5
    assert summary["best_config"].keys() == set(SEARCHED)


def test_every_report_carries_the_metrics_the_benchmark_reads(finished_sweep, reported):
    _, trials, _, _ = finished_sweep
    assert set(reported) == {trial.trial_id for trial in trials}
    for trial in trials:
        rows = reported[trial.trial_id]
        assert rows and all(row.keys() >= REPORTED for row in rows)
        assert [row["epoch"] for row in rows] == list(range(1, len(rows) + 1))
        assert all(0.0 <= row["val_accuracy"] <= 1.0 for row in rows)
        compute = [row["compute_seconds"] for row in rows]
        assert compute == sorted(compute) and compute[0] > 0
        assert all(isinstance(row["wall_time"], float) for row in rows)


def test_the_summary_records_when_the_search_ran_around_every_report(finished_sweep, reported):
    _, _, summary, _ = finished_sweep
    walls = [row["wall_time"] for rows in reported.values() for row in rows]
    assert summary["fit_started_at"] < min(walls)
    assert max(walls) < summary["fit_started_at"] + summary["fit_seconds"]


def test_trials_checkpoint_every_n_epochs_and_on_the_last(finished_sweep, reported):
    _, trials, _, _ = finished_sweep
    for trial in trials:
        saved = {row["epoch"] for row in reported[trial.trial_id] if row.get("checkpoint_dir_name")}
        expected = {epoch for epoch in range(1, trial.epochs + 1) if epoch % 2 == 0 or epoch == 3}
        assert saved == expected, trial.trial_id
        # The checkpoints themselves, on the storage path (the files, so read as files).
        assert len(list(Path(trial.path).glob("checkpoint_*"))) == len(saved)


def test_trials_reuse_the_two_worker_processes(reported):
    pids = {row["pid"] for rows in reported.values() for row in rows}
    assert len(pids) <= 2


def test_the_summary_lists_every_trial_with_its_status_and_accuracies(finished_sweep):
    _, _, summary, plot = finished_sweep
    assert summary["num_trials"] == len(summary["trials"]) == 3
    for row in summary["trials"]:
        assert row["status"] in {report.COMPLETED, report.STOPPED_EARLY}
        assert row["epochs"] == len(row["history"]) >= 1
        assert row["best_accuracy"] >= row["final_accuracy"] - 1e-12
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_trial_marks_its_start_in_its_workers_log_files_for_the_log_forwarder(finished_sweep):
    # Ray writes a worker's stdout and stderr to worker-*.out/.err under its session's logs; the Ray pods'
    # log forwarder labels the lines after the marker with the trial (manifests/log_forwarder.py).
    _, trials, _, _ = finished_sweep
    logs = list(Path(tempfile.gettempdir(), "ray").glob("session_*/logs/worker-*"))
    text = "\n".join(path.read_text(errors="replace") for path in logs if path.suffix in (".out", ".err"))
    for trial in trials:
        for_trial = f"{defaults.TRIAL_LOG_MARKER}{trial.trial_id}\n"
        assert text.count(for_trial) >= 2, trial.trial_id  # once in .out, once in .err
