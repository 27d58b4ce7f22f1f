"""The mocks name and check resources as azure-native and ARM do, so a bad name fails here, not on Azure."""

from __future__ import annotations

import re

import pulumi
import pytest

from tools import arm_names
from tools.mocks import AzureMocks, run_program, stack_config

# Settings that switch on every optional resource the program can register.
VARIANTS = [{}, {"gpuSpot": False}, {"retainData": False}, {"storageAccountName": "rayaksdata042"},
            {"availabilityZones": ["1", "2", "3"]}]


@pytest.mark.parametrize("overrides", VARIANTS, ids=[",".join(v) or "dev" for v in VARIANTS])
def test_every_azure_native_type_the_program_registers_has_a_naming_rule(record, overrides):
    types = {r.type for r in record(overrides).resources.values() if r.type.startswith("azure-native:")}
    assert types, "the program registered no Azure resource"
    assert types - set(arm_names.RULES) == set(), "add their ARM naming rules to tools/arm_names.py"


def test_every_rule_names_its_spec_file_and_api_version():
    for resource_type, rule in arm_names.RULES.items():
        assert rule.spec.endswith(".json") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", rule.api_version), resource_type
        assert rule.api_version in rule.spec or "resource-manager" in rule.spec, resource_type
        assert "{" + rule.name_param in rule.path or "{" + rule.name_param[0].upper() + rule.name_param[1:] in rule.path


def test_the_rules_use_the_api_versions_the_sdk_sends():
    import importlib
    import sys

    for resource_type, rule in arm_names.RULES.items():
        module, _, name = resource_type.removeprefix("azure-native:").partition(":")
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
        source = open(sys.modules[cls.__module__].__file__).read()
        assert f"Uses Azure REST API version {rule.api_version}" in source, resource_type


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
            assert resource.id == arm_names.arm_id(resource.type, resource.outputs, "22222222-2222-2222-2222-222222222222")
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


@pytest.mark.parametrize(("typ", "inputs", "why"), [
    ("azure-native:containerservice:AgentPool", {"agentPoolName": "gpuspotpool01", "resourceName": "c",
                                                  "resourceGroupName": "g"}, "longer than 12"),
    ("azure-native:containerservice:AgentPool", {"agentPoolName": "gpu-spot", "resourceName": "c",
                                                  "resourceGroupName": "g"}, "^[a-z][a-z0-9]{0,11}$"),
    ("azure-native:containerservice:ManagedCluster", {"resourceGroupName": "g", "agentPoolProfiles": [
        {"name": "System"}]}, "agentPoolProfiles[0].name 'System'"),
    ("azure-native:storage:BlobContainer", {"containerName": "Data--sets", "accountName": "a",
                                            "resourceGroupName": "g"}, "containerName"),
    ("azure-native:resources:ResourceGroup", {"resourceGroupName": "a" * 91}, "longer than 90"),
    ("azure-native:storage:BlobServiceProperties", {"blobServicesName": "blobs", "accountName": "a",
                                                    "resourceGroupName": "g"}, "is not one of default"),
])
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
        _register(AzureMocks(), "azure-native:resources:ResourceGroup", "a", {"resourceGroupName": "gone"},
                  "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/gone")


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
    _register(mocks, "azure-native:storage:StorageAccount", "a", {"resourceGroupName": "one", "accountName": "rayaksdata042"})
    with pytest.raises(ValueError, match="already taken"):
        _register(AzureMocks(mocks.cloud), "azure-native:storage:StorageAccount", "b",
                  {"resourceGroupName": "two", "accountName": "rayaksdata042"})
