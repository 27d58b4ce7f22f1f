"""A sweep whose driver is killed mid-run continues when started again with the same name."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.workload.procs import descendants, kill_tree, sweep_command, wait_for, whole_trials, workload_env
from tests.workload.tune_reports import reports_so_far, state_saved_since

pytestmark = pytest.mark.slow

NUM_SAMPLES, MAX_EPOCHS = 6, 2


def finished_trials(run_dir: Path) -> dict[str, list[tuple]]:
    """Trials that reported their last epoch: {trial id: [(epoch, accuracy, wall_time)]}."""
    return {
        trial_id: [(r["epoch"], r["val_accuracy"], r["wall_time"]) for r in rows]
        for trial_id, rows in reports_so_far(run_dir).items()
        if rows[-1].get("epoch") == MAX_EPOCHS
    }


def test_a_killed_sweep_resumes_with_its_finished_trials_kept(data_dir, tmp_path):
    storage = tmp_path / "results"
    run_dir = storage / "interrupted"
    command = sweep_command(
        data_dir,
        storage,
        "interrupted",
        *whole_trials(NUM_SAMPLES, MAX_EPOCHS),
    )
    # Tune saves the experiment state at most every 10 s by default; every second keeps the test short.
    env = workload_env(TUNE_GLOBAL_CHECKPOINT_S="1")
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        tree: set[int] = set()
        try:
            done = wait_for(lambda: finished_trials(run_dir), 240, "a trial to finish", first)
            seen = time.time()
            wait_for(lambda: state_saved_since(run_dir, seen), 60, "Tune to save the run's state", first)
            tree = descendants(first.pid)
            assert first.poll() is None, "the sweep ended before it could be interrupted"
        finally:
            # SIGKILL the driver, then the local Ray it started: as if the head pod were lost.
            kill_tree(first, known=tree)
    before = finished_trials(run_dir)
    assert set(done) <= set(before) and len(before) < NUM_SAMPLES

    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=400)
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-4000:]
    assert f"Resuming {run_dir}" in output

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed"] is True
    assert summary["num_trials"] == NUM_SAMPLES
    assert summary["num_errors"] == 0
    trials = {t["trial_id"]: t for t in summary["trials"]}
    for name, rows in before.items():
        # The same trial, not re-run: its reports (down to their wall times) are those from before the kill.
        assert trials[name]["status"] == "completed"
        assert finished_trials(run_dir)[name] == rows
        assert trials[name]["history"] == [[epoch, accuracy] for epoch, accuracy, _ in rows]
    assert all(t["epochs"] == MAX_EPOCHS for t in summary["trials"])
