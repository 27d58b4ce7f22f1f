"""Run one sweep as a child process and account for its wall time and CPU time.

CPU time: a sampler reads every process below this one with psutil every `SAMPLE_S` and keeps, per
process, the last user+system time it saw; the sum over every process that lived (driver, Ray's GCS/raylet/agents, the
trial workers) is the sweep's CPU time. It misses each process's last interval before exit, so it is a
lower bound, short by at most `SAMPLE_S` per process (the count is reported). `getrusage(RUSAGE_CHILDREN)`
would not do: the raylet does not wait for its workers, so their time never reaches us. The benchmark
makes itself a child subreaper (Linux `prctl(PR_SET_CHILD_SUBREAPER)`) so that Ray's daemons, orphaned
when the driver exits, stay below it: sampled to the end, and reaped before the next sweep starts.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

import psutil

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
SAMPLE_S = 0.1
# Ray's processes outlive the driver for a moment after ray.shutdown(); past this they are killed.
REAP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ProcessRun:
    """What one measured child process did."""

    returncode: int
    started_at: float  # time.time() right before the child was started
    wall_seconds: float  # until the child (the sweep's driver) exited
    cpu_seconds: float  # user+system time of every process of the sweep (sampled: a lower bound)
    cpu_seconds_workers: float  # of which in `ray::` processes: the trial workers
    processes: int  # how many processes the sweep started (each may be short by up to SAMPLE_S)
    output_tail: str = field(repr=False)


def become_subreaper() -> bool:
    """Adopt orphaned descendants so their CPU time is counted; False where the OS does not allow it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _process_tree() -> dict[tuple[int, float], tuple[float, str]]:
    """(pid, start time) -> (user+system seconds, title) for every process below this one, zombies included
    (an orphan that exited keeps its final CPU time until we reap it)."""
    table = {}
    for child in psutil.Process().children(recursive=True):
        try:
            with child.oneshot():
                times, started = child.cpu_times(), child.create_time()
        except psutil.Error:  # gone already, or not ours to read
            continue
        try:
            title = (child.cmdline() or [child.name()])[0]
        except psutil.Error:  # a zombie has no command line left
            title = ""
        table[(child.pid, started)] = (times.user + times.system, title)
    return table


class _CpuSampler(threading.Thread):
    """Samples the CPU time of every process below this one until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._last: dict[tuple[int, float], tuple[float, bool]] = {}  # (pid, start) -> (cpu, is a worker)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def sample(self) -> None:
        for key, (cpu, title) in _process_tree().items():
            self._last[key] = (cpu, title.startswith("ray::"))

    def stop(self) -> tuple[float, float, int]:
        """Total CPU seconds, those of `ray::` workers, and the number of processes seen."""
        self._halt.set()
        self.join()
        self.sample()
        cpu = [c for c, _ in self._last.values()]
        return sum(cpu), sum(c for c, worker in self._last.values() if worker), len(cpu)


def _reap_descendants(timeout_s: float) -> None:
    """Wait for every process re-parented to us; kill, by pid, what is still alive after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            continue
        if time.monotonic() > deadline:
            for child in psutil.Process().children(recursive=True):
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
            deadline = float("inf")
        time.sleep(SAMPLE_S)


def _reaped_cpu_seconds() -> float:
    """User+system seconds of every descendant waited for so far (getrusage RUSAGE_CHILDREN: a reaped
    process's own and that of the descendants it waited for): exact, whatever the sampler missed."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(cmd: list[str], *, env: dict[str, str], cwd: str, timeout_s: float) -> ProcessRun:
    """Run `cmd` to completion and measure it; raises `subprocess.TimeoutExpired` past `timeout_s`."""
    _reap_descendants(REAP_TIMEOUT_S)  # nothing of an earlier run may be counted here
    reaped_before = _reaped_cpu_seconds()
    sampler = _CpuSampler()
    sampler.start()
    started_at = time.time()
    t0 = time.perf_counter()
    # A file, not a pipe: Ray's daemons inherit the driver's stdout and would hold a pipe open.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            sampler.stop()
            _reap_descendants(0)
            raise
        wall = time.perf_counter() - t0
        _reap_descendants(REAP_TIMEOUT_S)  # Ray's daemons wind down after the driver; still sampled
        sampled, workers, processes = sampler.stop()
        # Every process below us has been reaped by now, so the kernel's account is the whole CPU time; the
        # sampler (every SAMPLE_S) misses a process's last moments and processes shorter than one sample.
        cpu = max(sampled, _reaped_cpu_seconds() - reaped_before)
        log.seek(0)
        output = log.read()
    return ProcessRun(
        returncode=proc.returncode,
        started_at=started_at,
        wall_seconds=wall,
        cpu_seconds=cpu,
        cpu_seconds_workers=workers,
        processes=processes,
        output_tail=output.decode(errors="replace")[-4000:],
    )
