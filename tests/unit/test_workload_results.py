"""workloads.results without running Ray: how trial directories are named and how a trial ended."""

from __future__ import annotations

import pytest

from workloads import results


class FakeTrial:
    trainable_name, trial_id = "train_mnist", "1a2b3c4d"


def test_trial_directories_are_named_by_trainable_and_trial_id():
    assert results.trial_dirname(FakeTrial()) == "train_mnist_1a2b3c4d"


@pytest.mark.parametrize(
    "tune_status, last_epoch, has_error, expected",
    [
        ("TERMINATED", 10, False, "completed"),
        ("TERMINATED", 4, False, "stopped_early"),  # only ASHA ends a trial before max_epochs
        ("RUNNING", 4, False, "interrupted"),  # Tune marks it TERMINATED at cleanup; the last step's view is used
        ("PENDING", 0, False, "interrupted"),
        ("PAUSED", 6, False, "interrupted"),
        ("ERROR", 3, True, "error"),
        ("TERMINATED", 10, True, "completed"),  # failed once, retried, finished: Result.error still holds it
        ("", 2, False, "interrupted"),  # never seen by the monitor and short of its epochs
        ("", 0, True, "error"),
    ],
)
def test_a_trial_is_classified_by_tunes_last_status_and_its_epochs(tune_status, last_epoch, has_error, expected):
    assert results.classify(tune_status, last_epoch, 10, has_error) == expected


def test_a_trials_id_and_error_file_are_read_back_from_the_directory_trial_dirname_names():
    assert results._trial_id_from_path("/r/x/" + results.trial_dirname(FakeTrial())) == "1a2b3c4d"
    assert results.error_file("/r/x/train_mnist_1a2b3c4d") == "/r/x/train_mnist_1a2b3c4d/error.txt"
