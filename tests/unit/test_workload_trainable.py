"""workloads.trainable without running Ray: the search space and the known-good starting point."""

from __future__ import annotations

import pytest

from workloads import sweep, train, trainable


@pytest.mark.parametrize("gpu", [False, True])
def test_the_search_space_covers_exactly_the_searched_hyperparameters(gpu):
    assert set(trainable.search_space(gpu)) == set(trainable.SEARCHED)


@pytest.mark.parametrize("gpu", [False, True])
def test_tunes_domains_are_the_sweeps_ray_free_declaration(gpu):
    domains = trainable.search_space(gpu)
    for name, declared in sweep.search_space(gpu).items():
        if isinstance(declared, sweep.Choice):
            assert domains[name].categories == list(declared.options), name
        else:
            assert (domains[name].lower, domains[name].upper) == (declared.low, declared.high), name
            log = isinstance(declared, sweep.LogUniform)
            assert type(domains[name].get_sampler()).__name__ == ("_LogUniform" if log else "_Uniform"), name


@pytest.mark.parametrize("gpu, point", [(False, trainable.KNOWN_GOOD), (True, trainable.KNOWN_GOOD_GPU)])
def test_the_known_good_point_lies_inside_the_search_space(gpu, point):
    space = trainable.search_space(gpu)
    assert point.keys() == space.keys()
    for key, domain in space.items():
        if hasattr(domain, "categories"):
            assert point[key] in domain.categories, key
        else:
            assert domain.lower <= point[key] <= domain.upper, key


def test_every_searched_key_is_a_training_hyperparameter():
    assert set(trainable.SEARCHED) <= set(train.Hyperparameters.__dataclass_fields__)


def test_trial_directories_are_named_by_trainable_and_trial_id():
    class FakeTrial:
        trainable_name, trial_id = "train_mnist", "1a2b3c4d"

    assert trainable.trial_dirname(FakeTrial()) == "train_mnist_1a2b3c4d"


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
    assert trainable.classify(tune_status, last_epoch, 10, has_error) == expected


@pytest.mark.parametrize("gpu, point", [(False, trainable.KNOWN_GOOD), (True, trainable.KNOWN_GOOD_GPU)])
def test_the_search_starts_from_the_known_good_point_unless_told_none(gpu, point):
    assert trainable.initial_points("known-good", gpu) == [point]
    assert trainable.initial_points("none", gpu) is None
    with pytest.raises(ValueError, match="'some'"):
        trainable.initial_points("some", gpu)
