"""workloads.callbacks without running Ray: the failure lines on stderr, the search window."""

from __future__ import annotations

import logging

from workloads import callbacks


class FakeTrial:
    trial_id, num_failures, path, status = "1a2b3c4d", 2, "/r/x/train_mnist_1a2b3c4d", "ERROR"


def test_a_trial_failed_for_good_is_logged_with_its_error_file_under_the_trainables_name(caplog):
    monitor = callbacks.SweepMonitor(max_failures=1)
    with caplog.at_level(logging.ERROR, logger="workloads"):
        monitor.on_trial_error(3, [FakeTrial()], FakeTrial())
    [record] = caplog.records
    # The name stderr's lines have always carried (`ERROR workloads.trainable: ...`).
    assert record.name == "workloads.trainable"
    assert "1a2b3c4d" in record.getMessage() and "/r/x/train_mnist_1a2b3c4d/error.txt" in record.getMessage()


def test_the_search_window_opens_at_setup_and_closes_at_the_last_save():
    clock = callbacks.SearchClock()
    assert clock.window() is None
    clock.setup()
    assert clock.window() is None  # no save yet
    clock.get_state()
    window = clock.window()
    assert window is not None and window.seconds >= 0 and callbacks.SearchClock.last_window() == window
