"""One driver per run: a lease file in the run directory, on the results volume every node mounts.

Two drivers on one run directory would both restore the same experiment state and overwrite each other's
(Blob renames are copies: the last writer wins), so the second one's summary silently drops trials. A
file lock does not reach across nodes (FUSE mounts of Blob have no shared locks), and a detached named
Ray actor dies with the head pod while the run directory survives it; it would also not see a driver on
another Ray cluster writing to the same container. So the driver writes `driver.lease.json` beside
Tune's files (host, pid, Ray job ids, start) and refreshes its heartbeat every HEARTBEAT_SECONDS; another
driver refuses the run while the lease is fresh. A lease whose holder died is taken over: at once on the
same host when its process is gone, otherwise once its heartbeat is STALE_SECONDS old (longer than the
results volume's metadata cache, manifests/volumes.py RESULTS_CACHE_SECONDS, so a live holder's heartbeat
is always seen).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LEASE_FILE = "driver.lease.json"
HEARTBEAT_SECONDS = 15.0
STALE_SECONDS = 120.0
# Blob has no atomic create: two drivers starting together both write, then each reads back after this
# long and the one whose token is not there backs off.
SETTLE_SECONDS = 1.0

log = logging.getLogger(__name__)


class RunInUse(Exception):
    """Another driver holds the run."""


@dataclass(frozen=True)
class Holder:
    token: str
    host: str
    pid: int
    started: float
    heartbeat: float
    ray_job_id: str | None = None
    submission_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        job = f", Ray job {self.submission_id or self.ray_job_id}" if (self.submission_id or self.ray_job_id) else ""
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        return f"pid {self.pid} on {self.host}{job}, started {started}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: Holder, now: float, host: str, stale_seconds: float = STALE_SECONDS) -> bool:
    """Whether `holder` is gone: its process is dead on this host, or its heartbeat is too old."""
    if holder.host == host and not _pid_alive(holder.pid):
        return True
    return now - holder.heartbeat > stale_seconds


def read(run_dir: Path) -> Holder | None:
    try:
        content = json.loads((run_dir / LEASE_FILE).read_text())
        return Holder(**content)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, OSError) as err:  # a torn or foreign file: treat as no lease
        log.warning("ignoring unreadable %s: %s", run_dir / LEASE_FILE, err)
        return None


def _write(run_dir: Path, holder: Holder) -> None:
    path = run_dir / LEASE_FILE
    tmp = path.with_name(f".{path.name}.{holder.token}.tmp")
    tmp.write_text(json.dumps(asdict(holder)) + "\n")
    os.replace(tmp, path)


class Lease:
    """Holds the run directory for this driver while in a `with` block; refuses with RunInUse."""

    def __init__(
        self,
        run_dir: Path,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        stale_seconds: float = STALE_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
    ):
        self.run_dir = run_dir
        self.heartbeat_seconds, self.stale_seconds, self.settle_seconds = (
            heartbeat_seconds,
            stale_seconds,
            settle_seconds,
        )
        now = time.time()
        self.holder = Holder(
            token=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), started=now, heartbeat=now
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.took_over: Holder | None = None

    def _refuse_if_held(self) -> None:
        current = read(self.run_dir)
        if current is None or current.token == self.holder.token:
            return
        now = time.time()
        if is_stale(current, now, self.holder.host, self.stale_seconds):
            self.took_over = current
            return
        wait = max(0.0, current.heartbeat + self.stale_seconds - now)
        raise RunInUse(
            f"{self.run_dir} is in use by another driver ({current.describe()}; last heartbeat "
            f"{now - current.heartbeat:.0f} s ago). Stop that one first (`ray job stop`), or pick another "
            f"--name; if it is gone, its lease expires in {wait:.0f} s."
        )

    def acquire(self) -> Lease:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_if_held()
        _write(self.run_dir, self.holder)
        time.sleep(self.settle_seconds)
        current = read(self.run_dir)
        if current is None or current.token != self.holder.token:
            if current is None:
                raise RunInUse(f"{self.run_dir}: the lease file vanished while taking it; another driver?")
            raise RunInUse(
                f"{self.run_dir} was taken at the same moment by another driver "
                f"({current.describe()}); try again later or pick another --name"
            )
        if self.took_over is not None:
            log.warning("taking over %s from a driver that is gone (%s)", self.run_dir, self.took_over.describe())
        self._thread = threading.Thread(target=self._beat, name="run-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def describe_job(self, ray_job_id: str | None, submission_id: str | None) -> None:
        """Name the Ray job in the lease once Ray is up, so a refused driver can say whom to stop."""
        self.holder = Holder(
            **{
                **asdict(self.holder),
                "ray_job_id": ray_job_id,
                "submission_id": submission_id,
                "heartbeat": time.time(),
            }
        )
        _write(self.run_dir, self.holder)

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            current = read(self.run_dir)
            if current is not None and current.token != self.holder.token:
                log.error(
                    "another driver took over %s (%s); this driver's saves now race with it",
                    self.run_dir,
                    current.describe(),
                )
                return
            self.holder = Holder(**{**asdict(self.holder), "heartbeat": time.time()})
            try:
                _write(self.run_dir, self.holder)
            except OSError as err:  # a hiccup of the volume: the next beat tries again
                log.warning("cannot refresh the run lease %s: %s", self.run_dir / LEASE_FILE, err)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        current = read(self.run_dir)
        if current is not None and current.token == self.holder.token:
            _remove(self.run_dir / LEASE_FILE, self.stale_seconds)

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove(path: Path, stale_seconds: float, attempts: int = 5, pause_seconds: float = 2.0) -> None:
    """Delete the lease, trying again after an error of the volume (a FUSE mount answers EIO when a Blob
    request fails); a lease that will not go stays behind as a stale one, which the next driver takes
    over, rather than failing a run that has finished."""
    for attempt in range(attempts):
        try:
            path.unlink(missing_ok=True)
            return
        except OSError as err:
            if attempt == attempts - 1:
                log.warning(
                    "cannot remove the run lease %s (%s); the next driver takes it over once its "
                    "heartbeat is %.0f s old",
                    path,
                    err,
                    stale_seconds,
                )
                return
            time.sleep(pause_seconds)
