"""How a sweep ends: SIGTERM handled as Ctrl+C is, and the exit status that tells CI, a RayJob and scripts
what happened (listed in `python -m workloads.tune --help`, workloads/cli.py)."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from workloads.sweep import Sweep

EXIT_TRIALS_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_RUN_IN_USE = 1, 2, 3, 4

log = logging.getLogger("workloads.tune")


class GracefulStop:
    """SIGTERM stops the sweep the way Ctrl+C does: Tune saves the experiment state and we write the summary.

    `ray job stop`, a pod's termination and a Spot eviction send SIGTERM, and Tune ends gracefully only on
    SIGINT or SIGUSR1 (ray/tune/tune.py _setup_signal_catching). SIGINT cannot carry it: Ray blocks SIGINT
    in a job's driver unless RAY_JOB_STOP_SIGNAL=SIGINT (ray/dashboard/modules/job/job_supervisor.py), so
    SIGTERM is passed on as SIGUSR1, which Tune always handles while it runs. Outside Tune's loop, or on a
    second SIGTERM, it raises KeyboardInterrupt. `ray.init` installs Ray's own fatal-signal handler for
    SIGTERM (a C handler that aborts the process), so install again after it.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: Any = None  # signal.signal's previous handler: a callable, SIG_DFL/SIG_IGN or None

    def install(self) -> GracefulStop:
        previous = signal.signal(signal.SIGTERM, self._handle)
        if self._previous is None:
            self._previous = previous
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        first = self.received is None
        self.received = signal.Signals(signum).name
        if first and callable(signal.getsignal(signal.SIGUSR1)):
            log.warning(
                "%s: stopping the sweep; Tune saves its state, then the summary is written. "
                "Run the same command again to continue.",
                self.received,
            )
            os.kill(os.getpid(), signal.SIGUSR1)
        else:
            raise KeyboardInterrupt(self.received)

    @property
    def exit_code(self) -> int:
        return 128 + signal.Signals[self.received].value if self.received else 0


def exit_status(summary: dict, sweep: Sweep, stop: GracefulStop) -> int:
    """The process's exit status, so CI, a RayJob and scripts can tell what happened (see the module doc)."""
    if stop.received:
        return stop.exit_code
    if not summary["complete"]:
        return EXIT_INCOMPLETE
    if summary["best_accuracy"] is None or (summary["num_errors"] and not sweep.allow_errors):
        return EXIT_TRIALS_FAILED
    return 0
