"""NetworkPolicies, evaluated: Ray pods reach each other on any port, the operator reaches the dashboard,
and nothing else reaches any Ray pod."""

from __future__ import annotations

import kubernetes_validate
from hypothesis import given
from hypothesis import strategies as st

import versions
from manifests.network_policy import NAMESPACE_NAME_LABEL, ray_network_policies
from manifests.raycluster import CLIENT_PORT, CLUSTER_LABEL, DASHBOARD_PORT, GCS_PORT, NODE_TYPE_LABEL

NS, CLUSTER, OPERATOR_NS = "ray", "ray-tune", "kuberay-system"
POLICIES = ray_network_policies(NS, CLUSTER, OPERATOR_NS)
HEAD = {CLUSTER_LABEL: CLUSTER, NODE_TYPE_LABEL: "head"}
WORKER = {CLUSTER_LABEL: CLUSTER, NODE_TYPE_LABEL: "worker", "ray.io/group": "gpu"}
OPERATOR = {"app.kubernetes.io/name": "kuberay-operator"}


def selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


def admits(src_ns: str, src_labels: dict, dst_labels: dict, port: int) -> bool:
    """Kubernetes' semantics for pods in NS: isolated for ingress once a policy selects it; then allowed
    if any rule of any selecting policy matches the peer and the port."""
    selecting = [p for p in POLICIES if selects(p["spec"]["podSelector"], dst_labels)
                 and "Ingress" in p["spec"]["policyTypes"]]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p["port"] == port and p["protocol"] == "TCP" for p in ports):
                continue
            for peer in rule.get("from", []):
                ns_ok = (selects(peer["namespaceSelector"], {NAMESPACE_NAME_LABEL: src_ns})
                         if "namespaceSelector" in peer else src_ns == NS)
                pod_ok = selects(peer["podSelector"], src_labels) if "podSelector" in peer else True
                if ns_ok and pod_ok:
                    return True
    return False


ports = st.integers(1, 65535)
ray_pods = st.sampled_from([HEAD, WORKER])


def test_every_policy_is_a_valid_kubernetes_object_in_the_ray_namespace():
    for policy in POLICIES:
        kubernetes_validate.validate(policy, f"{versions.KUBERNETES_VERSION}.0", strict=True)
        assert policy["metadata"]["namespace"] == NS
    assert len({p["metadata"]["name"] for p in POLICIES}) == len(POLICIES)


@given(ray_pods, ray_pods, ports)
def test_ray_pods_of_the_cluster_reach_each_other_on_any_port(src, dst, port):
    assert admits(NS, src, dst, port)


@given(st.dictionaries(st.sampled_from(["app", "ray.io/cluster", "team"]), st.sampled_from(["x", "other"])),
       st.sampled_from([NS, "default", "kube-system", "ingress-nginx"]), ray_pods, ports)
def test_no_other_pod_reaches_a_ray_pod_on_any_port(labels, namespace, dst, port):
    assert not admits(namespace, labels, dst, port)


def test_nothing_else_reaches_the_heads_dashboard_client_or_gcs_ports():
    for port in (DASHBOARD_PORT, CLIENT_PORT, GCS_PORT):
        assert not admits("default", {"app": "web"}, HEAD, port)
        assert not admits(NS, {"app": "debug"}, HEAD, port)
        assert not admits(NS, {CLUSTER_LABEL: "another-cluster"}, HEAD, port)


@given(ports)
def test_the_operator_reaches_the_dashboard_and_only_the_dashboard(port):
    assert admits(OPERATOR_NS, OPERATOR, HEAD, port) == (port == DASHBOARD_PORT)
    assert not admits(OPERATOR_NS, OPERATOR, WORKER, port)


def test_every_pod_of_the_namespace_is_isolated_for_ingress_and_egress_stays_open():
    assert any(p["spec"]["podSelector"] == {} and p["spec"]["policyTypes"] == ["Ingress"] for p in POLICIES)
    assert not admits(NS, {}, {"app": "anything"}, 80)
    assert all("Egress" not in p["spec"]["policyTypes"] and "egress" not in p["spec"] for p in POLICIES)
