"""workloads.lease: one driver per run directory, across hosts, and a dead driver's run taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, replace

import pytest

from workloads import lease
from workloads.lease import Holder, Lease, RunInUse


def holder(**changes) -> Holder:
    now = time.time()
    base = Holder(
        token="t0",
        host="ray-tune-head-abcde",
        pid=4242,
        started=now - 60,
        heartbeat=now,
        ray_job_id="02000000",
        submission_id="raysubmit_XYZ",
    )
    return replace(base, **changes)


def write_lease(run_dir, h: Holder) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / lease.LEASE_FILE).write_text(json.dumps(asdict(h)))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_fresh_lease_of_another_host_refuses_the_run_and_names_its_holder(tmp_path):
    write_lease(tmp_path / "run", holder())
    with pytest.raises(RunInUse) as refused:
        Lease(tmp_path / "run", settle_seconds=0).acquire()
    message = str(refused.value)
    assert "pid 4242 on ray-tune-head-abcde" in message and "raysubmit_XYZ" in message
    assert "ray job stop" in message
    # The holder's lease is left as it was.
    assert lease.read(tmp_path / "run").token == "t0"


def test_a_lease_whose_heartbeat_stopped_is_taken_over(tmp_path):
    write_lease(tmp_path / "run", holder(heartbeat=time.time() - lease.STALE_SECONDS - 1))
    taken = Lease(tmp_path / "run", settle_seconds=0).acquire()
    try:
        assert taken.took_over.token == "t0"
        assert lease.read(tmp_path / "run").token == taken.holder.token
    finally:
        taken.release()


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    write_lease(tmp_path / "run", holder(host=socket.gethostname(), pid=dead_pid()))
    taken = Lease(tmp_path / "run", settle_seconds=0).acquire()
    taken.release()
    assert taken.took_over is not None


def test_a_live_process_on_this_host_keeps_its_lease(tmp_path):
    write_lease(tmp_path / "run", holder(host=socket.gethostname(), pid=os.getpid()))
    with pytest.raises(RunInUse):
        Lease(tmp_path / "run", settle_seconds=0).acquire()


def test_releasing_removes_only_our_own_lease(tmp_path):
    mine = Lease(tmp_path / "run", settle_seconds=0).acquire()
    mine.release()
    assert lease.read(tmp_path / "run") is None
    theirs = Lease(tmp_path / "run", settle_seconds=0).acquire()
    write_lease(tmp_path / "run", holder())  # another driver took it over meanwhile
    theirs.release()
    assert lease.read(tmp_path / "run").token == "t0"


def test_the_heartbeat_keeps_the_lease_fresh(tmp_path):
    held = Lease(tmp_path / "run", heartbeat_seconds=0.05, settle_seconds=0).acquire()
    try:
        first = lease.read(tmp_path / "run").heartbeat
        deadline = time.monotonic() + 10
        while lease.read(tmp_path / "run").heartbeat == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lease.read(tmp_path / "run").heartbeat > first
    finally:
        held.release()


def test_the_lease_names_the_ray_job_once_known(tmp_path):
    held = Lease(tmp_path / "run", settle_seconds=0).acquire()
    try:
        held.describe_job("03000000", "raysubmit_ABC")
        assert (lease.read(tmp_path / "run").ray_job_id, lease.read(tmp_path / "run").submission_id) == (
            "03000000",
            "raysubmit_ABC",
        )
    finally:
        held.release()


def test_a_torn_lease_file_does_not_block_the_run(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / lease.LEASE_FILE).write_text('{"token": ')
    Lease(tmp_path / "run", settle_seconds=0).acquire().release()


def test_the_stale_age_outlasts_the_results_volumes_metadata_cache():
    from manifests import volumes

    # A live driver's heartbeat, seen through another node's attribute cache, must never look stale.
    assert lease.STALE_SECONDS > lease.HEARTBEAT_SECONDS + volumes.RESULTS_CACHE_SECONDS


def test_a_volume_that_refuses_the_unlink_for_a_moment_still_ends_with_the_lease_removed(tmp_path, monkeypatch):
    # FUSE (rclone's VFS here, BlobFuse2 on AKS) can answer EIO while the last heartbeat still uploads.
    held = Lease(tmp_path / "run", settle_seconds=0).acquire()
    real_unlink, refusals = type(tmp_path).unlink, []

    def flaky_unlink(path, missing_ok=False):
        if path.name == lease.LEASE_FILE and len(refusals) < 2:
            refusals.append(path)
            raise OSError(5, "Input/output error")
        return real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(type(tmp_path), "unlink", flaky_unlink)
    monkeypatch.setattr(lease.time, "sleep", lambda seconds: None)
    held.release()
    assert len(refusals) == 2
    assert lease.read(tmp_path / "run") is None


def test_a_lease_that_will_not_go_is_left_to_expire_and_said_so_not_raised(tmp_path, monkeypatch, caplog):
    held = Lease(tmp_path / "run", settle_seconds=0).acquire()

    def refuse(path, missing_ok=False):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(type(tmp_path), "unlink", refuse)
    monkeypatch.setattr(lease.time, "sleep", lambda seconds: None)
    held.release()  # a finished run does not fail on its lease
    assert lease.read(tmp_path / "run") is not None
    assert any("cannot remove the run lease" in r.getMessage() for r in caplog.records)
