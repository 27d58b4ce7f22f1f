"""workloads.tune's command line: every bad argument fails with status 2 and a message, before Ray starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray

from workloads import capacity, cli, data, defaults, stop, tune
from workloads.sweep import GRACE_PERIOD

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def prepared(tmp_path) -> tuple[Path, Path]:
    """A data dir with (tiny) packed splits and an empty results dir, as mounted on the cluster."""
    datasets, results = tmp_path / "datasets", tmp_path / "results"
    (datasets / "mnist").mkdir(parents=True)
    results.mkdir()
    for split in data.SPLITS:
        data.publish(
            data.pack_path(datasets, split),
            data.encode_pack(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8), "test"),
        )
    return datasets, results


def rejected(argv: list[str], capsys, cwd: Path | None = None) -> str:
    """Run the CLI in-process; assert it exits 2 without starting Ray; return its message."""
    with pytest.raises(SystemExit) as exit_:
        tune.main(argv) if cwd is None else cli.parse_sweep(argv, cwd=cwd)
    assert exit_.value.code == 2
    assert not ray.is_initialized()
    return capsys.readouterr().err


def cluster_args(prepared) -> list[str]:
    datasets, results = prepared
    return ["--data-dir", str(datasets), "--storage-path", str(results)]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--num-samples", "-3"], "--num-samples: must be >= 1, got -3"),
        (["--num-samples", "0"], "--num-samples: must be >= 1"),
        (["--num-samples", "many"], "--num-samples: not an integer: 'many'"),
        (["--max-epochs", "0"], "--max-epochs: must be >= 1"),
        (["--grace-period", "0"], "--grace-period: must be >= 1"),
        (["--checkpoint-every", "0"], "--checkpoint-every: must be >= 1"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial: must be > 0"),
        (["--cpus-per-trial", "-1"], "--cpus-per-trial: must be > 0"),
        (["--gpus-per-trial", "1.5"], "--gpus-per-trial: must be > 0 and <= 1, got 1.5"),
        (["--gpus-per-trial", "0"], "--gpus-per-trial: must be > 0 and <= 1"),
        (["--gpus-per-trial", "-0.25"], "--gpus-per-trial: must be > 0 and <= 1"),
        (["--gpus-per-trial", "nan"], "--gpus-per-trial: must be finite"),
        (["--max-concurrent", "0"], "--max-concurrent: must be >= 1"),
        (["--max-failures", "-1"], "--max-failures: must be >= 0"),
        (["--seed", "-1"], "--seed: must be >= 0"),
        (["--name", "a/b"], "--name: must be letters, digits"),
        (["--name", ".."], "--name: must be letters, digits"),
        (["--name", ""], "--name: must be letters, digits"),
        (["--resume", "sometimes"], "--resume: invalid choice"),
        (["--max-epochs", "3", "--grace-period", "5"], "--grace-period (5) must not exceed --max-epochs (3)"),
        (["--smoke"], "unrecognized arguments: --smoke"),
    ],
)
def test_a_bad_argument_is_rejected_with_its_name_before_ray_starts(argv, message, prepared, capsys):
    assert message in rejected([*cluster_args(prepared), *argv], capsys)


def test_a_missing_data_dir_is_rejected_when_joining_a_cluster(prepared, tmp_path, capsys):
    err = rejected(["--data-dir", str(tmp_path / "nope"), "--storage-path", str(prepared[1])], capsys)
    assert f"--data-dir {tmp_path / 'nope'}: no such directory" in err


def test_a_data_dir_without_packed_splits_points_at_prepare(prepared, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = rejected(["--data-dir", str(tmp_path / "empty"), "--storage-path", str(prepared[1])], capsys)
    assert "train.pack" in err and "python -m workloads.data prepare --data-dir" in err


def test_a_missing_storage_path_is_rejected_when_joining_a_cluster(prepared, tmp_path, capsys):
    err = rejected(["--data-dir", str(prepared[0]), "--storage-path", str(tmp_path / "nope")], capsys)
    assert "--storage-path" in err and "no such directory" in err


def test_without_local_the_volumes_mounted_on_the_cluster_are_the_defaults(capsys):
    if Path(defaults.DATASETS_MOUNT).is_dir():
        pytest.skip(f"{defaults.DATASETS_MOUNT} exists here")
    assert f"--data-dir {defaults.DATASETS_MOUNT}: no such directory" in rejected([], capsys)


def test_a_local_storage_path_that_is_a_file_is_rejected(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert "not a directory" in rejected(["--local", "--storage-path", "file"], capsys, cwd=tmp_path)


def test_resume_never_refuses_an_existing_run_directory(prepared, capsys):
    (prepared[1] / "mnist-1").mkdir()
    err = rejected([*cluster_args(prepared), "--name", "mnist-1", "--resume", "never"], capsys)
    assert "already exists" in err


def test_resume_required_fails_without_a_run_to_continue(prepared, capsys):
    err = rejected([*cluster_args(prepared), "--name", "mnist-1", "--resume", "required"], capsys)
    assert "holds no run to continue" in err


def test_local_runs_default_to_data_and_results_in_the_current_directory(tmp_path):
    sweep = cli.parse_sweep(["--local"], cwd=tmp_path)
    assert sweep.data_dir == (tmp_path / "data").resolve()
    assert sweep.storage_path == (tmp_path / "results").resolve()
    assert sweep.local and sweep.resume == "auto"


def test_relative_paths_are_made_absolute_for_the_trials(tmp_path):
    sweep = cli.parse_sweep(["--local", "--data-dir", "d", "--storage-path", "r"], cwd=tmp_path)
    assert sweep.data_dir.is_absolute() and sweep.storage_path == (tmp_path / "r").resolve()


def test_the_default_run_name_is_unique_per_second_in_utc(tmp_path):
    assert re.fullmatch(r"mnist-\d{8}-\d{6}", cli.parse_sweep(["--local"], cwd=tmp_path).name)


def test_the_grace_period_shrinks_to_fit_a_short_run(tmp_path):
    assert cli.parse_sweep(["--local", "--max-epochs", "1"], cwd=tmp_path).grace_period == 1
    assert cli.parse_sweep(["--local"], cwd=tmp_path).grace_period == GRACE_PERIOD


def test_cluster_arguments_are_all_taken(prepared):
    sweep = cli.parse_sweep(
        [
            *cluster_args(prepared),
            "--name",
            "r1",
            "--num-samples",
            "40",
            "--max-epochs",
            "20",
            "--cpus-per-trial",
            "2",
            "--gpus-per-trial",
            "0.5",
            "--max-concurrent",
            "8",
            "--checkpoint-every",
            "5",
            "--max-failures",
            "1",
            "--seed",
            "7",
            "--resume",
            "never",
        ]
    )
    assert (sweep.name, sweep.num_samples, sweep.max_epochs, sweep.cpus_per_trial, sweep.gpus_per_trial) == (
        "r1",
        40,
        20,
        2.0,
        0.5,
    )
    assert (sweep.max_concurrent, sweep.checkpoint_every, sweep.max_failures, sweep.seed) == (8, 5, 1, 7)
    assert sweep.run_dir == prepared[1] / "r1"


@pytest.mark.parametrize(
    "resources, cpus, gpus, expected",
    [
        ({"CPU": 2.0}, 1, 0, 2),
        ({"CPU": 16.0, "GPU": 1.0}, 1, 0.25, 4),
        ({"CPU": 3.0, "GPU": 2.0}, 1, 0.25, 3),
        ({"CPU": 1.0}, 2, 0, 1),  # never zero: the one trial waits for an autoscaled node
        ({"CPU": 8.0}, 1, 0.5, 1),  # GPUs requested, none yet
    ],
)
def test_concurrency_is_what_the_cluster_holds_at_once(resources, cpus, gpus, expected):
    assert capacity.concurrent_trials(capacity.groups_from_resources(resources), cpus, gpus) == expected


def test_a_ray_other_than_the_cluster_images_is_refused(monkeypatch, caplog):
    monkeypatch.setattr(ray, "__version__", "2.0.0")
    with pytest.raises(SystemExit) as exit_:
        tune.check_ray_version()
    assert exit_.value.code == stop.EXIT_USAGE
    assert re.search(f"needs Ray {defaults.RAY_VERSION}.*found 2.0.0", caplog.text)


def test_the_command_exits_2_with_a_message_on_a_bad_argument():
    result = subprocess.run(
        [sys.executable, "-m", "workloads.tune", "--gpus-per-trial", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "argument --gpus-per-trial: must be > 0 and <= 1, got 2" in result.stderr
    assert "usage: python -m workloads.tune" in result.stderr


def test_help_shows_each_default_once():
    text = cli.build_parser().format_help()
    assert "(default: None)" not in text and "(default: False)" not in text
    # One entry per option: from its flag to the next flag's line.
    entries = re.split(r"\n  (?=-)", text.split("options:", 1)[1].split("Exit status")[0])
    assert len(entries) > 10
    for entry in entries:
        assert entry.count("default") <= 1, entry


def test_allow_errors_is_off_unless_asked(prepared):
    assert cli.parse_sweep(cluster_args(prepared)).allow_errors is False
    assert cli.parse_sweep([*cluster_args(prepared), "--allow-errors"]).allow_errors is True


def summary(**changes) -> dict:
    return {"complete": True, "best_accuracy": 0.98, "num_errors": 0, **changes}


@pytest.mark.parametrize(
    "content, allow_errors, signal_name, code",
    [
        (summary(), False, None, 0),
        (summary(num_errors=1), False, None, stop.EXIT_TRIALS_FAILED),
        (summary(num_errors=1), True, None, 0),
        (summary(best_accuracy=None, num_errors=3), True, None, stop.EXIT_TRIALS_FAILED),  # nothing to show
        (summary(complete=False), False, None, stop.EXIT_INCOMPLETE),
        (summary(complete=False), False, "SIGTERM", 143),
    ],
)
def test_the_exit_status_tells_finished_failed_incomplete_and_stopped_runs_apart(
    prepared, content, allow_errors, signal_name, code
):
    sweep = cli.parse_sweep([*cluster_args(prepared), *(["--allow-errors"] if allow_errors else [])])
    graceful = stop.GracefulStop()
    graceful.received = signal_name
    assert stop.exit_status(content, sweep, graceful) == code


def test_corrupt_data_fails_before_ray_with_one_error_naming_the_file(prepared, capsys, caplog):
    datasets, _ = prepared
    pack = data.pack_path(datasets, "train")
    pack.write_bytes(pack.read_bytes()[:-1] + b"\x01")
    rejected(cluster_args(prepared), capsys)
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert str(pack) in error.getMessage() and "prepare --force" in error.getMessage()


def test_initial_points_default_to_the_known_good_point_and_can_be_switched_off(tmp_path, capsys):
    assert cli.parse_sweep(["--local"], cwd=tmp_path).initial_points == "known-good"
    assert cli.parse_sweep(["--local", "--initial-points", "none"], cwd=tmp_path).initial_points == "none"
    assert "--initial-points: invalid choice" in rejected(["--local", "--initial-points", "some"], capsys, tmp_path)
