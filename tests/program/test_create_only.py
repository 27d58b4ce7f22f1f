"""Changing a setting behind a create-only property (manifests/create_only.py) between two runs of the
program either plans a replacement that works or is refused, with a message saying what it takes.

The second run stands for the next `pulumi up`: replacements show in its resource options (the mock
monitor records `replaceOnChanges`); refusals and warnings come from checking its settings against the
cluster as the first run created it (what AKS's GET would return), as components/cluster.py does.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from manifests import create_only
from settings import Settings, parse
from tools.mocks import Recording, stack_config

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"

# A changed, valid value for each setting the table names (with what else must change with it).
CHANGES = {
    "cpu_vm_size": {"cpuVmSize": "Standard_D16ds_v5"},
    "gpu_vm_size": {"gpuVmSize": "Standard_NC4as_T4_v3", "gpuWorkerCpus": 3, "gpuWorkerMemoryGi": 16},
    "gpu_spot": {"gpuSpot": False},
    "availability_zones": {"availabilityZones": ["1", "2"]},
    "network_policy": {"networkPolicy": "calico"},
    "pod_cidr": {"podCidr": "10.244.0.0/16"},
    "service_cidr": {"serviceCidr": "172.17.0.0/16", "dnsServiceIp": "172.17.0.10"},
    "dns_service_ip": {"dnsServiceIp": "172.16.0.53"},
    "location": {"location": "westeurope"},
    "system_vm_size": {"systemVmSize": "Standard_D8ds_v5"},
    "system_node_count": {"systemNodeCount": 3},
}
CASES = [(entry, field) for entry in create_only.TABLE for field in entry.settings]


def get(inputs: dict, path: str) -> Any:
    value: Any = inputs
    for part in path.replace("]", "").replace("[", ".").split("."):
        value = value[int(part)] if isinstance(value, list) else (value or {}).get(part)
    return value


def live(rec: Recording) -> dict:
    """The cluster as the first run created it, as AKS's GET reports it."""
    aks = rec.one(AKS).inputs
    return {
        **aks,
        "currentKubernetesVersion": aks["kubernetesVersion"],
        "agentPoolProfiles": [
            *aks["agentPoolProfiles"],
            *[{"name": p.inputs["agentPoolName"], **p.inputs} for p in rec.of_type(POOL)],
        ],
    }


def settings_of(overrides: dict) -> Settings:
    return parse(stack_config("dev", overrides))


def test_every_setting_the_table_names_exists_and_has_a_change_to_try():
    for entry in create_only.TABLE:
        assert entry.source, entry
        for field in entry.settings:
            assert field in Settings.model_fields, field
            assert field in CHANGES, field


@pytest.mark.parametrize(("entry", "field"), CASES, ids=[f"{e.resource}.{e.properties[0]}<-{f}" for e, f in CASES])
def test_changing_a_create_only_setting_is_a_planned_replacement_or_a_refusal(record, dev, entry, field):
    after = record(CHANGES[field])
    if entry.handling == "replace-pool":
        changed = [
            (old, new)
            for old in dev.of_type(POOL)
            for new in after.of_type(POOL)
            if old.inputs["agentPoolName"] == new.inputs["agentPoolName"]
            and any(get(old.inputs, p) != get(new.inputs, p) for p in entry.properties)
        ]
        assert changed, f"{field} changes none of {entry.properties}"
        for _, new in changed:
            assert set(entry.properties) <= set(new.options["replaceOnChanges"])
            # The pool's name is fixed by the cluster: the old pool must go first.
            assert new.options["deleteBeforeReplace"] is True
    elif entry.handling == "replace-cluster":
        old, new = dev.one(AKS), after.one(AKS)
        assert any(get(old.inputs, p) != get(new.inputs, p) for p in entry.properties)
        assert set(entry.properties) <= set(new.options["replaceOnChanges"])
        errors, warnings = create_only.live_conflicts(settings_of(CHANGES[field]), live(dev))
        assert errors == []
        assert any(f"ray-aks:{to_camel(field)} = " in w and "REPLACES" in w for w in warnings), warnings
    else:
        errors, _ = create_only.live_conflicts(settings_of(CHANGES[field]), live(dev))
        [line] = [e for e in errors if f"ray-aks:{to_camel(field)} = " in e]
        assert "cannot be applied" in line or "az aks nodepool scale" in line


def test_unchanged_settings_raise_nothing_against_the_cluster_they_made(dev):
    assert create_only.live_conflicts(settings_of({}), live(dev)) == ([], [])


def test_a_cluster_that_does_not_exist_yet_raises_nothing():
    assert create_only.live_conflicts(settings_of(CHANGES["system_vm_size"]), {}) == ([], [])


def test_a_kubernetes_version_behind_the_running_one_is_a_warning_not_a_downgrade(dev):
    running = {**live(dev), "currentKubernetesVersion": "1.37.2"}
    _, warnings = create_only.live_conflicts(settings_of({}), running)
    assert any("never downgrades" in w for w in warnings)


def test_a_newer_minor_under_a_moving_channel_says_how_to_upgrade(dev):
    running = {**live(dev), "currentKubernetesVersion": "1.35.4"}
    _, warnings = create_only.live_conflicts(settings_of({}), running)
    assert any("az aks upgrade" in w for w in warnings)


def test_a_refused_change_stops_the_program_with_the_message():
    import pulumi

    from components import cluster

    with pytest.raises(pulumi.RunError) as caught:
        cluster._checked(
            settings_of(CHANGES["system_vm_size"]),
            {"agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4ds_v5", "count": 1}]},
        )
    assert "ray-aks:systemVmSize" in str(caught.value) and "az aks nodepool add --mode System" in str(caught.value)
