"""Who may reach the Ray pods, and where Ray workers may not go.

Kubernetes NetworkPolicies are allow-lists that add up: once a policy selects a pod for Ingress (or
Egress), only what some policy allows gets in (or out) (kubernetes.io/docs/concepts/services-networking/
network-policies). Traffic from the node itself (kubelet probes, `kubectl port-forward`, which enters the
pod through the kubelet) is always allowed, so the dashboard stays reachable to whoever may port-forward
(Kubernetes RBAC) and to no pod outside the cluster.

Ingress: Ray pods of the namespace talk to each other on any port (GCS, raylets, object managers, workers'
random ports), whichever RayCluster they belong to: KubeRay names the clusters it makes for RayJobs after
the job (`<job>-<random>`), so a policy on our cluster's name would cut those off. Non-Ray pods of the
namespace stay out, except RayJob submitter pods, which reach a head's dashboard port only. The KubeRay
operator reaches heads' dashboards: it does not call a RayCluster's head for the RayCluster itself
(raycluster_controller.go has no dashboard client), but for a RayJob it submits (HTTPMode), polls
(GetJobInfo) and stops (StopJob) the job through it (rayjob_controller.go).

These are ours rather than KubeRay's own `spec.networkPolicy`, which 1.7.0 keeps behind the alpha
RayClusterNetworkPolicy feature gate.
"""

from __future__ import annotations

from manifests.raycluster import DASHBOARD_PORT, HEAD_NODE_TYPE, NODE_TYPE_LABEL

# Set by Kubernetes on every namespace (kubernetes.io/docs/reference/labels-annotations-taints).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# KubeRay 1.7.0 labels (ray-operator/controllers/ray/utils/constant.go, util.go): every Ray pod it creates
# (common/pod.go labelPod), and the submitter pods of a RayJob (rayjob_controller.go).
RAY_NODE_LABEL = "ray.io/is-ray-node"
ORIGINATED_FROM_CRD_LABEL = "ray.io/originated-from-crd"
CREATED_BY_LABEL = "app.kubernetes.io/created-by"
KUBERAY_OPERATOR = "kuberay-operator"
RAY_JOB_CRD = "RayJob"
WORKER_NODE_TYPE = "worker"

# The Azure Instance Metadata Service: from a pod it hands out tokens of the node's (kubelet's) managed
# identity, which no trial needs (learn.microsoft.com/azure/virtual-machines/instance-metadata-service).
IMDS_CIDR = "169.254.169.254/32"

RAY_PODS = {"matchLabels": {RAY_NODE_LABEL: "yes"}}
HEADS = {"matchLabels": {RAY_NODE_LABEL: "yes", NODE_TYPE_LABEL: HEAD_NODE_TYPE}}
WORKERS = {"matchLabels": {RAY_NODE_LABEL: "yes", NODE_TYPE_LABEL: WORKER_NODE_TYPE}}
RAY_JOB_SUBMITTERS = {"matchLabels": {ORIGINATED_FROM_CRD_LABEL: RAY_JOB_CRD, CREATED_BY_LABEL: KUBERAY_OPERATOR}}


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


def ray_pods(namespace: str) -> dict:
    """Ray pods of any RayCluster in the namespace (ours, a RayJob's) talk to each other on any port."""
    return _policy("ray-pods", namespace, RAY_PODS, [{"from": [{"podSelector": RAY_PODS}]}])


def submitters_to_dashboard(namespace: str) -> dict:
    """A RayJob's submitter pod (a Kubernetes Job KubeRay creates) runs `ray job submit` against its
    cluster's head: the dashboard port only."""
    return _policy(
        "rayjob-submitters-to-dashboard",
        namespace,
        HEADS,
        [
            {
                "from": [{"podSelector": RAY_JOB_SUBMITTERS}],
                "ports": [{"protocol": "TCP", "port": DASHBOARD_PORT}],
            }
        ],
    )


def operator_to_dashboard(namespace: str, operator_namespace: str) -> dict:
    """The KubeRay operator drives RayJobs through their head's dashboard: that port only."""
    return _policy(
        "operator-to-dashboard",
        namespace,
        HEADS,
        [
            {
                "from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: operator_namespace}}}],
                "ports": [{"protocol": "TCP", "port": DASHBOARD_PORT}],
            }
        ],
    )


def workers_no_imds(namespace: str) -> dict:
    """Ray workers (where trials run) reach every pod and every address but IMDS.

    Only workers: the head's autoscaler must reach the API server, and with Cilium (this stack's default
    engine) a Kubernetes NetworkPolicy has no peer that matches the API server (Cilium gives it the
    kube-apiserver / remote-node identity, which no ipBlock selects: cilium/cilium#20550, #14724). Workers
    have no API token and need no node address. The pod peer keeps DNS and Ray traffic open where an
    engine does not let ipBlock match pod addresses (Kubernetes documents ipBlock for cluster-external
    addresses).
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "ray-workers-no-imds", "namespace": namespace},
        "spec": {
            "podSelector": WORKERS,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {}}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [IMDS_CIDR]}}]},
            ],
        },
    }


def ray_network_policies(namespace: str, operator_namespace: str) -> list[dict]:
    return [
        default_deny_ingress(namespace),
        ray_pods(namespace),
        submitters_to_dashboard(namespace),
        operator_to_dashboard(namespace, operator_namespace),
        workers_no_imds(namespace),
    ]
