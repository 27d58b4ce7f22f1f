"""Chart values: the device plugin lands on every GPU node and nowhere else; the operator stays on the
CPU pool and inside the Ray namespace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifests import helm_values, pools

# Top-level keys of each chart's values.yaml at the pinned version (watchNamespace is documented there,
# commented out): a misspelt key would be silently ignored by Helm.
KUBERAY_KEYS = {
    "nodeSelector",
    "tolerations",
    "affinity",
    "singleNamespaceInstall",
    "watchNamespace",
    "crNamespacedRbacEnable",
    "rbacEnable",
    "featureGates",
    "resources",
    "service",
    "image",
}
NVIDIA_KEYS = {
    "nodeSelector",
    "affinity",
    "tolerations",
    "priorityClassName",
    "resources",
    "config",
    "devicePlugin",
    "gfd",
    "nfd",
    "image",
}


def node_matches(values: dict, labels: dict[str, str]) -> bool:
    """Would a pod with these values' nodeSelector and required node affinity fit a node with these labels?"""
    if not values.get("nodeSelector", {}).items() <= labels.items():
        return False
    terms = (
        values.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
    )
    if not terms:
        return True
    return any(
        all(expr["operator"] == "In" and labels.get(expr["key"]) in expr["values"] for expr in term["matchExpressions"])
        for term in terms
    )


def test_every_value_is_a_key_of_its_chart():
    assert set(helm_values.kuberay_operator_values("ray")) <= KUBERAY_KEYS
    assert set(helm_values.nvidia_device_plugin_values()) <= NVIDIA_KEYS


@pytest.mark.parametrize("spot", [True, False], ids=["spot", "regular"])
def test_the_device_plugin_tolerates_every_taint_of_the_gpu_pool(spot):
    tolerations = helm_values.nvidia_device_plugin_values()["tolerations"]
    for taint in pools.gpu_taints(spot):
        assert any(pools.tolerates(t, taint) for t in tolerations), taint


def test_the_device_plugin_runs_on_gpu_nodes_and_not_on_cpu_or_system_nodes():
    values = helm_values.nvidia_device_plugin_values()
    assert node_matches(values, pools.gpu_labels())
    assert not node_matches(values, pools.cpu_labels())
    assert not node_matches(values, {"kubernetes.azure.com/mode": "system"})
    # The system pool's taint is not tolerated (the chart's default list did tolerate it).
    assert not any(pools.tolerates(t, pools.SYSTEM_TAINT) for t in values["tolerations"])


def test_the_operator_runs_on_the_cpu_pool_and_tolerates_nothing():
    values = helm_values.kuberay_operator_values("ray")
    assert node_matches(values, pools.cpu_labels()) and not node_matches(values, pools.gpu_labels())
    assert "tolerations" not in values


@given(st.from_regex(r"[a-z]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True))
def test_the_operator_is_confined_to_the_ray_namespace(namespace):
    values = helm_values.kuberay_operator_values(namespace)
    assert values["singleNamespaceInstall"] is True
    assert values["watchNamespace"] == [namespace]


def test_no_chart_is_given_an_external_service():
    for values in (helm_values.kuberay_operator_values("ray"), helm_values.nvidia_device_plugin_values()):
        assert "LoadBalancer" not in repr(values) and "NodePort" not in repr(values)


def test_the_charts_namespaces_are_their_own():
    names = {helm_values.KUBERAY_NAMESPACE, helm_values.NVIDIA_NAMESPACE}
    assert len(names) == 2 and not names & {"default", "kube-system", "ray"}
