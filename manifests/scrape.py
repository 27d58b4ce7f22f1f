"""Scraping inside the cluster, as plain data: the Ray pods' metrics ports, the AKS metrics add-on's
PodMonitors for them, the NetworkPolicy that admits the scraper, and NVIDIA's DCGM exporter on the GPU nodes.
manifests/monitoring.py holds the Azure Monitor side (collection rules, the cluster's profile, alerts,
Grafana, log queries); components/monitoring.py wraps both in resources.

Shapes follow the AKS add-on's PodMonitor CRD (group azmonitoring.coreos.com: Azure/prometheus-collector
AddonBicepTemplate), KubeRay's sample PodMonitors (ray-project/kuberay config/prometheus/podMonitor.yaml,
v1.7.0) and NVIDIA's dcgm-exporter chart (deployment/values.yaml at 4.5.3-4.8.2).
"""

from __future__ import annotations

# Modules, not names: manifests/raycluster.py imports this module for the head's ports, so raycluster is
# only partly loaded while this one loads (network_policy, which imports names from it, is imported later).
from manifests import pools, raycluster

# --- Ray's metrics ports -------------------------------------------------------------------------------
# KubeRay adds a container port named "metrics" (8080) to every Ray container that lacks one and starts Ray
# with --metrics-export-port 8080 (ray-operator/controllers/ray/common/pod.go, utils.DefaultMetricsPort).
METRICS_PORT_NAME = "metrics"
METRICS_PORT = 8080
# The head also serves the autoscaler's metrics (ray AUTOSCALER_METRIC_PORT; the KubeRay autoscaler sidecar
# shares the pod's network) and the dashboard's (ray.dashboard.consts.DASHBOARD_METRIC_PORT). KubeRay does not
# declare these; the names are its sample's (ray-cluster.embed-grafana.yaml), port names have 15 characters
# at most.
AUTOSCALER_METRICS_PORT_NAME = "as-metrics"
AUTOSCALER_METRICS_PORT = 44217
DASHBOARD_METRICS_PORT_NAME = "dash-metrics"
DASHBOARD_METRICS_PORT = 44227
WORKER_NODE_TYPE = "worker"
GROUP_LABEL = "ray.io/group"


def head_metrics_ports() -> list[dict]:
    """Container ports the head declares so its PodMonitor can name them."""
    return [
        {"name": AUTOSCALER_METRICS_PORT_NAME, "containerPort": AUTOSCALER_METRICS_PORT},
        {"name": DASHBOARD_METRICS_PORT_NAME, "containerPort": DASHBOARD_METRICS_PORT},
    ]


# --- The scraper ---------------------------------------------------------------------------------------
# The managed Prometheus add-on's collector: Deployment ama-metrics in kube-system, pods labelled
# rsName=ama-metrics, not on the host network (prometheus-collector otelcollector/deploy/addon-chart/
# azure-monitor-metrics-addon/templates/ama-metrics-deployment.yaml). It scrapes PodMonitors and
# ServiceMonitors; the ama-metrics-node DaemonSet scrapes only node-local targets.
SCRAPER_NAMESPACE = "kube-system"
SCRAPER_POD_LABELS = {"rsName": "ama-metrics"}
POD_MONITOR_API_VERSION = "azmonitoring.coreos.com/v1"
# Ray's dashboards filter on this label (the Cluster variable); KubeRay's PodMonitors set it from the pod's.
RAY_CLUSTER_METRIC_LABEL = "ray_io_cluster"


def _ray_cluster_relabeling() -> list[dict]:
    return [
        {
            "action": "replace",
            "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
            "targetLabel": RAY_CLUSTER_METRIC_LABEL,
        }
    ]


def _pod_monitor(name: str, namespace: str, selector: dict, ports: list[str], relabelings: list[dict]) -> dict:
    return {
        "apiVersion": POD_MONITOR_API_VERSION,
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": {"matchLabels": selector},
            "podMetricsEndpoints": [{"port": port, "relabelings": relabelings} for port in ports],
        },
    }


def ray_pod_monitors(namespace: str, cluster_name: str) -> list[dict]:
    """The head (Ray, autoscaler and dashboard metrics) and the workers (Ray metrics) of one cluster."""
    head = {raycluster.CLUSTER_LABEL: cluster_name, raycluster.NODE_TYPE_LABEL: raycluster.HEAD_NODE_TYPE}
    workers = {raycluster.CLUSTER_LABEL: cluster_name, raycluster.NODE_TYPE_LABEL: WORKER_NODE_TYPE}
    return [
        _pod_monitor(
            f"{cluster_name}-head",
            namespace,
            head,
            [METRICS_PORT_NAME, AUTOSCALER_METRICS_PORT_NAME, DASHBOARD_METRICS_PORT_NAME],
            _ray_cluster_relabeling(),
        ),
        _pod_monitor(f"{cluster_name}-workers", namespace, workers, [METRICS_PORT_NAME], _ray_cluster_relabeling()),
    ]


def scraper_to_ray_metrics(namespace: str, cluster_name: str) -> dict:
    """The add-on's collector may reach the Ray pods of one cluster on the three metrics ports, nothing else.

    Kubernetes NetworkPolicies add up: the Ray namespace denies ingress by default
    (manifests/network_policy.py), and this opens only these ports to only these pods."""
    from manifests import network_policy

    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{cluster_name}-metrics-scraper", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {raycluster.CLUSTER_LABEL: cluster_name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    # One peer with both selectors: pods labelled so in that namespace (not either).
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {network_policy.NAMESPACE_NAME_LABEL: SCRAPER_NAMESPACE}
                            },
                            "podSelector": {"matchLabels": dict(SCRAPER_POD_LABELS)},
                        }
                    ],
                    "ports": [
                        {"protocol": "TCP", "port": port}
                        for port in (METRICS_PORT, AUTOSCALER_METRICS_PORT, DASHBOARD_METRICS_PORT)
                    ],
                }
            ],
        },
    }


# --- DCGM exporter -------------------------------------------------------------------------------------
DCGM_NAMESPACE = "dcgm-exporter"
# The Helm release name: the chart's selector labels are app.kubernetes.io/name=<chart name> and
# app.kubernetes.io/instance=<release> (deployment/templates/_helpers.tpl).
DCGM_RELEASE = "dcgm-exporter"
DCGM_POD_LABELS = {"app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": DCGM_RELEASE}
# The DaemonSet's container port (deployment/templates/daemonset.yaml).
DCGM_PORT_NAME = "metrics"


def dcgm_exporter_values() -> dict:
    """The exporter on GPU nodes only, Spot or not; scraped by our PodMonitor, not the chart's ServiceMonitor."""
    return {
        "nodeSelector": pools.gpu_node_selector(),
        # Replaces the default, which tolerates only the control-plane taint.
        "tolerations": pools.gpu_tolerations(),
        # The chart's ServiceMonitor is monitoring.coreos.com, a CRD the AKS add-on does not install.
        "serviceMonitor": {"enabled": False},
    }


def dcgm_pod_monitor() -> dict:
    return _pod_monitor("dcgm-exporter", DCGM_NAMESPACE, dict(DCGM_POD_LABELS), [DCGM_PORT_NAME], [])
