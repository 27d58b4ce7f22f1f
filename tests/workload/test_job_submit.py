"""The cluster path: `ray start --head` on loopback, then `ray job submit` of the tuning CLI."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.workload.procs import REPO, free_port, kill_tree, ray_head_ports, wait_for, workload_env

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))


@pytest.fixture
def head(tmp_path):
    """A one-node Ray cluster with a dashboard on loopback; every port free, so it coexists with others.

    Token auth on, as on the cluster, with a token of its own (not the user's ~/.ray/auth_token).
    """
    env = workload_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    dashboard_port = free_port()
    # A short temp dir: Ray's unix socket paths must stay under ~107 characters.
    temp_dir = Path(subprocess.check_output(["mktemp", "-d", "/tmp/rayt-XXXXXX"], text=True).strip())
    ports = ray_head_ports(free_port(), dashboard_port)
    command = [
        RAY,
        "start",
        "--head",
        "--block",
        "--node-ip-address",
        "127.0.0.1",
        "--dashboard-host",
        "127.0.0.1",
        "--include-dashboard",
        "true",
        "--num-cpus",
        "2",
        "--num-gpus",
        "0",
        "--disable-usage-stats",
        "--temp-dir",
        str(temp_dir),
        *[str(x) for pair in ports.items() for x in pair],
    ]
    log = (tmp_path / "ray-start.log").open("w")
    # --block keeps every Ray daemon a descendant of this process, so the finalizer can kill exactly them.
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{dashboard_port}"
    try:
        wait_for(lambda: _jobs_api_up(address, env["RAY_AUTH_TOKEN"]), 120, "the Ray dashboard's job API", proc)
        yield address, env
    finally:
        kill_tree(proc)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _jobs_api_up(address: str, token: str) -> bool:
    request = urllib.request.Request(f"{address}/api/version", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_job_submitted_to_a_ray_head_runs_the_sweep_and_writes_a_summary(head, data_dir, tmp_path):
    address, env = head
    # Upload only what the job needs, as docs/workload.md does with --working-dir and excludes.
    working_dir = tmp_path / "job"
    shutil.copytree(REPO / "workloads", working_dir / "workloads", ignore=shutil.ignore_patterns("__pycache__"))
    storage = tmp_path / "results"
    storage.mkdir()
    result = subprocess.run(
        [
            RAY,
            "job",
            "submit",
            "--address",
            address,
            "--working-dir",
            str(working_dir),
            "--",
            "python",
            "-m",
            "workloads.tune",
            "--data-dir",
            str(data_dir),
            "--storage-path",
            str(storage),
            "--name",
            "job-1",
            "--num-samples",
            "2",
            "--max-epochs",
            "2",
            "--grace-period",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "succeeded" in output, output[-4000:]
    summary = json.loads((storage / "job-1" / "summary.json").read_text())
    assert summary["num_trials"] == 2
    assert summary["num_errors"] == 0
    assert summary["best_accuracy"] > 0.5
    assert (storage / "job-1" / "trials.png").stat().st_size > 0
