"""Processes for tests that run real Ray: environment, free ports, waiting, and cleanup by process id.

Cleanup kills only the processes a test started and their descendants, never `ray stop`: that stops every
Ray process on the machine, other users' and other tests' clusters included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
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


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, poll: float = 0.5):
    """Poll `predicate` until it returns something truthy; fail with `what` (and the process's exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process exited with {proc.returncode} while waiting for {what}")
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def ray_head_ports(gcs_port: int, dashboard_port: int) -> dict[str, int]:
    """`ray start --head` flags for every port it opens: free ones, so several test Rays never collide."""
    return {
        "--port": gcs_port,
        "--dashboard-port": dashboard_port,
        "--ray-client-server-port": free_port(),
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
        "--metrics-export-port": free_port(),
        "--node-manager-port": free_port(),
        "--object-manager-port": free_port(),
    }


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
