"""The aks-monitoring-on policy: passing and violating clusters, unknown values at preview, the pack's opt-out,
and the recorded program through it (tests/policy/test_policy_pack.py: the pack serving it)."""

from __future__ import annotations

import pytest

from policy import policies
from policy.catalogue import RULES
from policy.rules.monitoring import OPT_OUT
from pulumi_internals import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy
from tests.policy.analyzer import options
from tools.pack import evaluate

RULE = next(r for r in RULES if r.name == "aks-monitoring-on")
PACK = [RULE.policy()]

ON = {
    "azureMonitorProfile": {"metrics": {"enabled": True}},
    "addonProfiles": {
        "omsagent": {
            "enabled": True,
            "config": {
                "logAnalyticsWorkspaceResourceID": "/subscriptions/s/resourceGroups/g/providers/x/workspaces/w",
                "useAADAuth": "true",
            },
        }
    },
}


def check(props: dict, config: dict | None = None) -> list[str]:
    from pulumi_policy import ResourceValidationArgs

    policy = RULE.policy()
    args = ResourceValidationArgs(
        policies.MANAGED_CLUSTER,
        unknown_checking_proxy(dict(props)),
        "urn:pulumi:test::ray-aks::x::aks",
        "aks",
        options(),
        None,
        config,
    )
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    policy.validate(args, report)
    return messages


def test_a_cluster_with_metrics_and_managed_identity_logging_passes():
    assert check(ON) == []


@pytest.mark.parametrize(
    ("props", "words"),
    [
        (
            {**ON, "azureMonitorProfile": {"metrics": {"enabled": False}}},
            "azureMonitorProfile.metrics.enabled is False",
        ),
        ({"addonProfiles": ON["addonProfiles"]}, "azureMonitorProfile.metrics.enabled is not set"),
        ({**ON, "addonProfiles": {}}, "addonProfiles.omsagent.enabled is not set"),
        ({**ON, "addonProfiles": {"omsagent": {"enabled": False}}}, "addonProfiles.omsagent.enabled is False"),
        (
            {**ON, "addonProfiles": {"omsagent": {"enabled": True, "config": {"useAADAuth": "false"}}}},
            "useAADAuth is 'false'",
        ),
        ({**ON, "addonProfiles": {"omsagent": {"enabled": True, "config": {}}}}, "useAADAuth is None"),
    ],
)
def test_a_cluster_without_metrics_logging_or_managed_identity_auth_is_refused(props, words):
    [message] = check(props)
    assert words in message


def test_unknown_values_at_preview_pass():
    assert check({"azureMonitorProfile": UNKNOWN_OBJECT_VALUE, "addonProfiles": UNKNOWN_OBJECT_VALUE}) == []
    assert (
        check(
            {
                **ON,
                "addonProfiles": {
                    "omsagent": {
                        "enabled": True,
                        "config": {
                            "logAnalyticsWorkspaceResourceID": UNKNOWN_STRING_VALUE,
                            "useAADAuth": UNKNOWN_STRING_VALUE,
                        },
                    }
                },
            }
        )
        == []
    )


def test_the_packs_config_can_turn_the_rule_off_on_purpose():
    assert check({}, {OPT_OUT: True}) == []
    assert check({}, {OPT_OUT: False})


def test_other_resource_types_are_not_judged():
    assert RULE.violations(policies.AGENT_POOL, {}, {}) == []


def test_the_dev_stack_passes_and_monitoring_off_fails_on_the_cluster_only(dev, record):
    assert evaluate(dev, pack=PACK) == []
    off = record({"monitoring": False})
    found = evaluate(off, pack=PACK)
    names = {r.urn: r.name for r in off.resources.values()}
    assert [(v.policy, names[v.urn]) for v in found] == [
        ("aks-monitoring-on", "cluster-aks"),
        ("aks-monitoring-on", "cluster-aks"),
    ]
    assert evaluate(off, {"aks-monitoring-on": {OPT_OUT: True}}, pack=PACK) == []


def test_the_whole_pack_passes_the_dev_stack_with_the_monitoring_rule(dev):
    assert evaluate(dev, pack=policies.POLICIES) == []
