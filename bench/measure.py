"""The benchmark's arithmetic: pure functions over the trials' reports, no I/O, no Ray.

Definitions (docs/bench.md repeats them for readers):
- time to target: the earliest `wall_time - started_at` over every report of every trial whose accuracy
  is at least the target; `started_at` is `time.time()` right before the sweep's command was started, so
  Python start-up and `ray.init()` count, the same for both approaches.
- targets: the common target is the lower of 98% and the worst of the baseline's per-seed bests (one
  number every run is scored against); a seed's own target is the lower of 98% and that seed's baseline
  best (the side-by-side pair of that seed is scored against it).
- overhead: `1 - sum(trial compute_seconds) / (slots * fit_seconds)`, the share of the trial slots that
  the Tuner.fit() window did not spend inside trial code (scheduling, actor start-up, reporting, result
  syncing, idle slots at the tail). `slots` is how many trials can run at once, capped by the number of
  trials.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workloads import capacity

# The common target: the lower of this and the baseline's best accuracy (docs/bench.md).
TARGET_CAP = 0.98


@dataclass(frozen=True)
class Report:
    """One `tune.report` of one trial."""

    epoch: int
    accuracy: float
    wall_time: float  # time.time() in the trial when it reported
    compute_seconds: float  # the trial's own clock, cumulative


@dataclass(frozen=True)
class Trial:
    trial_id: str
    reports: tuple[Report, ...]

    @property
    def compute_seconds(self) -> float:
        return max((r.compute_seconds for r in self.reports), default=0.0)

    @property
    def best_accuracy(self) -> float:
        return max((r.accuracy for r in self.reports), default=0.0)


def best_accuracy(trials: Iterable[Trial]) -> float:
    return max((t.best_accuracy for t in trials), default=0.0)


def trial_epochs(trials: Iterable[Trial]) -> int:
    return sum(len(t.reports) for t in trials)


def time_to_target(trials: Iterable[Trial], target: float, started_at: float) -> float | None:
    """Seconds from `started_at` to the first report at or above `target`; None if none got there."""
    times = [r.wall_time - started_at for t in trials for r in t.reports if r.accuracy >= target]
    return min(times) if times else None


def progress(trials: Iterable[Trial], started_at: float) -> list[tuple[float, float]]:
    """The sweep's best accuracy so far, as (seconds from `started_at`, accuracy) at each improvement."""
    curve: list[tuple[float, float]] = []
    for at, accuracy in sorted((r.wall_time - started_at, r.accuracy) for t in trials for r in t.reports):
        if not curve or accuracy > curve[-1][1]:
            curve.append((round(at, 3), accuracy))
    return curve


def concurrent_slots(cpus: float, gpus: float, cpus_per_trial: float, gpus_per_trial: float, trials: int) -> int:
    """How many trials fit on the machine at once (Ray's packing for one node), capped by `trials`."""
    machine = capacity.Group("machine", cpus, gpus, 1)
    return capacity.concurrent_trials([machine], cpus_per_trial, gpus_per_trial, trials)


def overhead(trials: Sequence[Trial], fit_seconds: float, slots: int) -> float:
    if fit_seconds <= 0 or slots <= 0:
        raise ValueError(f"fit_seconds and slots must be positive, got {fit_seconds!r} and {slots!r}")
    return 1.0 - sum(t.compute_seconds for t in trials) / (slots * fit_seconds)


def common_target(baseline_bests: Sequence[float], cap: float = TARGET_CAP) -> float:
    """The lower of `cap` and the worst of the baseline's per-seed best accuracies.

    Taking the worst seed's best means every baseline run reaches the target, so every time is finite.
    """
    if not baseline_bests:
        raise ValueError("common_target needs at least one baseline run")
    return min(cap, min(baseline_bests))


def seed_target(baseline_best: float, cap: float = TARGET_CAP) -> float:
    """One seed's own target: the lower of `cap` and that seed's baseline best (which that run reached)."""
    return min(cap, baseline_best)


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    """Median, min and max; None stands for 'never' and sorts above every number."""
    if not values:
        return {"median": None, "min": None, "max": None}
    if any(v is None for v in values):
        finite = sorted(v for v in values if v is not None)
        ordered: list[float | None] = [*finite, *([None] * (len(values) - len(finite)))]
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else _mean_or_none(ordered[mid - 1], ordered[mid])
        return {"median": median, "min": ordered[0], "max": ordered[-1]}
    known = [v for v in values if v is not None]  # all of them, here
    return {"median": statistics.median(known), "min": min(known), "max": max(known)}


def _mean_or_none(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (a + b) / 2


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator
