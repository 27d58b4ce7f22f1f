"""What our code relies on from the results volume, checked on the Blob tier's stand-in mount.

BlobFuse2's file cache uploads a written file before close() returns (tests/blob/azurite.py says where),
so a file the driver or a trial has closed is in the container for every other node, and a rename moves
a blob that is there. The run's summary (workloads.files.publish) and its lease (workloads.lease) are
written so. The mount here is the one each Ray node of tests/blob/test_blob_tier.py gets, read back from
Azurite's REST API the moment a call returns, never through a mount.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from settings import RESULTS_CONTAINER
from tests.blob.azurite import Blob, mount_command, rclone_errors, require
from tests.workload.procs import wait_for
from workloads import files, lease

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mounted():
    """Azurite and the results container mounted as a Ray node mounts it; yields (blob, mount path, what
    rclone said went wrong)."""
    require("azurite-blob", "rclone", "fusermount3")
    work = Path(tempfile.mkdtemp(prefix="ray-aks-mount-"))
    blob = Blob(work)
    path = work / "results"
    path.mkdir()
    log = work / "rclone.log"
    subprocess.run(
        mount_command(RESULTS_CONTAINER, path, work / "cache", log), env={**os.environ, **blob.env}, check=True
    )
    try:
        wait_for(lambda: os.path.ismount(path), 30, "the rclone mount")
        yield blob, path, lambda: rclone_errors([log])
    finally:
        subprocess.run(["fusermount3", "-u", "-z", str(path)], check=False)
        blob.close()


def test_a_file_is_in_the_container_when_its_close_returns(mounted):
    blob, root, errors = mounted
    data = os.urandom(4 * 1024 * 1024)
    (root / "closed").mkdir(exist_ok=True)
    with open(root / "closed" / "checkpoint.bin", "wb") as f:
        f.write(data)
    assert blob.get(RESULTS_CONTAINER, "closed/checkpoint.bin") == data, errors()


def test_a_published_file_is_in_the_container_under_its_name_each_time_and_nothing_else_is(mounted):
    blob, root, errors = mounted
    (root / "published").mkdir(exist_ok=True)
    for version in range(10):
        data = f'{{"version": {version}}}\n'.encode() * 1000
        files.publish(root / "published" / "summary.json", data)
        assert blob.get(RESULTS_CONTAINER, "published/summary.json") == data, (version, errors())
    assert blob.files(RESULTS_CONTAINER, "published") == ["summary.json"]  # no temporary file left behind


def test_a_lease_released_by_one_driver_is_taken_and_held_by_the_next(mounted):
    blob, root, errors = mounted
    run_dir = root / "leased"
    for driver in range(4):
        held = lease.Lease(run_dir, settle_seconds=0.2).acquire()  # raises RunInUse if the lease vanished
        try:
            content = blob.get(RESULTS_CONTAINER, f"leased/{lease.LEASE_FILE}")
            assert content is not None and held.holder.token in content.decode(), (driver, errors())
        finally:
            held.release()
        assert blob.get(RESULTS_CONTAINER, f"leased/{lease.LEASE_FILE}") is None, (driver, errors())
