"""Requests checked against what AKS leaves on a node (node-resource-reservations, AKS 1.29+), not raw
vCPUs; memory checked at all; the settings name the key that does not fit."""

from __future__ import annotations

import warnings

import pytest

from manifests import allocatable, autoscaler, log_sidecar
from settings import SettingsError, parse

VALID = {"ray-aks:apiServerAuthorizedIpRanges": '["20.37.0.1/32"]'}


def settings_of(**config):
    return parse({**VALID, **{f"ray-aks:{key}": value for key, value in config.items()}})


@pytest.mark.parametrize(
    "cores, millicores", [(1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (24, 420), (32, 420), (64, 740), (96, 1060)]
)
def test_kube_reserved_cpu_follows_the_aks_table_and_rounds_up_between_rows(cores, millicores):
    assert allocatable.kube_reserved_cpu_m(cores) == millicores


def test_kube_reserved_memory_is_the_smaller_of_the_pod_formula_and_a_quarter():
    # The doc's examples: 8 GB and 30 pods -> 650 MB; 4 GB and 70 pods -> 25% = 1000 MB.
    assert allocatable.kube_reserved_memory_mi(8000, max_pods=30) == 650
    assert allocatable.kube_reserved_memory_mi(4000, max_pods=70) == 1000


def test_a_d8ds_v5_node_leaves_less_than_its_8_vcpus_and_32_gib():
    room = allocatable.room("Standard_D8ds_v5", 8)
    assert room.cpu_m == 8000 - 180 - allocatable.DAEMONSETS_CPU_M
    assert room.memory_mi == (
        32 * 1024 - (20 * 250 + 50) - 100 - allocatable.DAEMONSETS_MEMORY_MI - allocatable.HOST_FUSE_MEMORY_MI
    )


def test_an_unknown_size_keeps_its_named_vcpus_and_an_unknown_memory():
    room = allocatable.room("Standard_E16ds_v5", 16)
    assert room.memory_mi is None and room.cpu_m == 16000 - 260 - allocatable.DAEMONSETS_CPU_M
    assert allocatable.shortfall(room, 1000, 10**9) == {}


def test_the_default_and_dev_stacks_fit_their_nodes():
    settings_of()
    settings_of(cpuVmSize="Standard_D8ds_v5", gpuVmSize="Standard_NC8as_T4_v3", gpuWorkerCpus=6, gpuWorkerMemoryGi=40)


def test_memory_that_the_vm_has_but_the_node_does_not_leave_is_refused_naming_the_memory_key():
    # NC8as_T4_v3 has 56 GiB; AKS keeps about 5 GiB, the DaemonSets and BlobFuse 2 more.
    with pytest.raises(SettingsError, match=r"ray-aks:gpuWorkerMemoryGi = 52 does not fit on Standard_NC8as_T4_v3"):
        settings_of(gpuVmSize="Standard_NC8as_T4_v3", gpuWorkerCpus=6, gpuWorkerMemoryGi=52)


def test_the_heads_cpus_count_the_autoscaler_sidecar():
    # D8ds_v5 leaves 7.32 CPUs: a 7-CPU head passes the raw vCPU rule but not with the 0.5-CPU sidecar.
    assert allocatable.room("Standard_D8ds_v5", 8).cpu_m < 7000 + autoscaler.AUTOSCALER_CPU_M
    with pytest.raises(SettingsError, match=r"ray-aks:rayHeadCpus = 7 does not fit on Standard_D8ds_v5"):
        settings_of(cpuVmSize="Standard_D8ds_v5", rayHeadCpus=7, rayHeadMemoryGi=8, cpuWorkerCpus=6)


def test_an_unknown_size_is_accepted_with_a_warning_about_its_memory():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings_of(cpuVmSize="Standard_E16ds_v5")
    assert any("Standard_E16ds_v5 is not in manifests/allocatable.VM_SIZES" in str(w.message) for w in caught)


def test_the_workers_account_must_differ_from_the_heads():
    with pytest.raises(SettingsError, match='ray-aks:rayWorkerServiceAccount = "ray-workload" is the head\'s'):
        settings_of(rayWorkerServiceAccount="ray-workload")


@pytest.mark.parametrize(
    "config, key",
    [
        # D32ds_v5 leaves 31.08 CPUs: a 31-CPU worker fits alone, not with the 0.1-CPU log forwarder.
        ({"cpuVmSize": "Standard_D32ds_v5", "cpuWorkerCpus": 31}, "cpuWorkerCpus"),
        # NC24ads_A100_v4 leaves 23.08 CPUs.
        ({"gpuVmSize": "Standard_NC24ads_A100_v4", "gpuWorkerCpus": 23}, "gpuWorkerCpus"),
    ],
)
def test_the_workers_cpus_count_the_log_forwarder_only_when_monitoring_runs_it(config, key):
    settings_of(**config, monitoring=False)
    with pytest.raises(SettingsError, match=rf"ray-aks:{key} = \d+ does not fit on"):
        settings_of(**config, monitoring=True)
    assert log_sidecar.LOG_FORWARDER_CPU_M > 0
