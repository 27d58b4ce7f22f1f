"""Scoring a benchmark run's rows: times to the accuracy thresholds and the common target, per-approach
medians and spreads, the ratios between approaches, and whether each of TARGETS holds."""

from __future__ import annotations

from typing import Any

from bench import machine, measure
from bench.plan import Plan

# Fixed accuracy thresholds every approach is timed to (besides the baseline-derived common target).
THRESHOLDS = (0.97, 0.98)
# What the benchmark should show (docs/bench.md): (name, ratio or figure, comparison, bound).
TARGETS = (
    (
        "ours reaches 98% at least 2x sooner than Ray Tune's defaults (medians, from the search's start)",
        "time_to_98_tune_defaults_over_ours",
        ">=",
        2.0,
    ),
    (
        "ours is within 1.15x of plain Optuna's time to 98% (medians, from the search's start)",
        "time_to_98_ours_over_optuna",
        "<=",
        1.15,
    ),
    ("ours' Tune overhead is under 5% of trial compute (median)", "overhead_ours", "<", 0.05),
)


def threshold_key(threshold: float, suffix: str = "s") -> str:
    """`time_to_98_s` and the like: the name of the figure for one of THRESHOLDS."""
    return f"time_to_{round(threshold * 100)}_{suffix}"


def score(rows: list[dict], plan: Plan) -> dict:
    """Targets, times to them and the per-approach medians and spreads; drops the raw trials."""
    baseline_bests = [r["best_val_accuracy"] for r in rows if r["approach"] == "baseline"]
    # Without the baseline (a partial run) there is no common target: those figures stay None.
    target = measure.common_target(baseline_bests) if baseline_bests else None
    seed_targets = {r["seed"]: measure.seed_target(r["best_val_accuracy"]) for r in rows if r["approach"] == "baseline"}

    def time_to(trials, accuracy, started_at):
        return None if accuracy is None else measure.time_to_target(trials, accuracy, started_at)

    for r in rows:
        trials = r.pop("_trials")
        r["time_to_target_s"] = time_to(trials, target, r["fit_started_at"])
        r["time_to_target_from_command_s"] = time_to(trials, target, r["started_at"])
        r["seed_target"] = seed_targets.get(r["seed"])
        r["time_to_seed_target_s"] = time_to(trials, r["seed_target"], r["fit_started_at"])
        for threshold in THRESHOLDS:
            r[threshold_key(threshold)] = measure.time_to_target(trials, threshold, r["fit_started_at"])
            r[threshold_key(threshold, "from_command_s")] = measure.time_to_target(trials, threshold, r["started_at"])
        r["progress"] = measure.progress(trials, r["fit_started_at"])
        if plan.gpu:
            epochs, device_s = r["trial_epochs"], r["fit_seconds"] * (1 if plan.gpu_name else machine.cores())
            r["trial_epochs_per_device_second"] = epochs / device_s
            r["train_samples_per_device_second"] = epochs * samples_per_epoch(r["approach"], plan) / device_s
    keys = [
        "wall_seconds",
        "fit_seconds",
        "cpu_seconds",
        "cpu_seconds_trial_workers",
        "best_val_accuracy",
        "time_to_target_s",
        "time_to_target_from_command_s",
        "time_to_seed_target_s",
        "overhead",
        "trials",
        "trials_full_length",
        "trial_epochs",
        "compute_seconds",
    ]
    keys += [threshold_key(t, suffix) for t in THRESHOLDS for suffix in ("s", "from_command_s")]
    if plan.gpu:
        keys += ["trial_epochs_per_device_second", "train_samples_per_device_second"]
    approaches = {
        a: {k: measure.spread([r[k] for r in rows if r["approach"] == a]) for k in keys} for a in plan.approaches
    }
    by_seed = {(r["approach"], r["seed"]): r for r in rows}

    def of_medians(key: str, numerator: str, denominator: str) -> float | None:
        return measure.ratio(approaches[numerator][key]["median"], approaches[denominator][key]["median"])

    def per_seed(key: str, numerator: str, denominator: str) -> dict:
        return measure.spread(
            [measure.ratio(by_seed[(numerator, s)][key], by_seed[(denominator, s)][key]) for s in plan.seeds]
        )

    ratios: dict[str, Any] = {}
    if {"ours", "baseline"} <= set(approaches):
        ratios.update(
            {
                "time_to_target_baseline_over_ours": of_medians("time_to_target_s", "baseline", "ours"),
                "time_to_target_baseline_over_ours_per_seed": per_seed("time_to_target_s", "baseline", "ours"),
                "time_to_target_from_command_baseline_over_ours": of_medians(
                    "time_to_target_from_command_s", "baseline", "ours"
                ),
                "time_to_seed_target_baseline_over_ours_per_seed": per_seed(
                    "time_to_seed_target_s", "baseline", "ours"
                ),
                "cpu_seconds_baseline_over_ours": of_medians("cpu_seconds", "baseline", "ours"),
            }
        )
    pairs = [("tune-defaults", "ours"), ("ours", "optuna"), ("ours", "ours-seeded")]
    for numerator, denominator in pairs:
        if {numerator, denominator} <= set(plan.approaches):
            name = f"{numerator}_over_{denominator}".replace("-", "_")
            for threshold in THRESHOLDS:
                for suffix in ("s", "from_command_s"):
                    key = threshold_key(threshold, suffix)
                    label = key.removesuffix("_s")
                    ratios[f"{label}_{name}"] = of_medians(key, numerator, denominator)
                    ratios[f"{label}_{name}_per_seed"] = per_seed(key, numerator, denominator)
            ratios[f"cpu_seconds_{name}"] = of_medians("cpu_seconds", numerator, denominator)
    if plan.gpu and {"ours", "baseline"} <= set(approaches):
        ratios["train_samples_per_device_second_ours_over_baseline"] = of_medians(
            "train_samples_per_device_second", "ours", "baseline"
        )
    figures = {**ratios, "overhead_ours": approaches["ours"]["overhead"]["median"] if "ours" in approaches else None}
    targets = [
        target_verdict(
            name,
            key,
            op,
            bound,
            figures.get(key),
            measured=key in figures and (key != "overhead_ours" or "ours" in approaches),
        )
        for name, key, op, bound in TARGETS
    ]
    return {
        "target": target,
        "thresholds": list(THRESHOLDS),
        "approaches": approaches,
        "ratios": ratios,
        "targets": targets,
        "runs": rows,
    }


def target_verdict(name: str, key: str, op: str, bound: float, value: float | None, measured: bool = True) -> dict:
    """Whether one of TARGETS holds; a ratio of a time that never came (None) is not met.

    `measured` False: the run left out an approach the figure needs; `met` is then None.
    """
    checks = {">=": lambda v: v >= bound, "<=": lambda v: v <= bound, "<": lambda v: v < bound}
    met = None if not measured else (False if value is None else bool(checks[op](value)))
    return {"target": name, "figure": key, "bound": f"{op} {bound:g}", "value": value, "met": met}


def samples_per_epoch(approach: str, plan: Plan) -> int:
    """Training images one reported epoch consumes: upstream's loop stops after EPOCH_SIZE (+ a batch)."""
    train_size = plan.train_size or 4000
    if approach == "baseline":
        from bench.baseline import BATCH_SIZE, EPOCH_SIZE

        return min(train_size, (EPOCH_SIZE // BATCH_SIZE + 1) * BATCH_SIZE)
    return train_size
