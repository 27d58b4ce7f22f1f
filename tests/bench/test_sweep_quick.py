"""bench.sweep end to end in its quick modes: every approach really runs; the figures are not a benchmark.

Asserts structure and sanity only: every approach produced trials, accuracies lie in [0, 1], times are
positive, each target has a verdict, and the GPU mode without a GPU says so.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.plan import APPROACHES
from bench.score import TARGETS

REPO = Path(__file__).resolve().parents[2]


def run_sweep(tmp_path: Path, *flags: str) -> dict:
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sweep", *flags, "--out", str(out), "--work-dir", str(tmp_path / "work")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,  # five sweeps, each starting Ray
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.with_suffix(".png").stat().st_size > 0  # the time-to-accuracy picture beside the JSON
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> dict:
    return run_sweep(tmp_path_factory.mktemp("quick"), "--quick")


@pytest.mark.slow
def test_quick_mode_runs_every_approach_and_each_produces_trials(quick):
    assert sorted(r["approach"] for r in quick["runs"]) == sorted(APPROACHES)
    for run in quick["runs"]:
        assert run["trials"] >= 1 and run["trial_epochs"] >= run["trials"], run
        times = [t for t, _ in run["progress"]]
        assert times == sorted(times) and run["progress"][-1][1] == run["best_val_accuracy"]


@pytest.mark.slow
def test_quick_mode_reports_accuracies_in_0_1_and_positive_times(quick):
    for run in quick["runs"]:
        assert 0.0 <= run["best_val_accuracy"] <= 1.0
        for key in ("wall_seconds", "fit_seconds", "cpu_seconds", "compute_seconds"):
            assert run[key] > 0, (key, run)
        assert run["fit_seconds"] < run["wall_seconds"]
        assert run["overhead"] < 1.0


@pytest.mark.slow
def test_quick_mode_scores_both_against_a_target_the_baseline_reached(quick):
    assert 0.0 < quick["target"] <= 0.98
    baseline = [r for r in quick["runs"] if r["approach"] == "baseline"]
    assert all(r["time_to_target_s"] is not None and r["time_to_target_s"] > 0 for r in baseline)
    for approach in APPROACHES:
        stats = quick["approaches"][approach]["best_val_accuracy"]
        assert stats["min"] <= stats["median"] <= stats["max"]


@pytest.mark.slow
def test_quick_mode_gives_every_target_a_verdict(quick):
    assert [t["figure"] for t in quick["targets"]] == [figure for _, figure, _, _ in TARGETS]
    assert all(t["met"] in (True, False) for t in quick["targets"])


@pytest.mark.slow
def test_quick_mode_records_the_machine_and_the_command(quick):
    machine = quick["machine"]
    for key in (
        "date",
        "name",
        "cpu_model",
        "cores",
        "python",
        "ray",
        "torch",
        "load_average_before",
        "load_average_after",
    ):
        assert machine[key] not in (None, ""), key
    assert quick["command"].startswith("python -m bench.sweep --quick")
    assert all(r["command"] for r in quick["runs"])


@pytest.mark.slow
def test_gpu_mode_without_a_gpu_runs_tiny_on_the_cpu_and_says_so(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the real GPU mode is not a CI test")
    result = run_sweep(tmp_path, "--gpu", "--quick")
    assert result["plan"]["gpu"] and not result["plan"]["gpu_available"]
    assert "No GPU" in result["note"]
    for run in result["runs"]:
        assert run["gpu"] == {"available": False, "reason": run["gpu"]["reason"]}
        assert run["trial_epochs_per_device_second"] > 0
        assert run["train_samples_per_device_second"] > 0
