"""Processes for tests that run real Ray: environment, free ports, waiting, and cleanup by process id.

Cleanup kills only the processes a test started and their descendants, never `ray stop`: that stops every
Ray process on the machine, other users' and other tests' clusters included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workload_env(**extra: str) -> dict[str, str]:
    """The environment for CLI subprocesses: this repo importable, output unbuffered.

    This interpreter's bin directory goes first on PATH, as in an activated virtual environment: a job's
    entrypoint `python -m workloads.tune` must find the Python that has Ray, whether or not pytest was
    started from an activated venv (CI runs `.venv/bin/pytest`).
    """
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "RAY_DEDUP_LOGS": "0", **extra}
    env.pop("RAY_ADDRESS", None)
    return env


def descendants(pid: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def kill_tree(proc: subprocess.Popen, known: frozenset[int] | set[int] = frozenset()) -> None:
    """SIGKILL `proc`, every process below it and `known` (descendants recorded earlier, maybe orphaned)."""
    victims = descendants(proc.pid) | set(known)
    proc.kill()
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def wait_for(
    predicate,
    timeout: float,
    what: str | Callable[[], str],
    proc: subprocess.Popen | None = None,
    poll: float = 0.5,
):
    """Poll `predicate` until it returns something truthy; fail with `what` (and the process's exit).

    `what` may be a function, called only on failure, for a message that says how things stood then.
    """
    describe = what if callable(what) else lambda: what
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process exited with {proc.returncode} while waiting for {describe()}")
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {describe()}")


RAY = str(Path(sys.executable).with_name("ray"))
LOOPBACK = "127.0.0.1"


def ray_node_ports() -> list[str]:
    """`ray start` flags for every port a node (head or worker) opens: free ones, so several test Rays never
    collide."""
    names = (
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
        "--node-manager-port",
        "--object-manager-port",
    )
    return [x for name in names for x in (name, str(free_port()))]


def ray_head_command(temp_dir: Path, gcs_port: int, dashboard_port: int, num_cpus: int, *extra: str) -> list[str]:
    """`ray start --head` on loopback with the dashboard (the job API), no GPUs, no usage stats, these ports
    and free ones for the rest, plus `extra` flags. `temp_dir` short: Ray's unix socket paths must stay
    under ~107 characters."""
    return [
        RAY,
        "start",
        "--head",
        "--node-ip-address",
        LOOPBACK,
        "--port",
        str(gcs_port),
        "--dashboard-host",
        LOOPBACK,
        "--dashboard-port",
        str(dashboard_port),
        "--include-dashboard",
        "true",
        "--num-cpus",
        str(num_cpus),
        "--num-gpus",
        "0",
        "--disable-usage-stats",
        "--temp-dir",
        str(temp_dir),
        "--ray-client-server-port",
        str(free_port()),
        *ray_node_ports(),
        *extra,
    ]


def jobs_api_up(address: str, token: str) -> bool:
    """Whether the dashboard at `address` answers its job API's version call with this token."""
    request = urllib.request.Request(f"{address}/api/version", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def ray_head(
    log_path: Path, env: dict[str, str], num_cpus: int, *extra: str, gcs_port: int = 0, timeout: float = 120
) -> Iterator[str]:
    """A blocking `ray start --head` (ray_head_command; `gcs_port` free-picked unless given) until the job
    API answers with env's token; yields the dashboard's address, then kills exactly what it started."""
    dashboard_port = free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="rayt-", dir="/tmp"))
    command = ray_head_command(temp_dir, gcs_port or free_port(), dashboard_port, num_cpus, "--block", *extra)
    address = f"http://{LOOPBACK}:{dashboard_port}"
    with log_path.open("w") as log:
        # --block keeps every Ray daemon (the autoscaler and the raylets it launches too) a descendant of
        # this process, so cleanup can kill exactly them.
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            wait_for(lambda: jobs_api_up(address, env["RAY_AUTH_TOKEN"]), timeout, "the Ray dashboard's job API", proc)
            yield address
        finally:
            kill_tree(proc)
            shutil.rmtree(temp_dir, ignore_errors=True)


def sweep_command(data_dir: Path, storage: Path, name: str, *extra: str) -> list[str]:
    """`python -m workloads.tune --local` on these folders, checkpointing every epoch, plus `extra` flags."""
    return python_module(
        "workloads.tune",
        "--local",
        "--data-dir",
        str(data_dir),
        "--storage-path",
        str(storage),
        "--name",
        name,
        "--checkpoint-every",
        "1",
        *extra,
    )


def whole_trials(num_samples: int, max_epochs: int) -> list[str]:
    """Sweep flags for `num_samples` trials of `max_epochs` epochs each, none stopped early: ASHA's grace
    period is the whole trial."""
    return ["--num-samples", str(num_samples), "--max-epochs", str(max_epochs), "--grace-period", str(max_epochs)]
