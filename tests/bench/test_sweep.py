"""bench/sweep.py's pieces that need no Ray: the plan, the GPU mode's data, the commands, Tune's files."""

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench import sweep


def args(**overrides):
    base = dict(quick=False, gpu=False, num_samples=None, max_epochs=None, seeds=None)
    return argparse.Namespace(**{**base, **overrides})


def test_the_full_plan_is_the_workloads_default_16_trials_by_10_epochs_over_3_seeds():
    plan = sweep.plan_from_args(args(), gpu_name=None)
    assert (plan.num_samples, plan.max_epochs, plan.seeds) == (16, 10, (0, 1, 2))


def test_quick_mode_is_one_seed_of_a_tiny_sweep():
    plan = sweep.plan_from_args(args(quick=True), gpu_name=None)
    assert plan.seeds == (0,) and plan.num_samples * plan.max_epochs <= 4


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


def test_ours_runs_with_the_workloads_defaults_and_only_the_shared_budget():
    plan = sweep.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = sweep.command("ours", plan, 0, Path("/d"), Path("/s"))
    assert cmd[1:4] == ["-m", "workloads.tune", "--local"]
    assert "--cpus-per-trial" not in cmd and "--gpus-per-trial" not in cmd
    assert cmd[cmd.index("--num-samples") + 1] == "8" and cmd[cmd.index("--max-epochs") + 1] == "10"


def test_the_baseline_keeps_upstreams_two_cpus_per_trial():
    plan = sweep.Plan(num_samples=8, max_epochs=10, seeds=(0,))
    cmd = sweep.command("baseline", plan, 3, Path("/d"), Path("/s"))
    assert cmd[1:3] == ["-m", "bench.baseline"]
    assert cmd[cmd.index("--cpus-per-trial") + 1] == "2" and cmd[cmd.index("--seed") + 1] == "3"


def write_experiment(root: Path, start: float, end: float, rows_by_trial: dict) -> Path:
    root.mkdir(parents=True)
    for trial, rows in rows_by_trial.items():
        (root / trial).mkdir()
        (root / trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    state = root / "experiment_state-2026-01-01_00-00-00.json"
    state.write_text(json.dumps({"stats": {"start_time": start}}))
    os.utime(state, (end, end))
    return root


def test_trials_and_the_fit_window_come_from_tunes_own_files(tmp_path):
    experiment = write_experiment(tmp_path / "exp", 1000.0, 1012.5, {
        "t1": [{"epoch": 1, "val_accuracy": 0.9, "wall_time": 1003.25, "compute_seconds": 1.5},
               {"epoch": 2, "val_accuracy": 0.95, "wall_time": 1004.5, "compute_seconds": 2.5}],
        "t2": [{"training_iteration": 1, "val_accuracy": 0.5, "wall_time": 1006.0, "compute_seconds": 1.0}],
    })
    trials = sweep.read_trials(experiment, "val_accuracy")
    assert [len(t.reports) for t in trials] == [2, 1]
    assert trials[0].reports[0].wall_time == 1003.25 and trials[1].reports[0].epoch == 1
    assert sweep.fit_window(experiment) == pytest.approx((1000.0, 12.5))


def test_a_missing_experiment_state_is_an_error_that_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        sweep.fit_window(tmp_path)
