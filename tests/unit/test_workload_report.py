"""workloads.report: summary.json's content and trials.png, from hand-made trial records."""

from __future__ import annotations

import json

import pytest

from workloads import report
from workloads.report import COMPLETED, ERROR, STOPPED_EARLY, RunInfo, TrialRecord

TRIALS = [
    TrialRecord("a_00000", COMPLETED, {"lr": 0.01}, ((1, 0.80), (2, 0.95), (3, 0.97)), 9.0, "cpu"),
    TrialRecord("b_00001", STOPPED_EARLY, {"lr": 0.001}, ((1, 0.40),), 2.0, "cpu"),
    TrialRecord("c_00002", COMPLETED, {"lr": 0.02}, ((1, 0.90), (2, 0.98), (3, 0.96)), 8.0, "cpu"),
    TrialRecord("d_00003", ERROR, {"lr": 0.5}, (), 0.5, "", error="RuntimeError: boom"),
]
RUN = RunInfo(
    name="r",
    run_dir="/unused",
    wall_seconds=12.3456,
    ray_version="2.60.0",
    torch_version="2.13.0",
    resumed=False,
    settings={"num_samples": 4},
)


def test_the_summary_names_the_best_trial_by_its_best_epoch():
    summary = report.summarize(TRIALS, RUN)
    assert summary["best_accuracy"] == 0.98
    assert summary["best_trial_id"] == "c_00002"
    assert summary["best_config"] == {"lr": 0.02}


def test_the_summary_counts_trials_by_how_they_ended():
    summary = report.summarize(TRIALS, RUN)
    assert (summary["num_trials"], summary["num_errors"], summary["num_completed"], summary["num_stopped_early"]) == (
        4,
        1,
        2,
        1,
    )
    assert summary["total_epochs"] == 7
    assert summary["wall_seconds"] == 12.346
    assert summary["ray_version"] == "2.60.0" and summary["device"] == "cpu"


def test_each_trial_reports_final_and_best_accuracy_epochs_and_status():
    rows = {row["trial_id"]: row for row in report.summarize(TRIALS, RUN)["trials"]}
    assert rows["c_00002"] | {"history": None, "config": None} == {
        "trial_id": "c_00002",
        "status": COMPLETED,
        "epochs": 3,
        "final_accuracy": 0.96,
        "best_accuracy": 0.98,
        "compute_seconds": 8.0,
        "config": None,
        "history": None,
        "failures": 0,
        "error": None,
        "error_file": None,
        "path": "",
    }
    assert rows["d_00003"]["error"] == "RuntimeError: boom" and rows["d_00003"]["best_accuracy"] is None


def test_the_summary_records_when_the_search_ran_unrounded():
    window = report.SearchWindow(started_at=1_800_000_000.123456, seconds=61.987654)
    summary = report.summarize(TRIALS, RunInfo(**{**RUN.__dict__, "search": window}))
    assert (summary["fit_started_at"], summary["fit_seconds"]) == (window.started_at, window.seconds)
    assert (report.summarize(TRIALS, RUN)["fit_started_at"], report.summarize(TRIALS, RUN)["fit_seconds"]) == (
        None,
        None,
    )


def test_a_run_with_no_results_still_summarises():
    summary = report.summarize([], RUN)
    assert summary["best_accuracy"] is None and summary["num_trials"] == 0


def test_the_report_writes_json_and_a_png_into_the_run_directory(tmp_path):
    run = RunInfo(**{**RUN.__dict__, "run_dir": str(tmp_path)})
    summary_path, plot_path = report.write_report(TRIALS, run)
    assert summary_path == tmp_path / "summary.json" and plot_path == tmp_path / "trials.png"
    assert json.loads(summary_path.read_text())["best_trial_id"] == "c_00002"
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "trials.png"]  # no temp files


@pytest.mark.parametrize("trials", [[], TRIALS[3:], TRIALS[:1]])
def test_the_plot_copes_with_empty_and_single_trial_runs(tmp_path, trials):
    assert report.plot_trials(trials, tmp_path / "p.png", "t").stat().st_size > 0


def test_interrupted_and_retried_trials_are_told_apart_from_finished_ones():
    trials = [
        *TRIALS,
        TrialRecord("e_00004", report.INTERRUPTED, {"lr": 0.03}, ((1, 0.7),), 1.0, "cpu"),
        TrialRecord(
            "f_00005",
            COMPLETED,
            {"lr": 0.04},
            ((1, 0.8), (2, 0.9), (3, 0.95)),
            3.0,
            "cpu",
            failures=2,
            error_file="/mnt/results/r/f/error.txt",
        ),
    ]
    summary = report.summarize(trials, RunInfo(**{**RUN.__dict__, "num_samples": 6}))
    assert (
        summary["num_completed"],
        summary["num_stopped_early"],
        summary["num_interrupted"],
        summary["num_errors"],
        summary["num_retried"],
        summary["num_failures"],
    ) == (3, 1, 1, 1, 1, 2)
    assert summary["complete"] is False and summary["incomplete_reasons"] == ["1 trial interrupted"]
    rows = {row["trial_id"]: row for row in summary["trials"]}
    assert rows["f_00005"]["failures"] == 2 and rows["f_00005"]["error_file"] == "/mnt/results/r/f/error.txt"


@pytest.mark.parametrize(
    "changes, reasons",
    [
        ({"num_samples": 4}, []),
        ({"num_samples": 6}, ["2 of 6 trials never started"]),
        ({"num_samples": 4, "stopped_by": "SIGTERM"}, ["the driver was stopped by SIGTERM"]),
    ],
)
def test_a_run_is_incomplete_when_stopped_or_short_of_its_trials(changes, reasons):
    summary = report.summarize(TRIALS, RunInfo(**{**RUN.__dict__, **changes}))
    assert summary["incomplete_reasons"] == reasons and summary["complete"] is (not reasons)


def test_the_plot_shows_whole_epochs_and_enlarges_the_band_where_trials_end():
    fig = report.draw(TRIALS, "t")
    full, zoom = fig.axes
    assert zoom.get_ylim() == pytest.approx(report.ZOOM_BAND) and full.get_ylim() == pytest.approx((0.0, 1.0))
    for ax in (full, zoom):
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    # Both panels draw every trial with a history, in the same colours.
    lines = [[line for line in ax.get_lines() if len(line.get_xdata()) > 1] for ax in (full, zoom)]
    assert [line.get_color() for line in lines[0]] == [line.get_color() for line in lines[1]]
    import matplotlib.pyplot as plt

    plt.close(fig)
