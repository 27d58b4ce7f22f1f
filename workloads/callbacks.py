"""Tune's public Callback API over a sweep: when the search ran (`SearchClock`, for summary.json and the
benchmark), and the trials' states, progress and failures as the loop sees them (`SweepMonitor`).

A `ray.tune` user with workloads/trainable.py (the trainable, search space and Tuner) and
workloads/results.py (what each trial did): Tune's callback API has moved between releases, and these three
modules are where the next move lands.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ray import tune

from workloads.report import SearchWindow
from workloads.results import error_file
from workloads.sweep import METRIC

# The trials' failures are logged under the name they had before the callbacks had a module of their own:
# stderr's `WARNING workloads.trainable: trial ... failed` lines stay the same for whoever matches them.
log = logging.getLogger("workloads.trainable")

# Tune's own console output names each trial's error file in the driver's staging directory under the Ray
# session dir (/tmp/ray/session_*/artifacts/..., Trial.error_file in ray/tune/experiment/trial.py): the head
# pod's local disk, gone with the pod. The legacy output engine at verbosity 0 prints nothing (the new one
# prints error files at every verbosity, ray/tune/experimental/output.py on_trial_error); SweepMonitor
# prints progress and failures instead, with the copies Tune syncs to the storage path.
QUIET_TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0"}
PROGRESS_SECONDS = 30.0


class SearchClock(tune.Callback):
    """When Tune's search ran, through its public Callback API: summary.json's and the benchmark's window.

    It opens at `setup`, which Tune's controller calls as it starts the experiment, right after stamping
    its own start time, and closes at Tune's last save of the experiment state: Tune calls every callback's
    `get_state` at each save (TuneController.save_to_dir), the last time as `fit()` ends. Both lie within a
    few milliseconds of the start time and the last write of Tune's `experiment_state-*.json`, which the
    benchmark used to read. `fit()` itself runs longer at both ends: before the controller exists (the
    first `fit()` of a process spends 2-4 s there on two cores) and after the last save, while it stops the
    trials' actors (0.3-0.7 s with actor reuse), which is also when `on_experiment_end` comes.
    """

    # A restored Tuner brings back its RunConfig, callbacks included, from the run directory (tuner.pkl):
    # the instance Tune calls is then a copy, so each one makes itself known when the experiment starts.
    latest: SearchClock | None = None

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.saved_at: float | None = None

    def setup(self, **info: Any) -> None:
        self.started_at, self.saved_at = time.time(), None
        SearchClock.latest = self

    def get_state(self) -> dict | None:
        self.saved_at = time.time()
        return None  # nothing to save: Tune then writes no callback state file

    def window(self) -> SearchWindow | None:
        if self.started_at is None or self.saved_at is None:
            return None
        return SearchWindow(self.started_at, self.saved_at - self.started_at)

    @staticmethod
    def last_window() -> SearchWindow | None:
        """The window of the latest experiment this process started; None before one started."""
        return SearchClock.latest.window() if SearchClock.latest else None


class SweepMonitor(SearchClock):
    """Tune's public callback API: the trials' states as the loop last saw them, readable progress, and
    (SearchClock) when the search ran.

    Tune marks every trial still running as TERMINATED while it cleans up after an interruption
    (TuneController._cleanup_trials -> _schedule_trial_stop), so the states at `on_experiment_end` and in
    the ResultGrid cannot tell an interrupted trial from a finished one. The states after the last loop
    step (`on_step_end`) can: that is also what the experiment state saved for a resume holds.
    """

    active: SweepMonitor | None = None  # the instance Tune calls (see SearchClock.latest)

    def __init__(self, max_failures: int, progress_seconds: float = PROGRESS_SECONDS):
        super().__init__()
        self.max_failures = max_failures
        self.progress_seconds = progress_seconds
        self.states: dict[str, tuple[str, int, str]] = {}  # trial_id -> (Tune status, failures, path)
        self._printed = 0.0
        self._best: tuple[float, str] | None = None

    def setup(self, **info) -> None:
        super().setup(**info)
        self.states, self._printed, self._best = {}, time.monotonic(), None
        SweepMonitor.active = self

    def _snapshot(self, trials) -> None:
        self.states = {t.trial_id: (t.status, t.num_failures, t.path or "") for t in trials}

    def on_step_end(self, iteration: int, trials, **info) -> None:
        self._snapshot(trials)
        now = time.monotonic()
        if now - self._printed >= self.progress_seconds:
            self._printed = now
            counts: dict[str, int] = {}
            for trial in trials:
                counts[trial.status] = counts.get(trial.status, 0) + 1
            best = f"; best {self._best[0]:.2%} ({self._best[1]})" if self._best else ""
            print(
                f"[sweep] {len(trials)} trials: "
                + ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))
                + best,
                flush=True,
            )

    def on_experiment_end(self, trials, **info) -> None:
        if not self.states:  # no loop step ran (a restored run with nothing left to do)
            self._snapshot(trials)

    def on_trial_result(self, iteration: int, trials, trial, result, **info) -> None:
        accuracy = result.get(METRIC)
        if accuracy is not None and (self._best is None or accuracy > self._best[0]):
            self._best = (float(accuracy), trial.trial_id)

    def on_trial_complete(self, iteration: int, trials, trial, **info) -> None:
        result = trial.last_result or {}
        print(
            f"[sweep] trial {trial.trial_id} ended at epoch {result.get('epoch', 0)}, "
            f"{METRIC} {result.get(METRIC, float('nan')):.2%}",
            flush=True,
        )

    def on_trial_recover(self, iteration: int, trials, trial, **info) -> None:
        log.warning(
            "trial %s failed (failure %d of at most %d retried); retrying from its last checkpoint. Error: %s",
            trial.trial_id,
            trial.num_failures,
            self.max_failures,
            error_file(trial.path),
        )

    def on_trial_error(self, iteration: int, trials, trial, **info) -> None:
        log.error(
            "trial %s failed for good after %d failures (--max-failures %d). Error: %s",
            trial.trial_id,
            trial.num_failures,
            self.max_failures,
            error_file(trial.path),
        )
