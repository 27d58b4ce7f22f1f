"""Each rule across settings (settings/rules.py) on its own: a valid stack passes it, and a stack that
breaks it gets one problem naming the field to blame, its value and why. The broken stacks are built with
model_copy, which skips validation, so a rule is judged alone, not behind the others."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from settings import EXAMPLE_PUBLIC_CIDR, Settings, SettingsError, parse, rules

CONFIG = {"ray-aks:apiServerAuthorizedIpRanges": json.dumps([EXAMPLE_PUBLIC_CIDR])}
VALID = parse(CONFIG)
ADOPTED = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ray-aks-dev-data/providers/"
    "Microsoft.Storage/storageAccounts/rayaksdev0123456789"
)

# (rule, changes that break it, the field blamed, its value, words of the reason)
BROKEN: list[tuple[rules.Rule, dict[str, Any], str, Any, str]] = [
    (
        rules.adopted_account_keeps_its_name,
        {"adopt_storage_account": ADOPTED, "storage_account_name": "other042"},
        "storage_account_name",
        "other042",
        "is not the account adoptStorageAccount names (rayaksdev0123456789)",
    ),
    (rules.pool_minimums_within_maximums, {"cpu_min_count": 5}, "cpu_min_count", 5, "greater than cpuMaxCount (4)"),
    (rules.pool_minimums_within_maximums, {"gpu_min_count": 3}, "gpu_min_count", 3, "greater than gpuMaxCount (2)"),
    (
        rules.node_subnet_inside_vnet,
        {"node_subnet_cidr": "10.20.0.0/22"},
        "node_subnet_cidr",
        "10.20.0.0/22",
        "is not inside vnetCidr (10.10.0.0/16)",
    ),
    (
        rules.overlay_ranges_outside_vnet,
        {"pod_cidr": "10.10.128.0/17"},
        "pod_cidr",
        "10.10.128.0/17",
        "overlaps vnetCidr (10.10.0.0/16)",
    ),
    (
        rules.overlay_ranges_outside_vnet,
        {"service_cidr": "10.10.0.0/16"},
        "service_cidr",
        "10.10.0.0/16",
        "overlaps vnetCidr",
    ),
    (
        rules.pod_and_service_ranges_apart,
        {"service_cidr": "192.168.0.0/20"},
        "service_cidr",
        "192.168.0.0/20",
        "overlaps podCidr (192.168.0.0/16)",
    ),
    (
        rules.dns_address_in_service_range,
        {"dns_service_ip": "10.0.0.10"},
        "dns_service_ip",
        "10.0.0.10",
        "not a usable address of serviceCidr (172.16.0.0/16)",
    ),
    (
        rules.dns_address_in_service_range,
        {"dns_service_ip": "172.16.0.1"},
        "dns_service_ip",
        "172.16.0.1",
        "the .1 is the API's",
    ),
    (
        rules.someone_administers,
        {"deployer_principal_type": "None"},
        "deployer_principal_type",
        "None",
        "without any admin",
    ),
    (
        rules.node_image_upgrades_keep_the_node_image_channel,
        {"upgrade_channel": "node-image", "node_os_upgrade_channel": "SecurityPatch"},
        "node_os_upgrade_channel",
        "SecurityPatch",
        "requires NodeImage",
    ),
    (
        rules.gpus_per_node_match_the_size,
        {"gpus_per_node": 2},
        "gpus_per_node",
        2,
        "but Standard_NC24ads_A100_v4 has 1",
    ),
    (
        rules.ray_cpus_below_the_vcpus,
        {"gpu_worker_cpus": 24},
        "gpu_worker_cpus",
        24,
        "does not fit on Standard_NC24ads_A100_v4 (24 vCPUs",
    ),
    (
        rules.ray_cpus_below_the_vcpus,
        {"ray_head_cpus": 8},
        "ray_head_cpus",
        8,
        "does not fit on Standard_D8ds_v5 (8 vCPUs",
    ),
    (
        rules.mount_paths_apart,
        {"results_mount_path": "/mnt/datasets/results"},
        "results_mount_path",
        "/mnt/datasets/results",
        "overlaps datasetsMountPath (/mnt/datasets)",
    ),
    (
        rules.mount_paths_apart,
        {"datasets_mount_path": "/mnt/results"},
        "results_mount_path",
        "/mnt/results",
        "overlaps datasetsMountPath (/mnt/results)",
    ),
    (
        rules.workers_have_their_own_account,
        {"ray_worker_service_account": "ray-workload"},
        "ray_worker_service_account",
        "ray-workload",
        "is the head's rayServiceAccount",
    ),
    (
        rules.ray_pods_fit_their_nodes,
        {"ray_head_memory_gi": 30},
        "ray_head_memory_gi",
        30,
        "does not fit on Standard_D8ds_v5: the pod asks for 30.6 GiB",  # with the sidecars
    ),
]
ALL_RULES = [rule for stage in rules.STAGES for rule in stage]


def broken(changes: dict) -> Settings:
    return VALID.model_copy(update=changes)


def test_every_rule_is_in_a_stage_once_and_has_a_broken_case_here():
    assert len(ALL_RULES) == len(set(ALL_RULES))
    assert {rule for rule, *_ in BROKEN} == set(ALL_RULES)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.__name__)
def test_a_valid_stack_passes_every_rule(rule):
    assert rule(VALID) == []


@pytest.mark.parametrize(
    ("rule", "changes", "field", "value", "words"),
    BROKEN,
    ids=[f"{rule.__name__}:{','.join(changes)}" for rule, changes, *_ in BROKEN],
)
def test_a_stack_that_breaks_a_rule_gets_one_problem_naming_the_field_its_value_and_why(
    rule, changes, field, value, words
):
    [(blamed, shown, why)] = rule(broken(changes))
    assert (blamed, shown) == (field, value)
    assert words in why
    # The same problem reaches the user through parse, as a line of its message.
    config = {f"ray-aks:{to_camel(key)}": str(v) for key, v in changes.items()}
    with pytest.raises(SettingsError) as caught:
        parse({**CONFIG, **config})
    [line] = [line for line in str(caught.value).splitlines() if f"ray-aks:{to_camel(field)} = " in line]
    assert words in line and "Valid example" in line


def test_the_pod_rule_counts_what_the_vcpu_rule_does_not():
    # 7 CPUs pass the vCPU rule on an 8-vCPU size, not with the autoscaler and log-forwarder sidecars and
    # AKS's reservations.
    assert rules.ray_cpus_below_the_vcpus(broken({"ray_head_cpus": 7})) == []
    [(field, value, why)] = rules.ray_pods_fit_their_nodes(broken({"ray_head_cpus": 7}))
    assert (field, value) == ("ray_head_cpus", 7) and "asks for 7.6 CPUs" in why


def test_the_pod_rule_warns_of_a_size_whose_memory_it_does_not_know():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert rules.ray_pods_fit_their_nodes(broken({"cpu_vm_size": "Standard_E16ds_v5"})) == []
    assert any("Standard_E16ds_v5 is not in manifests/allocatable.VM_SIZES" in str(w.message) for w in caught)


def test_a_later_stage_runs_only_when_the_earlier_ones_pass():
    # A 24-CPU GPU worker on a 24-vCPU size breaks the vCPU rule and the allocatable one: told once.
    with pytest.raises(SettingsError) as caught:
        parse({**CONFIG, "ray-aks:gpuWorkerCpus": "24"})
    assert rules.ray_pods_fit_their_nodes(broken({"gpu_worker_cpus": 24}))
    assert str(caught.value).count("ray-aks:gpuWorkerCpus = ") == 1
    assert "does not fit on Standard_NC24ads_A100_v4 (24 vCPUs" in str(caught.value)


def test_the_problems_of_one_stage_are_listed_together_in_the_rules_order():
    with pytest.raises(SettingsError) as caught:
        parse(
            {
                **CONFIG,
                "ray-aks:resultsMountPath": "/mnt/datasets/results",
                "ray-aks:cpuMinCount": "5",
                "ray-aks:dnsServiceIp": "10.0.0.10",
            }
        )
    keys = [line.split(" = ")[0].strip() for line in str(caught.value).splitlines()[1:]]
    assert keys == ["ray-aks:cpuMinCount", "ray-aks:dnsServiceIp", "ray-aks:resultsMountPath"]
