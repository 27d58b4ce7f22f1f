"""Destroy the cluster, keep the data, bring a cluster up on it again: two runs under mocks, with the
mocked Azure (tools/mocks/state.py Cloud) and the stack's state carried from one to the next."""

from __future__ import annotations

import dataclasses

import pytest

from tools.mocks import Cloud, StackState, destroy, run_program, stack_config, state_of

GROUP = "azure-native:resources:ResourceGroup"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
SUBNET = "azure-native:network:Subnet"
AKS = "azure-native:containerservice:ManagedCluster"


def data(rec):
    return [rec.one(GROUP, "storage-rg"), rec.one(ACCOUNT), *sorted(rec.of_type(CONTAINER), key=lambda c: c.name)]


def firewall_subnets(rec):
    return [
        rule["virtualNetworkResourceId"] for rule in rec.one(ACCOUNT).inputs["networkRuleSet"]["virtualNetworkRules"]
    ]


@pytest.fixture(scope="module")
def first():
    cloud = Cloud()
    rec = run_program(stack_config("dev"), cloud=cloud, seed=1)
    return cloud, rec


def test_a_plain_destroy_stops_before_the_protected_data(first):
    cloud, rec = first
    with pytest.raises(ValueError, match="refusing to delete protected resources"):
        destroy(state_of(rec), Cloud(dict(cloud.resources)))


def test_destroy_excluding_protected_then_up_brings_a_new_cluster_onto_the_same_data(first):
    cloud, rec = first
    cloud = Cloud(dict(cloud.resources))
    kept = destroy(state_of(rec), cloud, exclude_protected=True)
    assert {r.urn for r in kept.resources.values()} == {r.urn for r in data(rec)}
    assert rec.one(AKS).id not in cloud.resources and rec.one(SUBNET).id not in cloud.resources

    again = run_program(stack_config("dev"), cloud=cloud, state=kept, seed=2)
    for old, new in zip(data(rec), data(again)):
        assert (new.id, new.outputs["name"]) == (old.id, old.outputs["name"])
        assert again.operations[new.urn] == "update", new.name  # not created again, not emptied
    assert again.operations[again.one(AKS).urn] == "create"
    assert again.one(SUBNET).id != rec.one(SUBNET).id
    assert firewall_subnets(again) == [again.one(SUBNET).id]


def _forgotten(cloud: Cloud, rec) -> Cloud:
    """`pulumi state unprotect --all && pulumi destroy`: retainOnDelete keeps the data in Azure, the state is empty."""
    unprotected = StackState(
        {
            urn: dataclasses.replace(r, options={**r.options, "protect": False})
            for urn, r in state_of(rec).resources.items()
        }
    )
    cloud = Cloud(dict(cloud.resources))
    assert destroy(unprotected, cloud).resources == {}
    return cloud


def test_without_adoption_a_new_stack_stops_on_the_kept_data_instead_of_replacing_it(first):
    cloud, rec = first
    with pytest.raises(ValueError, match=r"cannot create already existing resource .*ray-aks-dev-data"):
        run_program(stack_config("dev"), cloud=_forgotten(cloud, rec), seed=3)


@pytest.mark.parametrize("stack", ["dev", "dev2"])
def test_one_setting_adopts_the_kept_account_its_group_and_containers(first, stack):
    cloud, rec = first
    cloud = _forgotten(cloud, rec)
    account_id = rec.one(ACCOUNT).id
    again = run_program(stack_config("dev", {"adoptStorageAccount": account_id}), stack=stack, cloud=cloud, seed=4)
    for old, new in zip(data(rec), data(again)):
        assert (new.id, new.outputs["name"]) == (old.id, old.outputs["name"])
        assert again.operations[new.urn] == "import", new.name
    assert firewall_subnets(again) == [again.one(SUBNET).id] != firewall_subnets(rec)
    assert again.stack_outputs["storageAccount"] == rec.one(ACCOUNT).outputs["name"]


def test_the_account_name_is_the_same_on_every_up(first):
    _, rec = first
    assert (
        run_program(stack_config("dev"), seed=9).one(ACCOUNT).inputs["accountName"]
        == rec.one(ACCOUNT).inputs["accountName"]
    )


# --- Standard <-> Premium changes the account kind ---------------------------------------------------------


def test_switching_standard_to_premium_on_kept_data_is_refused_before_anything_is_replaced(first):
    cloud, rec = first
    assert rec.one(ACCOUNT).inputs["kind"] == "StorageV2"
    with pytest.raises(ValueError, match=r"marked for protection.*kind"):
        run_program(
            stack_config("dev", {"storageSku": "Premium_LRS"}),
            cloud=Cloud(dict(cloud.resources)),
            state=state_of(rec),
            seed=5,
        )


def test_without_retained_data_the_kind_change_replaces_the_account_and_its_containers():
    cloud = Cloud()
    rec = run_program(stack_config("dev", {"retainData": False}), cloud=cloud, seed=6)
    account = rec.one(ACCOUNT)
    assert account.options["replaceOnChanges"] == ["kind"] and account.options["deleteBeforeReplace"] is True
    again = run_program(
        stack_config("dev", {"retainData": False, "storageSku": "Premium_LRS"}),
        cloud=cloud,
        state=state_of(rec),
        seed=7,
    )
    assert again.operations[again.one(ACCOUNT).urn] == "replace"
    for dependent in [*again.of_type(CONTAINER), again.one("azure-native:storage:BlobServiceProperties")]:
        assert dependent.options["replaceWith"] == [account.urn], dependent.name
