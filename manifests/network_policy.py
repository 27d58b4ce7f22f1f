"""Who may reach the Ray pods: each other, and the KubeRay operator on the dashboard port. Nobody else.

Kubernetes NetworkPolicies are allow-lists that add up: once a policy selects a pod for Ingress, only
what some policy allows gets in (kubernetes.io/docs/concepts/services-networking/network-policies).
Traffic from the node itself (kubelet probes, `kubectl port-forward`, which enters the pod through the
kubelet) is always allowed, so the dashboard stays reachable to whoever may port-forward (Kubernetes
RBAC) and to no pod outside the cluster. Egress stays open: pods need Blob storage, Entra ID, image
registries and PyPI, whose addresses are not stable enough to pin.

These are ours rather than KubeRay's own `spec.networkPolicy`, which 1.7.0 keeps behind the alpha
RayClusterNetworkPolicy feature gate; the shapes follow its controller (networkpolicy_controller.go):
all ports between pods of one cluster.
"""

from __future__ import annotations

from manifests.raycluster import CLUSTER_LABEL, DASHBOARD_PORT, HEAD_NODE_TYPE, NODE_TYPE_LABEL

# Set by Kubernetes on every namespace (kubernetes.io/docs/reference/labels-annotations-taints).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _policy(name: str, namespace: str, pod_selector: dict, ingress: list[dict]) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def default_deny_ingress(namespace: str) -> dict:
    """Every pod of the Ray namespace, Ray's or not, accepts only what another policy here allows."""
    return _policy("default-deny-ingress", namespace, {}, [])


def intra_cluster(namespace: str, cluster_name: str) -> dict:
    """Ray pods of one cluster talk on any port: GCS, raylets, object managers, workers' random ports."""
    cluster = {"matchLabels": {CLUSTER_LABEL: cluster_name}}
    return _policy(f"{cluster_name}-intra-cluster", namespace, cluster, [{"from": [{"podSelector": cluster}]}])


def operator_to_dashboard(namespace: str, cluster_name: str, operator_namespace: str) -> dict:
    """The KubeRay operator calls the head's dashboard (job submission for RayJobs, status): that port only."""
    head = {"matchLabels": {CLUSTER_LABEL: cluster_name, NODE_TYPE_LABEL: HEAD_NODE_TYPE}}
    return _policy(f"{cluster_name}-operator-to-dashboard", namespace, head, [{
        "from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: operator_namespace}}}],
        "ports": [{"protocol": "TCP", "port": DASHBOARD_PORT}],
    }])


def ray_network_policies(namespace: str, cluster_name: str, operator_namespace: str) -> list[dict]:
    return [
        default_deny_ingress(namespace),
        intra_cluster(namespace, cluster_name),
        operator_to_dashboard(namespace, cluster_name, operator_namespace),
    ]
