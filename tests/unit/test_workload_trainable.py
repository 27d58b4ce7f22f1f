"""workloads.trainable without running Ray: the search space, the known-good starting point, resumable names."""

from __future__ import annotations

import pickle

import pytest

from workloads import callbacks, results, sweep, train, trainable


@pytest.mark.parametrize("gpu", [False, True])
def test_the_search_space_covers_exactly_the_searched_hyperparameters(gpu):
    assert set(trainable.search_space(gpu)) == set(sweep.SEARCHED)


@pytest.mark.parametrize("gpu", [False, True])
def test_tunes_domains_are_the_sweeps_ray_free_declaration(gpu):
    domains = trainable.search_space(gpu)
    for name, declared in sweep.search_space(gpu).items():
        if isinstance(declared, sweep.Choice):
            assert domains[name].categories == list(declared.options), name
        else:
            assert (domains[name].lower, domains[name].upper) == (declared.low, declared.high), name
            sampler = "_LogUniform" if declared.log else "_Uniform"
            assert type(domains[name].get_sampler()).__name__ == sampler, name


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
    assert set(sweep.SEARCHED) <= set(train.Hyperparameters.__dataclass_fields__)


@pytest.mark.parametrize("gpu, point", [(False, trainable.KNOWN_GOOD), (True, trainable.KNOWN_GOOD_GPU)])
def test_the_search_starts_from_the_known_good_point_unless_told_none(gpu, point):
    assert trainable.initial_points("known-good", gpu) == [point]
    assert trainable.initial_points("none", gpu) is None
    with pytest.raises(ValueError, match="'some'"):
        trainable.initial_points("some", gpu)


@pytest.mark.parametrize(
    "name, defined_in", [("SweepMonitor", callbacks.SweepMonitor), ("trial_dirname", results.trial_dirname)]
)
def test_run_directories_pickled_by_earlier_versions_still_find_the_callback_and_dirname_creator(name, defined_in):
    # tuner.pkl (cloudpickle, by reference) of a run started when these lived in workloads/trainable.py
    # names them there; Tuner.restore unpickles it. Protocol 0's GLOBAL opcode: "c<module>\n<name>\n".
    assert pickle.loads(f"cworkloads.trainable\n{name}\n.".encode()) is defined_in
