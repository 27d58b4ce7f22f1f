"""The log forwarder itself (manifests/log_forwarder.py), run as the sidecar runs it: Ray's log files to JSON lines."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from manifests import log_forwarder, log_sidecar
from workloads import defaults

WORKER_OUT = "worker-" + "ab" * 28 + "-02000000-4242.out"
WORKER_ERR = WORKER_OUT[:-4] + ".err"


class RunningForwarder:
    """The sidecar's command, with this interpreter and a temporary Ray temp dir; its stdout parsed."""

    def __init__(self, root: Path, state: Path, interval: float = 0.05):
        command = log_sidecar.log_forwarder_command(str(root), str(state.parent))
        assert command[0] == "python"
        command = [sys.executable, *command[1:], "--interval", str(interval)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.records: list[dict] = []
        self.stderr: list[bytes] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.records, json.loads), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr, bytes), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        # It says what it follows once its stop signals are in hand (a SIGTERM before that kills it).
        self._until(lambda: bool(self.stderr), "the forwarder did not start")
        assert self.stderr[0].startswith(b"following " + str(root).encode()), self.stderr

    @staticmethod
    def _read(stream, into: list, parse) -> None:
        for raw in stream:
            into.append(parse(raw))

    def _until(self, condition, why: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, b"".join(self.stderr).decode()
            assert time.monotonic() < deadline, why
            time.sleep(0.02)

    def lines(self, file: str) -> list[str]:
        return [r["line"] for r in list(self.records) if r["file"] == file]

    def wait_for(self, file: str, lines: list[str]) -> None:
        self._until(lambda: self.lines(file) == lines, f"{file}: {self.lines(file)} != {lines}")

    def stop(self) -> float:
        """SIGTERM, as the kubelet sends; how long it took to exit (all its output read)."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        returncode = self.process.wait(timeout=15)
        for reader in self._readers:
            reader.join(timeout=15)
        assert returncode == 0, b"".join(self.stderr).decode()
        return time.monotonic() - sent


@pytest.fixture
def ray_temp(tmp_path) -> Path:
    root = tmp_path / "ray"
    root.mkdir()
    (tmp_path / "state").mkdir()
    return root


def new_session(root: Path, name: str = "session_2026-12-02_10-00-00_000000_1") -> Path:
    """What `ray start` makes: the session's logs folder and the session_latest symlink to it."""
    logs = root / name / "logs"
    logs.mkdir(parents=True)
    latest = root / "session_latest"
    if latest.is_symlink():
        latest.unlink()
    latest.symlink_to(name)
    return logs


def append(path: Path, text: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


def test_the_forwarder_follows_ray_files_that_appear_later_and_lines_appended_to_them(ray_temp):
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    try:
        time.sleep(0.3)  # started before Ray: no session yet
        logs = new_session(ray_temp)
        # A trial's actor: Ray's magic line names it, then what it prints.
        append(logs / WORKER_OUT, ":actor_name:train_mnist\nepoch 1: val_accuracy 0.91\n")
        append(logs / "raylet.out", "[raylet] INFO chatter that stays in the pod\n")
        running.wait_for(WORKER_OUT, ["epoch 1: val_accuracy 0.91"])
        append(logs / WORKER_OUT, "epoch 2: val_accuracy 0.95\n")
        append(logs / WORKER_ERR, ":actor_name:train_mnist\nTraceback (most recent call last):\n")
        append(logs / WORKER_ERR, '  File "trainable.py", line 1\nRuntimeError: CUDA out of memory\n')
        append(logs / "job-driver-raysubmit_abc.log", "[sweep] 4 trials: 2 running, 2 terminated\n")
        append(logs / "python-core-worker-ab_4242.log", "C++ INFO that stays in the pod\n")
        running.wait_for(WORKER_OUT, ["epoch 1: val_accuracy 0.91", "epoch 2: val_accuracy 0.95"])
        running.wait_for(
            WORKER_ERR,
            [
                "Traceback (most recent call last):",
                '  File "trainable.py", line 1',
                "RuntimeError: CUDA out of memory",
            ],
        )
        running.wait_for("job-driver-raysubmit_abc.log", ["[sweep] 4 trials: 2 running, 2 terminated"])
    finally:
        running.stop()
    files = {r["file"] for r in running.records}
    assert files == {WORKER_OUT, WORKER_ERR, "job-driver-raysubmit_abc.log"}  # once: session_latest skipped
    trial_lines = [r for r in running.records if r["file"] in (WORKER_OUT, WORKER_ERR)]
    assert all(r["pid"] == 4242 and r["job"] == "02000000" and r["actor"] == "train_mnist" for r in trial_lines)
    assert [r["n"] for r in running.records if r["file"] == WORKER_ERR] == [1, 2, 3]


def test_rotated_and_truncated_files_lose_no_line_and_repeat_none(ray_temp):
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    logs = new_session(ray_temp)
    try:
        append(logs / WORKER_OUT, "one\ntwo\n")
        append(logs / "raylet.err", "first life\n")
        running.wait_for(WORKER_OUT, ["one", "two"])
        running.wait_for("raylet.err", ["first life"])
        # Rotation by rename (Ray with RAY_ROTATION_MAX_BYTES): the old file gains a last line after the
        # forwarder last read it, then the name starts over.
        append(logs / WORKER_OUT, "three\n")
        (logs / WORKER_OUT).rename(logs / (WORKER_OUT + ".1"))
        append(logs / WORKER_OUT, "four\n")
        # Truncation in place.
        (logs / "raylet.err").write_text("second life\n")
        running.wait_for(WORKER_OUT, ["one", "two", "three", "four"])
        running.wait_for("raylet.err", ["first life", "second life"])
    finally:
        running.stop()


def test_on_sigterm_the_forwarder_forwards_the_last_lines_an_unterminated_one_included(ray_temp):
    logs = new_session(ray_temp)
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json", interval=60)
    time.sleep(0.3)  # its first poll is done: it waits a minute for the next
    append(logs / WORKER_ERR, "a last traceback line\nwritten without a newline")
    # As the kubelet stops it after the Ray container: the wait ends at once and the last lines come out.
    assert running.stop() < 10
    assert running.lines(WORKER_ERR) == ["a last traceback line", "written without a newline"]
    assert [r.get("partial", False) for r in running.records] == [False, True]


def test_a_restarted_forwarder_resumes_where_it_stopped(ray_temp):
    state = ray_temp.parent / "state" / "state.json"
    logs = new_session(ray_temp)
    first = RunningForwarder(ray_temp, state)
    append(logs / WORKER_OUT, ":actor_name:train_mnist\nbefore\n")
    first.wait_for(WORKER_OUT, ["before"])
    first.stop()
    append(logs / WORKER_OUT, "while it was down\n")
    second = RunningForwarder(ray_temp, state)
    try:
        second.wait_for(WORKER_OUT, ["while it was down"])
        time.sleep(0.3)
    finally:
        second.stop()
    assert second.lines(WORKER_OUT) == ["while it was down"]
    (record,) = second.records
    assert record["n"] == 2 and record["actor"] == "train_mnist"


def test_long_lines_are_cut_and_bytes_that_are_not_utf8_replaced(ray_temp):
    logs = new_session(ray_temp)
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    long_line = "x" * (log_forwarder.MAX_LINE_BYTES * 2 + 10)
    try:
        append(logs / WORKER_OUT, long_line.encode() + b"\n" + b"caf\xe9 \xff\n")
        running.wait_for(
            WORKER_OUT,
            ["x" * log_forwarder.MAX_LINE_BYTES, "x" * log_forwarder.MAX_LINE_BYTES, "x" * 10, "caf\ufffd \ufffd"],
        )
    finally:
        running.stop()
    assert [r.get("partial", False) for r in running.records] == [True, True, False, False]


def test_a_file_closed_while_idle_and_then_rotated_is_read_to_its_end(tmp_path, monkeypatch):
    # In process, with no idle time: the forwarder closes a quiet file's descriptor, and finds the rest of
    # it under <name>.1 after a rotation.
    monkeypatch.setattr(log_forwarder, "IDLE_CLOSE_SECONDS", 0.0)
    logs = new_session(tmp_path)
    out = io.BytesIO()
    forwarder = log_forwarder.Forwarder(str(tmp_path), log_forwarder.PATTERNS, None, out)
    append(logs / WORKER_OUT, "one\n")
    forwarder.poll()
    assert forwarder.files[str(logs / WORKER_OUT)].fd is None
    append(logs / WORKER_OUT, "two\n")
    (logs / WORKER_OUT).rename(logs / (WORKER_OUT + ".1"))
    append(logs / WORKER_OUT, "three\n")
    forwarder.poll()
    assert [json.loads(line)["line"] for line in out.getvalue().splitlines()] == ["one", "two", "three"]


def test_every_line_a_reused_worker_prints_for_a_trial_carries_that_trials_id(ray_temp):
    # workloads/trainable.py prints the marker first in each trial; a reused worker runs several trials.
    marker = defaults.TRIAL_LOG_MARKER
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    try:
        logs = new_session(ray_temp)
        append(logs / WORKER_OUT, f":actor_name:train_mnist\n{marker}a1b2c_00000\nepoch 1\nepoch 2\n")
        append(logs / WORKER_OUT, f"{marker}a1b2c_00003\nepoch 1\n:actor_name:other\nunrelated\n")
        running.wait_for(WORKER_OUT, ["epoch 1", "epoch 2", "epoch 1", "unrelated"])
    finally:
        running.stop()
    assert [(r.get("trial"), r["line"]) for r in running.records if r["file"] == WORKER_OUT] == [
        ("a1b2c_00000", "epoch 1"),
        ("a1b2c_00000", "epoch 2"),
        ("a1b2c_00003", "epoch 1"),
        (None, "unrelated"),  # a new actor: no trial's line
    ]


def test_lines_carry_the_job_and_actor_or_task_ray_names_in_the_file_and_not_the_magic_lines(tmp_path):
    # As Ray 2.60 writes them: a worker started ahead of any job has job id ffffffff in its name, then
    # a `:job_id:` line; `:actor_name:` and `:task_name:` precede what each actor or task prints.
    logs = new_session(tmp_path)
    name = "worker-" + "cd" * 28 + "-ffffffff-77.err"
    append(logs / name, ":job_id:03000000\n:task_name:prepare\nloading\n:actor_name:train_mnist\nepoch 1\n")
    out = io.BytesIO()
    log_forwarder.Forwarder(str(tmp_path), log_forwarder.PATTERNS, None, out).poll()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records == [
        {"file": name, "pid": 77, "job": "03000000", "task": "prepare", "n": 1, "line": "loading"},
        {"file": name, "pid": 77, "job": "03000000", "actor": "train_mnist", "n": 2, "line": "epoch 1"},
    ]
