"""The mocks name and check resources as azure-native and ARM do, so a bad name fails here, not on Azure."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tools import arm_names
from tools.mocks import AzureMocks, run_program, stack_config

# Settings that switch on every optional resource the program can register.
VARIANTS: list[dict[str, Any]] = [
    {},
    {"gpuSpot": False},
    {"retainData": False},
    {"storageAccountName": "rayaksdata042"},
    {"availabilityZones": ["1", "2", "3"]},
]


@pytest.mark.parametrize("overrides", VARIANTS, ids=[",".join(v) or "dev" for v in VARIANTS])
def test_every_azure_native_type_the_program_registers_has_a_naming_rule(record, overrides):
    types = {r.type for r in record(overrides).resources.values() if r.type.startswith("azure-native:")}
    assert types, "the program registered no Azure resource"
    assert types - set(arm_names.RULES) == set(), "add their ARM naming rules to tools/arm_names.py"


def test_every_rule_names_its_spec_file_and_api_version():
    for resource_type, rule in arm_names.RULES.items():
        assert rule.spec.endswith(".json"), resource_type
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", rule.api_version), resource_type
        assert rule.api_version in rule.spec or "resource-manager" in rule.spec, resource_type
        assert "{" + rule.name_param in rule.path or "{" + rule.name_param[0].upper() + rule.name_param[1:] in rule.path


def test_the_rules_use_the_api_versions_the_sdk_sends():
    import importlib

    for resource_type, rule in arm_names.RULES.items():
        module, _, name = resource_type.removeprefix("azure-native:").partition(":")
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
        source = Path(sys.modules[cls.__module__].__file__).read_text()
        # Exactly that version: 2023-01-01 must not pass for a module that sends 2023-01-01-preview.
        assert re.search(rf"Uses Azure REST API version {re.escape(rule.api_version)}(?![\w-])", source), resource_type


def test_unnamed_resources_get_the_logical_name_and_8_hex_or_a_guid_as_azure_native_gives_them(dev):
    autonamed = 0
    for resource in dev.resources.values():
        if not resource.type.startswith("azure-native:"):
            continue
        rule = arm_names.rule(resource.type)
        name = resource.outputs[rule.name_param]
        if rule.name_param in resource.inputs:
            continue
        autonamed += 1
        if rule.autoname == "uuid":
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", name), resource.name
        else:
            assert re.fullmatch(re.escape(resource.name) + r"[0-9a-f]{8}", name), resource.name
    assert autonamed >= 8


def test_every_azure_resource_has_its_arm_id(dev):
    for resource in dev.resources.values():
        if resource.type.startswith("azure-native:"):
            assert resource.id == arm_names.arm_id(
                resource.type, resource.outputs, "22222222-2222-2222-2222-222222222222"
            )
            assert "{" not in resource.id, resource.id


def _register(mocks: AzureMocks, typ: str, name: str, inputs: dict, resource_id: str | None = None):
    return mocks.new_resource(pulumi.runtime.MockResourceArgs(typ, name, inputs, None, resource_id, True))


def test_an_autonamed_storage_account_is_refused_with_the_rule_and_its_source():
    # What the program did with an empty storageAccountName: azure-native named it storage-account<hex>.
    with pytest.raises(ValueError) as caught:
        _register(AzureMocks(), "azure-native:storage:StorageAccount", "storage-account", {"resourceGroupName": "g"})
    message = str(caught.value)
    assert "accountName 'storage-account" in message and "^[a-z0-9]+$" in message
    assert "Microsoft.Storage/stable/2024-01-01/storage.json" in message


@pytest.mark.parametrize(
    ("typ", "inputs", "why"),
    [
        (
            "azure-native:containerservice:AgentPool",
            {"agentPoolName": "gpuspotpool01", "resourceName": "c", "resourceGroupName": "g"},
            "longer than 12",
        ),
        (
            "azure-native:containerservice:AgentPool",
            {"agentPoolName": "gpu-spot", "resourceName": "c", "resourceGroupName": "g"},
            "^[a-z][a-z0-9]{0,11}$",
        ),
        (
            "azure-native:containerservice:ManagedCluster",
            {"resourceGroupName": "g", "agentPoolProfiles": [{"name": "System"}]},
            "agentPoolProfiles[0].name 'System'",
        ),
        (
            "azure-native:storage:BlobContainer",
            {"containerName": "Data--sets", "accountName": "a", "resourceGroupName": "g"},
            "containerName",
        ),
        ("azure-native:resources:ResourceGroup", {"resourceGroupName": "a" * 91}, "longer than 90"),
        (
            "azure-native:storage:BlobServiceProperties",
            {"blobServicesName": "blobs", "accountName": "a", "resourceGroupName": "g"},
            "is not one of default",
        ),
    ],
)
def test_names_that_break_the_arm_rule_are_refused(typ, inputs, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        _register(AzureMocks(), typ, "x", inputs)


def test_a_type_without_a_rule_is_refused_so_a_new_resource_type_needs_one():
    with pytest.raises(KeyError, match="no naming rule"):
        _register(AzureMocks(), "azure-native:keyvault:Vault", "vault", {"resourceGroupName": "g"})


def test_creating_what_already_exists_is_refused_as_azure_native_refuses_it():
    mocks = AzureMocks()
    _register(mocks, "azure-native:resources:ResourceGroup", "a", {"resourceGroupName": "kept"})
    with pytest.raises(ValueError, match="cannot create already existing resource"):
        _register(AzureMocks(mocks.cloud), "azure-native:resources:ResourceGroup", "b", {"resourceGroupName": "kept"})


def test_importing_what_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="does not exist"):
        _register(
            AzureMocks(),
            "azure-native:resources:ResourceGroup",
            "a",
            {"resourceGroupName": "gone"},
            "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/gone",
        )


# --- The VNet keeps the subnet it was not given ------------------------------------------------------------


def test_the_vnet_ignores_no_changes_and_leaves_its_subnets_to_the_subnet_resource(dev):
    vnet = dev.one("azure-native:network:VirtualNetwork")
    assert vnet.options["ignoreChanges"] == []
    assert "subnets" not in vnet.inputs
    assert dev.one("azure-native:network:Subnet").inputs["virtualNetworkName"] == vnet.outputs["name"]


# --- destroy with an unreachable API server ----------------------------------------------------------------


def test_the_kubernetes_provider_never_records_delete_unreachable(monkeypatch):
    # Set while `pulumi up` runs, the SDK would copy it into the provider's inputs; every later refresh with
    # the API server out of reach would then drop the Kubernetes resources from the state.
    monkeypatch.setenv("PULUMI_K8S_DELETE_UNREACHABLE", "true")
    provider = run_program(stack_config("dev")).one("pulumi:providers:kubernetes")
    assert "deleteUnreachable" not in provider.inputs
    import os

    assert os.environ["PULUMI_K8S_DELETE_UNREACHABLE"] == "true"


def test_nor_does_it_record_false_which_would_stop_the_destroy_time_variable(dev):
    assert "deleteUnreachable" not in dev.one("pulumi:providers:kubernetes").inputs


def test_a_storage_account_name_taken_in_another_resource_group_is_refused():
    mocks = AzureMocks()
    _register(
        mocks, "azure-native:storage:StorageAccount", "a", {"resourceGroupName": "one", "accountName": "rayaksdata042"}
    )
    with pytest.raises(ValueError, match="already taken"):
        _register(
            AzureMocks(mocks.cloud),
            "azure-native:storage:StorageAccount",
            "b",
            {"resourceGroupName": "two", "accountName": "rayaksdata042"},
        )


# --- The monitoring and registry types ---------------------------------------------------------------------

_G = {"resourceGroupName": "g"}
CLUSTER_ID = (
    "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/g/providers/"
    "Microsoft.ContainerService/managedClusters/c"
)
# (type, the name input, a name its ARM spec refuses, why, one it takes, the other inputs)
NEW_RULES = [
    ("azure-native:containerregistry:Registry", "registryName", "ray-aks-acr", "^[a-zA-Z0-9]*$", "rayaksdev042", _G),
    ("azure-native:containerregistry:Registry", "registryName", "acr1", "shorter than 5", "rayaksdev042", _G),
    ("azure-native:containerregistry:Registry", "registryName", "a" * 51, "longer than 50", "a" * 50, _G),
    (
        "azure-native:containerregistry:CacheRule",
        "cacheRuleName",
        "ray_base",
        "^[a-zA-Z0-9-]*$",
        "ray-base",
        {**_G, "registryName": "rayaksdev042"},
    ),
    (
        "azure-native:monitor:AzureMonitorWorkspace",
        "azureMonitorWorkspaceName",
        "prometheus-",
        "^(?!-)[a-zA-Z0-9-]+[^-]$",
        "monitoring-prometheus1a2b3c4d",
        _G,
    ),
    (
        "azure-native:monitor:AzureMonitorWorkspace",
        "azureMonitorWorkspaceName",
        "-prometheus",
        "^(?!-)[a-zA-Z0-9-]+[^-]$",
        "p2",
        _G,
    ),
    (
        "azure-native:alertsmanagement:PrometheusRuleGroup",
        "ruleGroupName",
        "ray/alerts",
        "does not match",
        "cluster-monitoring-alerts1a2b3c4d",
        _G,
    ),
    (
        "azure-native:alertsmanagement:PrometheusRuleGroup",
        "ruleGroupName",
        "ray:alerts",
        "does not match",
        "Ray alerts (GPU)",
        _G,
    ),
    ("azure-native:dashboard:Grafana", "workspaceName", "1grafana", "does not match", "ray-aks-dev", _G),
    ("azure-native:dashboard:Grafana", "workspaceName", "grafana-", "does not match", "g1", _G),
    ("azure-native:dashboard:Grafana", "workspaceName", "g" * 31, "does not match", "g" * 30, _G),
    ("azure-native:operationalinsights:Workspace", "workspaceName", "log", "shorter than 4", "logs", _G),
    (
        "azure-native:operationalinsights:Workspace",
        "workspaceName",
        "logs_ray",
        "does not match",
        "monitoring-logs1a2b3c4d",
        _G,
    ),
    ("azure-native:operationalinsights:Workspace", "workspaceName", "l" * 64, "longer than 63", "l" * 63, _G),
]


@pytest.mark.parametrize(
    ("typ", "key", "refused", "why", "taken", "inputs"),
    NEW_RULES,
    ids=[f"{row[0].rsplit(':', 1)[1]}-{row[2][:12]}" for row in NEW_RULES],
)
def test_the_monitoring_and_registry_rules_refuse_what_their_spec_refuses(typ, key, refused, why, taken, inputs):
    with pytest.raises(ValueError, match=re.escape(why)) as caught:
        _register(AzureMocks(), typ, "x", {**inputs, key: refused})
    assert arm_names.rule(typ).spec in str(caught.value)
    resource_id, outputs = _register(AzureMocks(), typ, "x", {**inputs, key: taken})
    assert outputs["name"] == taken and resource_id.endswith("/" + taken)


@pytest.mark.parametrize(
    "typ", ["azure-native:monitor:DataCollectionEndpoint", "azure-native:monitor:DataCollectionRule"]
)
def test_collection_endpoints_and_rules_take_any_name_as_their_spec_does(typ):
    _, outputs = _register(AzureMocks(), typ, "monitoring-prometheus-dce", _G)
    assert re.fullmatch(r"monitoring-prometheus-dce[0-9a-f]{8}", outputs["name"])
    assert arm_names.rule(typ).violations("MSProm-eastus2-ray-aks-dev_(1)") == []


def test_a_rule_association_lives_under_the_cluster_it_ties():
    resource_id, _ = _register(
        AzureMocks(),
        "azure-native:monitor:DataCollectionRuleAssociation",
        "a",
        {"resourceUri": CLUSTER_ID, "associationName": "ContainerInsightsExtension"},
    )
    assert (
        resource_id
        == CLUSTER_ID + "/providers/Microsoft.Insights/dataCollectionRuleAssociations/ContainerInsightsExtension"
    )


def test_a_log_analytics_workspace_id_is_spelled_as_its_spec_spells_it():
    resource_id, _ = _register(
        AzureMocks(), "azure-native:operationalinsights:Workspace", "logs", {**_G, "workspaceName": "ray-logs"}
    )
    assert resource_id == (
        "/subscriptions/22222222-2222-2222-2222-222222222222/resourcegroups/g/providers/"
        "Microsoft.OperationalInsights/workspaces/ray-logs"
    )


def test_an_autonamed_registry_is_refused_so_the_registry_needs_a_derived_name():
    # Registry("registry") names its ACR f"{name}-acr": azure-native would send registry-acr<8 hex>.
    with pytest.raises(ValueError, match=re.escape("registryName 'registry-acr")):
        _register(AzureMocks(), "azure-native:containerregistry:Registry", "registry-acr", _G)


def test_an_autonamed_grafana_under_a_long_component_name_is_refused():
    # The logical name plus 8 hex characters must fit Grafana's 30: monitoring-grafana (18) does, a 23-character
    # one does not.
    _register(AzureMocks(), "azure-native:dashboard:Grafana", "monitoring-grafana", _G)
    with pytest.raises(ValueError, match="workspaceName 'cluster-monitoring-grafana"):
        _register(AzureMocks(), "azure-native:dashboard:Grafana", "cluster-monitoring-grafana", _G)


def test_a_registry_name_taken_in_another_resource_group_is_refused():
    mocks = AzureMocks()
    _register(
        mocks,
        "azure-native:containerregistry:Registry",
        "a",
        {"resourceGroupName": "one", "registryName": "rayaksdev042"},
    )
    with pytest.raises(ValueError, match="already taken"):
        _register(
            AzureMocks(mocks.cloud),
            "azure-native:containerregistry:Registry",
            "b",
            {"resourceGroupName": "two", "registryName": "rayaksdev042"},
        )


def test_a_seed_gives_the_same_autonames_whatever_order_resources_register_in():
    # Registration order varies between runs (outputs resolve concurrently); the offline plan must not.
    def names(seed: int) -> dict[str, str]:
        rec = run_program(stack_config("dev"), seed=seed)
        return {
            urn: str(r.outputs.get(arm_names.rule(r.type).name_param))
            for urn, r in rec.resources.items()
            if r.type.startswith("azure-native:") and r.type in arm_names.RULES
        }

    first, again, other = names(5), names(5), names(6)
    assert first == again
    autonamed = [urn for urn in first if first[urn] != other[urn]]
    assert autonamed, "some resources are autonamed, and another seed names them otherwise"
