"""The cluster path: `ray start --head` on loopback, then `ray job submit` of the tuning CLI."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess

import pytest

from tests.workload.procs import RAY, REPO, ray_head, whole_trials, workload_env

pytestmark = pytest.mark.slow


@pytest.fixture
def head(tmp_path):
    """A one-node Ray cluster with a dashboard on loopback; every port free, so it coexists with others.

    Token auth on, as on the cluster, with a token of its own (not the user's ~/.ray/auth_token).
    """
    env = workload_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    with ray_head(tmp_path / "ray-start.log", env, num_cpus=2) as address:
        yield address, env


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
            *whole_trials(2, 2),
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
