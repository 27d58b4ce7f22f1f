"""The program's own resources, recorded under mocks with the dev stack's config, through the whole pack:
no violation as it stands, and exactly the expected one when a single setting is turned off in config."""

from __future__ import annotations

import inspect

import pulumi_azure_native
import pytest

from policy import policies as p
from tools.pack import evaluate


def test_the_dev_stack_passes_every_policy(dev):
    assert [str(v) for v in evaluate(dev)] == []


def test_the_program_never_asks_azure_for_storage_account_keys(dev):
    """Policies see resources, not invokes: the recording does."""
    assert [token for token, _ in dev.invokes if "key" in token.lower() or "sas" in token.lower()] == []


def test_the_pack_looks_at_every_kind_of_resource_it_governs(dev):
    """Guards against a rule silently matching nothing because a type name changed."""
    governed = {t for rule in p.RULES if rule.types for t in rule.types}
    present = {r.type for r in dev.resources.values()}
    assert governed & present >= {
        p.STORAGE_ACCOUNT,
        p.BLOB_SERVICE,
        p.MANAGED_CLUSTER,
        p.AGENT_POOL,
        p.PERSISTENT_VOLUME,
        p.STORAGE_CLASS,
        p.RAY_CLUSTER,
    }


CONFIG_CHANGES = {
    "upgrade channel none fails the auto-upgrade policy only": (
        {"upgradeChannel": "none"},
        None,
        [("aks-auto-upgrade", "cluster-aks", "upgradeChannel is 'none'")],
    ),
    "a node OS left unpatched fails the auto-upgrade policy only": (
        {"nodeOsUpgradeChannel": "None"},
        None,
        [("aks-auto-upgrade", "cluster-aks", "nodeOSUpgradeChannel is 'None'")],
    ),
    "a GPU pool that keeps a node fails the GPU pool policy only": (
        {"gpuMinCount": 1},
        None,
        [("gpu-pool-autoscales-from-zero", "cluster-gpu", "minCount is 1")],
    ),
    "more GPU nodes than the bound fails the GPU pool policy only": (
        {"gpuMaxCount": 9},
        None,
        [("gpu-pool-autoscales-from-zero", "cluster-gpu", "maxCount is 9; at most 8")],
    ),
    "more GPU nodes within a bound raised in the pack's config pass": (
        {"gpuMaxCount": 9},
        {"gpu-pool-autoscales-from-zero": {"maxNodes": 12}},
        [],
    ),
    "a tag required by the pack's config and missing fails on every taggable resource": (
        {},
        {"azure-required-tags": {"requiredTags": ["owner"]}},
        [
            ("azure-required-tags", name, "tags lack ['owner']")
            for name in (
                "cluster-aks",
                "cluster-control-plane",
                "cluster-cpu",
                "cluster-gpu",
                "identity-ray",
                "network-vnet",
                "ray-aks",
                "registry-acr",
                "storage-account",
                "storage-rg",
                "monitoring-logs",
                "monitoring-prometheus",
                "monitoring-prometheus-dce",
                "monitoring-prometheus-dcr",
                "monitoring-container-insights-dcr",
                "monitoring-grafana",
                "cluster-monitoring-alerts",
            )
        ],
    ),
    "a tag from config satisfies the pack's config": (
        {"extraTags": ["owner=ml-platform"]},
        {"azure-required-tags": {"requiredTags": ["owner"]}},
        [],
    ),
}


@pytest.mark.parametrize(("overrides", "pack_config", "expected"), CONFIG_CHANGES.values(), ids=CONFIG_CHANGES.keys())
def test_turning_one_setting_off_fails_exactly_the_policy_that_guards_it(record, overrides, pack_config, expected):
    recording = record(overrides)
    found = evaluate(recording, pack_config)
    names = {r.urn: r.name for r in recording.resources.values()}
    assert sorted((v.policy, names[v.urn]) for v in found) == sorted((policy, name) for policy, name, _ in expected)
    for violation in found:
        fragment = next(f for policy, name, f in expected if (policy, name) == (violation.policy, names[violation.urn]))
        assert fragment in violation.message


def test_unknown_outputs_at_preview_raise_no_violation(dev):
    """Under preview mocks nothing is unknown, so blank what preview can't know: every output-derived value."""
    import copy

    preview = copy.deepcopy(dev)
    for resource in preview.resources.values():
        for prop, urns in resource.property_dependencies.items():
            if urns and prop in resource.inputs:
                resource.inputs[prop] = "<unknown>"
                resource.outputs[prop] = "<unknown>"
        for output in ("clientId", "principalId"):
            if output in resource.outputs:
                resource.outputs[output] = "<unknown>"
    assert [str(v) for v in evaluate(preview)] == []


# --- The pack's list of Azure types that take tags agrees with the azure-native SDK -----------------


def _sdk_takes_tags(type_: str) -> bool:
    _, module, name = type_.split(":")
    cls = getattr(getattr(pulumi_azure_native, module), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_the_pack_knows_which_azure_types_take_tags(dev):
    types = {(r.type, tuple(sorted(r.inputs))) for r in dev.resources.values() if r.type.startswith("azure-native:")}
    for type_, inputs in sorted(types):
        assert p.takes_tags(type_, dict.fromkeys(inputs)) == _sdk_takes_tags(type_), type_
    for type_ in sorted(p.TAGGED_TYPES):
        assert _sdk_takes_tags(type_), type_
