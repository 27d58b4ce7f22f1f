"""Run one sweep as a child process and account for its wall time and CPU time.

CPU time: a sampler reads /proc every `SAMPLE_S` and keeps, per process below this one, the last
user+system time it saw; the sum over every process that lived (driver, Ray's GCS/raylet/agents, the
trial workers) is the sweep's CPU time. It misses each process's last interval before exit, so it is a
lower bound, short by at most `SAMPLE_S` per process (the count is reported). `getrusage(RUSAGE_CHILDREN)`
would not do: the raylet does not wait for its workers, so their time never reaches us. The benchmark
makes itself a child subreaper (Linux `prctl(PR_SET_CHILD_SUBREAPER)`) so that Ray's daemons, orphaned
when the driver exits, stay below it: sampled to the end, and reaped before the next sweep starts.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
SAMPLE_S = 0.1
# Ray's processes outlive the driver for a moment after ray.shutdown(); past this they are killed.
REAP_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def _proc_table() -> dict[int, tuple[int, str, float, str]]:
    """pid -> (ppid, start ticks, cpu seconds, title) for every readable process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses; fields after it are plain.
        rest = stat[stat.rindex(")") + 2 :].split()
        ppid, utime, stime, start = int(rest[1]), int(rest[11]), int(rest[12]), rest[19]
        table[int(entry)] = (ppid, start, (utime + stime) / CLK_TCK, title)
    return table


def _descendants(table: dict[int, tuple[int, str, float, str]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_rest) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class _CpuSampler(threading.Thread):
    """Samples the CPU time of every process below this one until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self._last: dict[tuple[int, str], tuple[float, bool]] = {}  # (pid, start) -> (cpu, is a worker)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def sample(self) -> None:
        table = _proc_table()
        for pid in _descendants(table, os.getpid()):
            _ppid, start, cpu, title = table[pid]
            self._last[(pid, start)] = (cpu, title.startswith("ray::"))

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
            for child in _descendants(_proc_table(), os.getpid()):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = float("inf")
        time.sleep(SAMPLE_S)


def run_measured(cmd: list[str], *, env: dict[str, str], cwd: str, timeout_s: float) -> ProcessRun:
    """Run `cmd` to completion and measure it; raises `subprocess.TimeoutExpired` past `timeout_s`."""
    _reap_descendants(REAP_TIMEOUT_S)  # nothing of an earlier run may be counted here
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
        cpu, workers, processes = sampler.stop()
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
