"""The sweep never loses or hides work: SIGTERM, a second driver, a trial that fails for good, bad data.

Each scenario runs the CLI as a subprocess on its own local Ray (`--local`), as a user or a job would.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.workload.procs import descendants, kill_tree, sweep_command, whole_trials, workload_env
from tests.workload.tune_reports import reports_so_far, state_saved_since
from workloads import data, stop

pytestmark = pytest.mark.slow

# Tune saves the experiment state at most every 10 s by default; every second keeps the tests short.
ENV = workload_env(TUNE_GLOBAL_CHECKPOINT_S="1")


# Ray gives a local node 30 s to register (ray/_private/node.py, raylet_start_wait_time_s); a loaded CI
# machine sometimes misses that before the sweep begins. That is no behaviour under test: start again.
RAY_START_TIMEOUT = "The current node timed out during startup"


def start(command: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)


def started_and_reporting(command: list[str], log: Path, run_dir: Path, timeout: float = 300):
    """Start the driver and wait for a trial's first report: (process, {trial: reports})."""
    for attempt in range(2):
        proc = start(command, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = reports_so_far(run_dir)
            if found:
                return proc, found
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        else:
            kill_tree(proc)
            pytest.fail(f"no trial reported within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        if RAY_START_TIMEOUT not in log.read_text() or attempt:
            pytest.fail(f"the driver exited with {proc.returncode} before any report:\n{log.read_text()[-3000:]}")
    raise AssertionError("unreachable")


def finish(proc: subprocess.Popen, log: Path, timeout: float) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        pytest.fail(f"the driver did not end within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
    return proc.returncode, log.read_text()


@pytest.fixture(scope="module")
def stopped_run(data_dir, tmp_path_factory):
    """A sweep stopped with SIGTERM mid-run (a second driver tried meanwhile), then run again to the end.

    Grace period = max epochs: ASHA never stops a trial, so a trial short of its epochs was interrupted.
    """
    tmp = tmp_path_factory.mktemp("stopped")
    storage, name = tmp / "results", "stopped"
    run_dir = storage / name
    command = sweep_command(data_dir, storage, name, *whole_trials(4, 3))
    outcome = {}
    log = tmp / "first.log"
    first, _ = started_and_reporting(command, log, run_dir)
    tree: set[int] = set()
    try:
        tree = descendants(first.pid)
        second = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=120)
        outcome["second"] = (second.returncode, second.stdout + second.stderr)
        outcome["first_pid"] = first.pid
        assert first.poll() is None, "the sweep ended before it could be stopped"
        outcome["signalled_at"] = time.time()
        first.send_signal(signal.SIGTERM)
        outcome["first"] = finish(first, log, 180)
    finally:
        kill_tree(first, known=tree)  # whatever is left of its local Ray
    outcome["before_resume"] = reports_so_far(run_dir)
    outcome["summary_after_stop"] = (
        json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else None
    )
    third = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=600)
    outcome["third"] = (third.returncode, third.stdout + third.stderr)
    outcome["summary"] = json.loads((run_dir / "summary.json").read_text())
    outcome["run_dir"] = run_dir
    return outcome


def test_a_second_driver_on_a_running_run_is_refused_naming_the_first(stopped_run):
    code, output = stopped_run["second"]
    assert code == stop.EXIT_RUN_IN_USE, output[-3000:]
    assert f"pid {stopped_run['first_pid']} on " in output
    assert "Starting" not in output and "Resuming" not in output  # refused before it touched the run


def test_sigterm_saves_the_state_and_writes_a_summary_marked_incomplete(stopped_run):
    code, output = stopped_run["first"]
    assert code == 128 + signal.SIGTERM, output[-3000:]
    summary = stopped_run["summary_after_stop"]
    assert summary is not None, output[-3000:]
    assert summary["complete"] is False and summary["stopped_by"] == "SIGTERM"
    assert any("SIGTERM" in reason for reason in summary["incomplete_reasons"])
    assert state_saved_since(stopped_run["run_dir"], stopped_run["signalled_at"])
    # A trial short of its epochs was interrupted: ASHA could not have stopped it (grace = max epochs).
    statuses = {t["status"] for t in summary["trials"] if t["epochs"] < 3}
    assert statuses <= {"interrupted"} and summary["num_stopped_early"] == 0
    assert summary["num_interrupted"] + summary["num_completed"] == summary["num_trials"]
    assert summary["num_interrupted"] >= 1


def test_the_stopped_run_resumes_to_the_end_with_no_trial_lost(stopped_run):
    code, output = stopped_run["third"]
    assert code == 0, output[-4000:]
    assert "Resuming" in output
    summary = stopped_run["summary"]
    assert summary["complete"] is True and summary["num_samples"] == 4
    assert summary["num_trials"] == 4 and summary["num_completed"] == 4
    after = reports_so_far(stopped_run["run_dir"])
    for trial, rows in stopped_run["before_resume"].items():
        # The same trial went on: its earlier reports are kept, not re-run from scratch.
        earlier = [(r.get("epoch"), r["wall_time"]) for r in rows]
        kept = [(r.get("epoch"), r["wall_time"]) for r in after.get(trial, [])][: len(rows)]
        assert kept == earlier, (trial, earlier, kept, output[-3000:])
    assert not (stopped_run["run_dir"] / "driver.lease.json").exists()


@pytest.fixture(scope="module")
def failing_run(data_dir, tmp_path_factory):
    """A sweep with --max-failures 0 whose trial loses its worker process: that trial fails for good."""
    tmp = tmp_path_factory.mktemp("failing")
    storage = tmp / "results"
    run_dir = storage / "failing"
    command = sweep_command(
        data_dir,
        storage,
        "failing",
        *whole_trials(2, 4),
        "--max-failures",
        "0",
    )
    proc, found = started_and_reporting(command, tmp / "run.log", run_dir)
    log = tmp / "run.log"
    tree: set[int] = set()
    try:
        victim, rows = next(iter(found.items()))
        tree = descendants(proc.pid)
        # The worker process that runs the trial (Tune reports its pid): as if its node were lost.
        subprocess.run(["kill", "-9", str(rows[-1]["pid"])], check=True)
        code, output = finish(proc, log, 300)
    finally:
        kill_tree(proc, known=tree)
    return {
        "code": code,
        "output": output,
        "victim": victim,
        "storage": storage,
        "summary": json.loads((run_dir / "summary.json").read_text()),
    }


def test_a_trial_that_fails_for_good_makes_the_run_exit_non_zero(failing_run):
    assert failing_run["code"] == stop.EXIT_TRIALS_FAILED, failing_run["output"][-3000:]
    summary = failing_run["summary"]
    assert summary["num_errors"] == 1 and summary["complete"] is True
    [failed] = [t for t in summary["trials"] if t["status"] == "error"]
    assert failed["trial_id"] == failing_run["victim"] and failed["failures"] == 1


def test_error_files_printed_and_summarised_are_on_the_storage_path(failing_run):
    storage = str(failing_run["storage"])
    [failed] = [t for t in failing_run["summary"]["trials"] if t["status"] == "error"]
    assert failed["error_file"].startswith(storage + "/") and Path(failed["error_file"]).is_file()
    mentioned = re.findall(r"(/\S*error\.txt)", failing_run["output"])
    assert mentioned, failing_run["output"][-3000:]
    assert all(path.startswith(storage + "/") for path in mentioned), mentioned


def test_corrupt_data_is_one_error_in_the_driver_before_any_trial(data_dir, tmp_path):
    bad = tmp_path / "datasets"
    (bad / "mnist").mkdir(parents=True)
    for split in data.SPLITS:
        buf = bytearray(data.pack_path(data_dir, split).read_bytes())
        if split == "val":
            buf[-1] ^= 0xFF  # one flipped byte in the payload
        data.pack_path(bad, split).write_bytes(bytes(buf))
    storage = tmp_path / "results"
    result = subprocess.run(
        sweep_command(bad, storage, "corrupt", "--num-samples", "2", "--max-epochs", "1"),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=240,
    )
    assert result.returncode == stop.EXIT_USAGE, (result.stdout + result.stderr)[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "checksum mismatch" in errors[0] and str(data.pack_path(bad, "val")) in errors[0]
    assert "prepare --force" in errors[0]
    assert not list(storage.glob("corrupt/train_mnist_*"))  # no trial ran, so none was retried
