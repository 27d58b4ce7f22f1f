"""Sizing the sweep: the GPU share whenever the cluster can have GPUs, concurrency from the groups' maxima,
one formula for the workload and the benchmark, and a resumed run that keeps what it chose."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import measure
from workloads import capacity, tune
from workloads.capacity import Choice, Group
from workloads.sweep import Sweep

# The dev stack's RayCluster at its maxima: 2 CPU workers of 6 CPUs, 2 T4 workers of 6 CPUs and 1 GPU.
DEV_GROUPS = [Group("cpu", 6, 0, 2), Group("gpu", 6, 1, 2)]
SCALED_TO_ZERO = {"memory": 8.0 * 2**30, "object_store_memory": 2.0 * 2**30}  # a 0-CPU head, no worker


def test_a_cluster_scaled_to_zero_still_gets_gpu_trials_and_concurrency_from_its_groups():
    choice = capacity.choose(DEV_GROUPS, cpus_per_trial=1, gpus_per_trial=None, max_concurrent=None, num_samples=16)
    assert choice == Choice(1, capacity.GPUS_PER_TRIAL, 8)


def test_today_the_nodes_present_of_a_cluster_at_zero_would_give_one_cpu_trial_at_a_time():
    # The nodes present are what a job sees in ray.cluster_resources() on a fresh cluster.
    choice = capacity.choose(
        capacity.groups_from_resources(SCALED_TO_ZERO),
        cpus_per_trial=1,
        gpus_per_trial=None,
        max_concurrent=None,
        num_samples=16,
    )
    assert choice == Choice(1, 0.0, 1)


@pytest.mark.parametrize(
    "groups, cpus, gpus, samples, expected",
    [
        (DEV_GROUPS, 1, 0.25, 16, 8),  # GPU trials fit the GPU group only
        (DEV_GROUPS, 1, 0, 100, 24),  # CPU trials fit both groups' CPUs
        (DEV_GROUPS, 1, 0.25, 3, 3),  # never more than the trials
        ([Group("gpu", 2, 4, 3)], 1, 0.25, 100, 6),  # CPUs bound a GPU node too
        ([Group("cpu", 6, 0, 0)], 1, 0, 10, 1),  # a group that cannot grow: at least one, waiting
        ([Group("gpu", 8, 1, -1)], 1, 0.25, 50, 50),  # unbounded group: the trials bound it
    ],
)
def test_concurrency_packs_trials_per_node_at_each_groups_maximum(groups, cpus, gpus, samples, expected):
    assert capacity.concurrent_trials(groups, cpus, gpus, samples) == expected


@given(
    st.floats(0, 64),
    st.floats(0, 8),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from([0, 0.25, 0.5, 1.0]),
    st.integers(1, 64),
)
def test_the_benchmark_counts_slots_with_the_workloads_formula(cpus, gpus, cpt, gpt, trials):
    assert measure.concurrent_slots(cpus, gpus, cpt, gpt, trials) == capacity.concurrent_trials(
        [Group("machine", cpus, gpus, 1)], cpt, gpt, trials
    )


def test_explicit_flags_win_over_the_groups():
    choice = capacity.choose(DEV_GROUPS, cpus_per_trial=2, gpus_per_trial=0.5, max_concurrent=3, num_samples=16)
    assert choice == Choice(2, 0.5, 3)


def test_groups_read_from_the_autoscalers_cluster_config_shape():
    class NodeGroupConfig:  # autoscaler.proto's fields
        def __init__(self, name, resources, max_count):
            self.name, self.resources, self.max_count, self.min_count = name, resources, max_count, 0

    groups = capacity.groups_from_cluster_config([NodeGroupConfig("gpu", {"CPU": 6, "GPU": 1, "memory": 9}, 2)])
    assert groups == [Group("gpu", 6.0, 1.0, 2)]


# --- Resume keeps the original resources ------------------------------------------------------------


def sweep(tmp_path, **flags) -> Sweep:
    return Sweep(name="run-1", data_dir=tmp_path / "data", storage_path=tmp_path / "results", **flags)


def test_a_new_run_records_what_it_chose_in_its_run_directory(tmp_path):
    choice = tune.choose_resources(sweep(tmp_path, gpus_per_trial=0.25, max_concurrent=8), SCALED_TO_ZERO, False)
    assert choice == Choice(1.0, 0.25, 8)
    assert capacity.load_choice(tmp_path / "results" / "run-1") == choice


def test_a_resume_while_the_gpu_pool_is_at_zero_keeps_the_gpu_share_and_concurrency(tmp_path):
    tune.choose_resources(sweep(tmp_path, gpus_per_trial=0.25, max_concurrent=8), SCALED_TO_ZERO, False)
    # Resubmitted without the flags (e.g. `ray job submit ... --name run-1`), while no GPU node is up.
    resumed = tune.choose_resources(sweep(tmp_path), SCALED_TO_ZERO, True)
    assert resumed == Choice(1.0, 0.25, 8)


def test_a_resume_with_explicit_flags_takes_them(tmp_path):
    tune.choose_resources(sweep(tmp_path, gpus_per_trial=0.25, max_concurrent=8), SCALED_TO_ZERO, False)
    assert tune.choose_resources(sweep(tmp_path, gpus_per_trial=0.5), SCALED_TO_ZERO, True) == Choice(1.0, 0.5, 8)


def test_a_run_without_a_record_sizes_itself_from_the_nodes_present(tmp_path):
    assert tune.choose_resources(sweep(tmp_path), {"CPU": 2.0}, True) == Choice(1.0, 0.0, 2)
