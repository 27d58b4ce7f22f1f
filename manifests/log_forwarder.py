"""The Ray pods' log forwarder: it runs in the `ray-log-forwarder` sidecar of every Ray pod
(manifests/log_sidecar.py passes this file's source to the Ray image's `python -c`), so it uses the standard
library only and imports nothing of the project.

Ray writes what tasks and actors print and log (stdout, stderr, Python logging) to files, not to the
container's output: `<temp dir>/session_*/logs/worker-<worker id>-<job id>-<pid>.out|.err` (Ray 2.60
`ray._private.ray_logging.get_worker_log_file_name`), and the Jobs API's driver output to
`job-driver-<submission id>.log`. Container Insights collects container stdout only, so this follows
those files, new ones included, and writes each line to its own stdout as one JSON object with the file
it came from. ContainerLogV2's LogMessage column is dynamic: a JSON line's fields are queryable as
`LogMessage.file`, `LogMessage.line` (learn.microsoft.com/azure/azure-monitor/reference/tables/containerlogv2).

Nothing in Ray changes: the files stay where the dashboard's log view, `ray logs` and `ray job logs` read
them, and Ray's log monitor still streams worker output to the driver.

- Files that appear later are picked up on the next poll; a file rotated by rename (Ray 2.60 rotates worker
  output when RAY_ROTATION_MAX_BYTES is set: `default_worker.py`) is read to its end through the open
  descriptor (or as `<name>.1` if it was closed); a file truncated in place, or truncated and written
  again past the point reached (its last bytes read are no longer there), is read again from the start.
- Ray's magic lines (`:actor_name:`, `:task_name:`, `:job_id:`, ray/_private/ray_constants.py) are not
  forwarded; like Ray's log monitor (ray/_private/log_monitor.py) the forwarder labels the lines after them.
  `--label-line PREFIX=NAME` adds one of the workload's own (the trial id a trial prints as it starts); a
  new `:actor_name:` ends the task's and those labels.
- A line longer than MAX_LINE_BYTES is cut into pieces marked `"partial": true` (ContainerLogV2 keeps up to
  64 KB a record); so is an unterminated line left waiting PARTIAL_FLUSH_SECONDS.
- With --state, the offsets reached are saved after each poll whose lines were written: a restarted
  forwarder resumes there (a line may come twice, none is skipped). On SIGTERM it reads everything left,
  unterminated lines included, and exits 0.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

# What is worth keeping beyond the pod: the same files Ray's log monitor streams to the driver
# (log_monitor.py update_log_filenames: worker output, raylet and GCS errors, runtime env setup) and the
# Jobs API's driver output. Ray's own INFO logs (raylet.out, python-core-worker-*.log, ...) stay in the pod.
PATTERNS = (
    "worker-*.out",
    "worker-*.err",
    "job-driver-*.log",
    "runtime_env_setup-*.log",
    "raylet.err",
    "gcs_server.err",
)
# worker-<worker id>-<job id>-<pid>.out|err. A worker Ray starts ahead of any job has job id ffffffff in its
# name and writes a `:job_id:` line once a job's task reaches it (seen with Ray 2.60).
WORKER_FILE = re.compile(r"worker-(?P<worker>[0-9a-f]+)-(?:(?P<job>[0-9a-f]+)-)?(?P<pid>\d+)\.(?:out|err)")
MAGIC = {":actor_name:": "actor", ":task_name:": "task", ":job_id:": "job"}
MAX_LINE_BYTES = 16 * 1024
PARTIAL_FLUSH_SECONDS = 5.0
# A file that has not grown for this long gives its descriptor back (a long sweep leaves many finished
# workers' files); it is reopened when it grows or is replaced.
IDLE_CLOSE_SECONDS = 60.0
READ_BYTES = 64 * 1024
BUDGET_BYTES = 1024 * 1024  # per file and poll, so one chatty worker does not hold up the others
ROTATED_SUFFIX = ".1"
MARK_BYTES = 64

Emit = Callable[[dict[str, Any]], None]


class Followed:
    """One log file: where its next unread byte is, its unterminated tail, the labels Ray gave it."""

    def __init__(self, path: str, saved: dict[str, Any] | None, magic: dict[str, str] | None = None) -> None:
        self.path = path
        self.magic = magic or MAGIC
        self.name = os.path.basename(path)
        self.fixed: dict[str, Any] = {"file": self.name}
        match = WORKER_FILE.fullmatch(self.name)
        if match:
            self.fixed["pid"] = int(match["pid"])
            if match["job"]:
                self.fixed["job"] = match["job"]
        self.fd: int | None = None
        self.inode: int | None = None
        self.pos = 0  # bytes of the file consumed into `tail` or emitted
        self.tail = b""
        self.mark = b""  # the last bytes before `pos`, to notice a file rewritten past where it was read
        self.n = 0  # lines emitted so far
        self.labels: dict[str, str] = {}
        self.last_growth = time.monotonic()
        self.gone = False
        if saved:
            self.inode = saved.get("inode")
            self.pos = int(saved.get("pos", 0))
            self.n = int(saved.get("n", 0))
            self.labels = dict(saved.get("labels", {}))

    def saved(self) -> dict[str, Any]:
        # The unterminated tail is not emitted yet: a restart reads it again.
        return {"inode": self.inode, "pos": self.pos - len(self.tail), "n": self.n, "labels": self.labels}

    # --- reading -------------------------------------------------------------------------------------
    def pump(self, emit: Emit, final: bool) -> bool:
        """Forward what is new; True when the budget ran out before the end of the file."""
        try:
            stat: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        if stat is None or stat.st_ino != self.inode:
            self._finish_old(emit)
            if stat is None:
                self.gone = True
                return False
            self.inode, self.pos, self.tail, self.mark = stat.st_ino, 0, b"", b""  # a new file of this name
        elif stat.st_size < self.pos:  # truncated in place
            self._restart(emit)
        if self.fd is None and (stat.st_size <= self.pos or not self._reopen()):
            return False  # nothing new since it was closed, or replaced between stat and open
        if self.mark and stat.st_size > self.pos and self._rewritten():
            self._restart(emit)  # truncated and written again past where it had been read
        more = self._read(emit, None if final else BUDGET_BYTES)
        now = time.monotonic()
        if self.tail and (final or now - self.last_growth >= PARTIAL_FLUSH_SECONDS):
            self._flush_tail(emit)
        if not more and not self.tail and self.fd is not None and now - self.last_growth >= IDLE_CLOSE_SECONDS:
            os.close(self.fd)
            self.fd = None
        return more

    def _rewritten(self) -> bool:
        assert self.fd is not None
        return os.pread(self.fd, len(self.mark), self.pos - len(self.mark)) != self.mark

    def _restart(self, emit: Emit) -> None:
        self._flush_tail(emit)
        self.pos, self.mark = 0, b""

    def _reopen(self) -> bool:
        """Open the file this follows; False if the name already stands for another (read next poll)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        if os.fstat(fd).st_ino != self.inode:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def _finish_old(self, emit: Emit) -> None:
        """The name stands for another file now (rotated by rename) or for none: read the old one to its end
        through the open descriptor, or as <name>.1 if it had been closed (idle, or before a restart)."""
        fd = self.fd
        if fd is None:
            if self.inode is None:
                return
            try:
                fd = os.open(self.path + ROTATED_SUFFIX, os.O_RDONLY)
            except FileNotFoundError:
                return
            if os.fstat(fd).st_ino != self.inode:
                os.close(fd)
                return
            self.fd = fd
        self._read(emit, None)
        self._flush_tail(emit)
        os.close(fd)
        self.fd = None

    def _read(self, emit: Emit, budget: int | None) -> bool:
        assert self.fd is not None
        read = 0
        while budget is None or read < budget:
            data = os.pread(self.fd, READ_BYTES, self.pos)
            if not data:
                return False
            self.pos += len(data)
            self.mark = (self.mark + data)[-MARK_BYTES:]
            read += len(data)
            self.last_growth = time.monotonic()
            self._split(self.tail + data, emit)
        return True

    def _split(self, data: bytes, emit: Emit) -> None:
        *lines, self.tail = data.split(b"\n")
        for line in lines:
            self._line(line, emit)
        while len(self.tail) > MAX_LINE_BYTES:
            piece, self.tail = self.tail[:MAX_LINE_BYTES], self.tail[MAX_LINE_BYTES:]
            self._emit(piece, emit, partial=True)

    def _flush_tail(self, emit: Emit) -> None:
        if self.tail:
            tail, self.tail = self.tail, b""
            self._emit(tail, emit, partial=True)

    def _line(self, raw: bytes, emit: Emit) -> None:
        if raw.startswith(b":"):
            text = raw.rstrip(b"\r").decode("utf-8", "replace")
            for prefix, label in self.magic.items():
                if text.startswith(prefix):
                    if label == "actor":
                        for other in set(self.magic.values()) - {"actor", "job"}:
                            self.labels.pop(other, None)
                    self.labels[label] = text[len(prefix) :]
                    return
        for start in range(0, max(len(raw), 1), MAX_LINE_BYTES):
            piece = raw[start : start + MAX_LINE_BYTES]
            self._emit(piece, emit, partial=start + MAX_LINE_BYTES < len(raw))

    def _emit(self, raw: bytes, emit: Emit, partial: bool) -> None:
        self.n += 1
        record: dict[str, Any] = {**self.fixed, **self.labels, "n": self.n}
        if partial:
            record["partial"] = True
        record["line"] = raw.rstrip(b"\r").decode("utf-8", "replace")
        emit(record)


