"""Derived names (kept data, registry, Grafana): valid under Azure's rules (tools/arm_names.py, from the ARM specs), stable, distinct."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from manifests import names
from tools import arm_names

ACCOUNT_RULE = arm_names.rule("azure-native:storage:StorageAccount")
GROUP_RULE = arm_names.rule("azure-native:resources:ResourceGroup")
REGISTRY_RULE = arm_names.rule("azure-native:containerregistry:Registry")
GRAFANA_RULE = arm_names.rule("azure-native:dashboard:Grafana")

# Pulumi project and stack names: letters, digits, '-', '_', '.' (stack names may also be longer).
pulumi_names = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=100)
subscriptions = st.uuids().map(str)


@given(pulumi_names, pulumi_names, subscriptions)
def test_the_generated_account_name_obeys_azures_account_name_rule(project, stack, subscription):
    name = names.storage_account_name(project, stack, subscription)
    assert ACCOUNT_RULE.violations(name) == []
    assert names.ACCOUNT_NAME.fullmatch(name)


@given(pulumi_names, pulumi_names, subscriptions)
def test_the_account_name_is_the_same_on_every_up_of_a_stack(project, stack, subscription):
    assert names.storage_account_name(project, stack, subscription) == names.storage_account_name(
        project, stack, subscription.upper()
    )


@given(pulumi_names, pulumi_names, subscriptions, subscriptions)
def test_another_subscription_gets_another_account_name(project, stack, one, other):
    if one != other:
        assert names.storage_account_name(project, stack, one) != names.storage_account_name(project, stack, other)


def test_the_account_name_starts_with_the_project_and_stack_so_people_recognise_it():
    name = names.storage_account_name("ray-aks", "dev", "22222222-2222-2222-2222-222222222222")
    assert name.startswith("rayaksdev") and len(name) == len("rayaksdev") + 10


@given(pulumi_names, pulumi_names)
def test_the_data_group_name_obeys_azures_resource_group_rule(project, stack):
    name = names.data_resource_group_name(project, stack)
    assert GROUP_RULE.violations(name) == []
    assert not name.endswith(".")
    assert name == names.data_resource_group_name(project, stack)


@given(
    subscriptions,
    st.from_regex(r"[-\w._()]{1,90}", fullmatch=True).filter(lambda g: g.isascii()),
    st.from_regex(r"[a-z0-9]{3,24}", fullmatch=True),
)
def test_an_account_id_gives_back_its_subscription_group_and_name(subscription, group, account):
    account_id = (
        f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}"
    )
    assert names.parse_storage_account_id(account_id) == (subscription, group, account)


def test_what_is_not_a_storage_account_id_is_refused():
    assert names.parse_storage_account_id("rayaksdata042") is None
    assert (
        names.parse_storage_account_id(
            "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/g/providers/Microsoft.Storage/"
            "storageAccounts/Has-Dashes"
        )
        is None
    )


@given(pulumi_names, pulumi_names, subscriptions)
def test_the_registry_name_obeys_azures_registry_rule_and_is_stable(project, stack, subscription):
    name = names.registry_name(project, stack, subscription)
    assert REGISTRY_RULE.violations(name) == []
    assert name == names.registry_name(project, stack, subscription.upper())


@given(pulumi_names, pulumi_names, subscriptions, subscriptions)
def test_another_subscription_gets_another_registry_name(project, stack, one, other):
    if one != other:
        assert names.registry_name(project, stack, one) != names.registry_name(project, stack, other)


def test_the_registry_name_starts_with_the_project_and_stack():
    name = names.registry_name("ray-aks", "dev", "22222222-2222-2222-2222-222222222222")
    assert name.startswith("rayaksdev") and len(name) == len("rayaksdev") + 10
    assert names.registry_name("r" * 60, "dev", "22222222-2222-2222-2222-222222222222").startswith("r" * 40)


@given(pulumi_names, pulumi_names)
def test_the_grafana_name_obeys_the_spec_and_the_stricter_23_characters(project, stack):
    name = names.grafana_name(project, stack)
    assert GRAFANA_RULE.violations(name) == []
    assert 2 <= len(name) <= 23 and "--" not in name
    assert name == names.grafana_name(project, stack)


def test_the_grafana_name_is_the_project_and_stack_people_know():
    assert names.grafana_name("ray-aks", "dev") == "ray-aks-dev"
    assert names.grafana_name("Ray_AKS", "prod.eu") == "ray-aks-prod-eu"
    assert names.grafana_name("ray-aks", "a-very-long-stack-name-indeed") == "ray-aks-a-very-long-sta"


def test_a_grafana_name_without_a_letter_first_or_long_enough_gets_a_prefix():
    # A name of one character, or one starting with a digit, breaks the rule; an earlier derivation gave "c"
    # for project "C", stack "._".
    assert names.grafana_name("C", "._") == "grafana-c"
    assert names.grafana_name("_", "_") == "grafana"
    assert names.grafana_name("42", "dev") == "grafana-42-dev"
