"""bench/report.py: the results as a Markdown table."""

from bench import report


def stats(median, low=None, high=None):
    return {"median": median, "min": median if low is None else low, "max": median if high is None else high}


def test_a_cell_shows_the_median_and_the_spread_or_never():
    assert report.cell(stats(2.0, 1.0, 3.0), "{:.1f}") == "2.0 (1.0–3.0)"
    assert report.cell(stats(2.0), "{:.1f}") == "2.0"
    assert report.cell(stats(None, 1.0, None), "{:.1f}") == "never (1.0–never)"


def test_the_table_has_a_row_per_approach_and_names_machine_versions_and_command():
    row = {key: stats(1.0) for key, _, _ in report.COLUMNS + report.BASELINE_COLUMNS}
    result = {
        "plan": {"gpu": False, "num_samples": 8, "max_epochs": 10, "seeds": [0, 1, 2]},
        "approaches": {"baseline": row, "ours": row},
        "ratios": {
            "time_to_target_baseline_over_ours": 20.0,
            "time_to_target_baseline_over_ours_per_seed": stats(20.0, 18.0, 25.0),
            "time_to_target_from_command_baseline_over_ours": 3.0,
            "time_to_seed_target_baseline_over_ours_per_seed": stats(30.0, 21.0, 40.0),
            "cpu_seconds_baseline_over_ours": 1.5,
        },
        "target": 0.9,
        "machine": {
            "date": "2026-01-01",
            "name": "cpu-2core-x",
            "cpu_model": "Xeon",
            "cores": 2,
            "python": "3.11",
            "ray": "2.60.0",
            "torch": "2.13.0",
            "load_average_before": [0.1],
            "load_average_after": [0.2],
        },
        "command": "python -m bench.sweep",
        "targets": [
            {
                "target": "ours beats defaults",
                "figure": "time_to_98_tune_defaults_over_ours",
                "bound": ">= 2",
                "value": 2.5,
                "met": True,
            },
            {
                "target": "ours near optuna",
                "figure": "time_to_98_ours_over_optuna",
                "bound": "<= 1.15",
                "value": None,
                "met": False,
            },
            {"target": "low overhead", "figure": "overhead_ours", "bound": "< 0.05", "value": 0.079, "met": False},
        ],
    }
    text = report.table(result)
    assert "- MET: ours beats defaults: 2.50x (needs >= 2)" in text
    assert "- NOT MET: ours near optuna: n/a (a time that never came)" in text
    assert "- NOT MET: low overhead: 7.9% (needs < 0.05)" in text
    assert "| baseline |" in text and "| ours |" in text
    assert "20.0x (per seed 20.0x (18.0x–25.0x))" in text
    assert "its own baseline run's best" in text and "30.0x (21.0x–40.0x)" in text
    for needle in ("cpu-2core-x", "Ray 2.60.0", "torch 2.13.0", "`python -m bench.sweep`"):
        assert needle in text


def test_the_picture_draws_every_run_that_reported(tmp_path):
    import matplotlib.image

    result = {
        "plan": {"num_samples": 2, "max_epochs": 1, "seeds": [0]},
        "machine": {"name": "cpu-2core-x"},
        "target": 0.8,
        "runs": [
            {"approach": "baseline", "fit_seconds": 9.0, "progress": [[2.0, 0.3], [8.0, 0.8]]},
            {"approach": "ours", "fit_seconds": 5.0, "progress": [[1.5, 0.9]]},
            {"approach": "ours", "fit_seconds": 5.0, "progress": []},
        ],
    }
    path = report.plot(result, tmp_path / "sub" / "r.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600