class Forwarder:
    def __init__(
        self,
        root: str,
        patterns: Iterable[str],
        state_path: str | None,
        out: BinaryIO,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.magic = {**MAGIC, **(labels or {})}
        self.patterns = tuple(patterns)
        self.state_path = state_path
        self.out = out
        self.files: dict[str, Followed] = {}
        self.saved = self._load_state()
        self.emitted = 0

    def _load_state(self) -> dict[str, dict[str, Any]]:
        if not self.state_path:
            return {}
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _save_state(self) -> None:
        if not self.state_path:
            return
        state = {path: f.saved() for path, f in self.files.items() if not f.gone}
        temporary = self.state_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(temporary, self.state_path)

    def discover(self) -> None:
        """Every matching file of every session. `session_latest` is a symlink to one of them: skipped."""
        try:
            sessions = [e.path for e in os.scandir(self.root) if e.name.startswith("session_")]
        except FileNotFoundError:
            return  # Ray has not started yet
        for session in sessions:
            if os.path.islink(session):
                continue
            try:
                entries = list(os.scandir(os.path.join(session, "logs")))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.path in self.files or not any(fnmatch.fnmatchcase(entry.name, p) for p in self.patterns):
                    continue
                if entry.is_file(follow_symlinks=False):
                    self.files[entry.path] = Followed(entry.path, self.saved.pop(entry.path, None), self.magic)

    def _emit(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        self.emitted += 1

    def poll(self, final: bool = False) -> bool:
        """One pass over every file; True when some file has more to read at once."""
        self.discover()
        before = self.emitted
        more = False
        for path in sorted(self.files):
            more |= self.files[path].pump(self._emit, final)
        for path in [p for p, f in self.files.items() if f.gone]:
            del self.files[path]
        self.out.flush()
        if self.emitted != before or final:
            self._save_state()
        return more


def main(argv: list[str] | None = None) -> int:
    # SIGTERM and SIGINT wait, blocked, until the loop asks for them: a stop during a poll lets it finish,
    # and one during the wait between polls ends the wait at once.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    parser = argparse.ArgumentParser(description="Forward Ray's log files to stdout as JSON lines.")
    parser.add_argument("--root", default="/tmp/ray", help="Ray's temp dir (holds session_*/logs)")
    parser.add_argument("--state", default=None, help="file keeping the offsets reached, for restarts")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--pattern", action="append", help="file name pattern (repeatable); default: Ray's output")
    parser.add_argument(
        "--label-line",
        action="append",
        default=[],
        metavar="PREFIX=NAME",
        help="a line starting with PREFIX is not forwarded; the rest of it labels the file's next lines as NAME",
    )
    args = parser.parse_args(argv)
    labels = dict(item.split("=", 1) for item in args.label_line)
    patterns = tuple(args.pattern or PATTERNS)
    print(f"following {args.root}/session_*/logs/{{{','.join(patterns)}}}", file=sys.stderr, flush=True)
    forwarder = Forwarder(args.root, patterns, args.state, sys.stdout.buffer, labels)
    while True:
        more = forwarder.poll()
        if signal.sigtimedwait(stop_signals, 0 if more else args.interval) is not None:
            break
    # As a native sidecar the kubelet stops this after the Ray container has exited: its last lines are in.
    forwarder.poll(final=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
