"""Azure Monitor's side of observability as plain data: the cluster's monitoring profile, the data collection
rules, the alert rules, Managed Grafana and its dashboards, the log query (manifests/scrape.py: the scraping
inside the cluster). No Pulumi here; components/monitoring.py wraps these in resources.

Shapes follow Microsoft's own template for managed Prometheus on AKS (Azure/prometheus-collector
AddonBicepTemplate/FullAzureMonitorMetricsProfile.bicep and its nested DCRA and profile templates), the
AKS add-on's PodMonitor CRD (group azmonitoring.coreos.com, same template), KubeRay's sample PodMonitors
(ray-project/kuberay config/prometheus/podMonitor.yaml, v1.7.0) and NVIDIA's dcgm-exporter chart
(deployment/values.yaml at 4.5.3-4.8.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Modules, not names: manifests/raycluster.py imports this module for the head's ports, so raycluster is
# only partly loaded while this one loads (network_policy, which imports names from it, is imported later).
from manifests import log_sidecar, pools, raycluster, scrape
from manifests.helm_values import GPU_PRESENT_LABEL


# --- The cluster's side --------------------------------------------------------------------------------
def kube_state_metrics_labels() -> str:
    """kube-state-metrics' --metric-labels-allowlist: the Ray labels on kube_pod_labels and the pool labels on
    kube_node_labels, so pods and nodes can be joined to Ray clusters, groups and pools in PromQL."""
    return (
        f"pods=[{raycluster.CLUSTER_LABEL},{raycluster.NODE_TYPE_LABEL},{scrape.GROUP_LABEL}],"
        f"nodes=[{pools.POOL_LABEL},{GPU_PRESENT_LABEL}]"
    )


def cluster_monitoring_profile(log_analytics_workspace_id: Any) -> dict:
    """ManagedCluster keyword arguments (azure-native names): managed Prometheus with the allow-lists, and
    the Container Insights add-on logging in with its managed identity (useAADAuth), not a workspace key.

    Keys: the nested profile template of FullAzureMonitorMetricsProfile.bicep, and the Azure CLI's add-on
    constants (acs/_consts.py: omsagent, logAnalyticsWorkspaceResourceID, useAADAuth)."""
    return {
        "azure_monitor_profile": {
            "metrics": {
                "enabled": True,
                "kube_state_metrics": {
                    "metric_labels_allowlist": kube_state_metrics_labels(),
                    "metric_annotations_allow_list": "",
                },
            }
        },
        "addon_profiles": {
            "omsagent": {
                "enabled": True,
                "config": {"logAnalyticsWorkspaceResourceID": log_analytics_workspace_id, "useAADAuth": "true"},
            }
        },
    }


# --- Data collection -----------------------------------------------------------------------------------
PROMETHEUS_STREAM = "Microsoft-PrometheusMetrics"
CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"
SYSLOG_STREAM = "Microsoft-Syslog"
# The association names the AKS add-ons look for (prometheus-collector's DCRA template uses the DCR's name;
# Container Insights' onboarding templates name theirs ContainerInsightsExtension).
CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension"


def prometheus_data_collection_rule(workspace_id: Any, endpoint_id: Any) -> dict:
    """DataCollectionRule keyword arguments: every Prometheus sample the add-on forwards, to the workspace."""
    return {
        "kind": "Linux",
        "data_collection_endpoint_id": endpoint_id,
        "description": "Managed Prometheus metrics of the AKS cluster",
        "data_sources": {
            "prometheus_forwarder": [
                {"name": "PrometheusDataSource", "streams": [PROMETHEUS_STREAM], "label_include_filter": {}}
            ]
        },
        "destinations": {"monitoring_accounts": [{"account_resource_id": workspace_id, "name": "MonitoringAccount1"}]},
        "data_flows": [{"destinations": ["MonitoringAccount1"], "streams": [PROMETHEUS_STREAM]}],
    }


def container_insights_data_collection_rule(log_analytics_workspace_id: Any) -> dict:
    """DataCollectionRule keyword arguments for Container Insights: container logs (ContainerLogV2), events,
    inventories and performance, plus node syslog at warning and above (BlobFuse2 and the kubelet log there).
    """
    return {
        "kind": "Linux",
        "description": "Container Insights: container logs, Kubernetes events and inventory, node syslog",
        "data_sources": {
            "extensions": [
                {
                    "name": CONTAINER_INSIGHTS_ASSOCIATION,
                    "extension_name": "ContainerInsights",
                    "streams": [CONTAINER_INSIGHTS_STREAM],
                    "extension_settings": {
                        "dataCollectionSettings": {
                            "interval": "1m",
                            "namespaceFilteringMode": "Off",
                            "enableContainerLogV2": True,
                        }
                    },
                }
            ],
            "syslog": [
                {
                    "name": "sysLogsDataSource",
                    "streams": [SYSLOG_STREAM],
                    "facility_names": ["*"],
                    "log_levels": ["Warning", "Error", "Critical", "Alert", "Emergency"],
                }
            ],
        },
        "destinations": {
            "log_analytics": [{"workspace_resource_id": log_analytics_workspace_id, "name": "ciworkspace"}]
        },
        "data_flows": [{"destinations": ["ciworkspace"], "streams": [CONTAINER_INSIGHTS_STREAM, SYSLOG_STREAM]}],
    }


# --- Alerts --------------------------------------------------------------------------------------------
# AKS's cluster autoscaler removes a node unneeded for 10 minutes (scale-down-unneeded-time's default,
# AKS docs "cluster autoscaler profile"); Ray's autoscaler first has to let go of the idle worker pod.
AKS_SCALE_DOWN_UNNEEDED_MINUTES = 10
# Longer than a GPU node takes to come up and pull the Ray GPU image (several GB) on a first scale-up.
PENDING_NODE_MINUTES = 20


def _minutes(seconds: int) -> str:
    return f"PT{-(-seconds // 60)}M"


def alert_rules(idle_timeout_seconds: int) -> list[dict]:
    """Prometheus alert rules (azure-native PrometheusRule keyword names): a GPU idle past the scale-down
    time, a node type the autoscaler cannot launch, trials that errored."""
    gpu_idle_for = idle_timeout_seconds + AKS_SCALE_DOWN_UNNEEDED_MINUTES * 60
    return [
        {
            "alert": "GpuNodeIdle",
            # DCGM_FI_DEV_GPU_UTIL is in the exporter's default counters (etc/default-counters.csv).
            "expression": "max by (Hostname) (DCGM_FI_DEV_GPU_UTIL) == 0",
            "for_": _minutes(gpu_idle_for),
            "severity": 3,
            "labels": {"team": "ml-platform"},
            "annotations": {
                "summary": (
                    "GPU node {{ $labels.Hostname }} has been idle longer than Ray's idle timeout plus AKS's "
                    "scale-down time: something keeps it (a pod without a GPU, minCount above 0, a stuck worker)."
                )
            },
        },
        {
            "alert": "RayNodeTypeNotLaunching",
            # Autoscaler v2 gauges per node type (ray autoscaler/v2/metrics_reporter.py).
            "expression": f"max by ({scrape.RAY_CLUSTER_METRIC_LABEL}, NodeType) (autoscaler_pending_nodes) > 0",
            "for_": f"PT{PENDING_NODE_MINUTES}M",
            "severity": 2,
            "labels": {"team": "ml-platform"},
            "annotations": {
                "summary": (
                    "Ray cluster {{ $labels.ray_io_cluster }} has asked for {{ $labels.NodeType }} nodes for "
                    f"{PENDING_NODE_MINUTES} minutes and none came up: check the pool's quota, Spot capacity and "
                    "`kubectl describe pod` of the pending worker."
                )
            },
        },
        {
            "alert": "RayTrialsErrored",
            # A Tune trial runs as an actor whose train() call fails when the trial errors; ray_tasks counts
            # tasks by state (the FAILED count only grows during a session).
            "expression": (
                f"sum by ({scrape.RAY_CLUSTER_METRIC_LABEL}) "
                '(ray_tasks{State="FAILED",IsRetry="0",Name=~".+\\\\.train"}) > 0'
            ),
            "for_": "PT1M",
            "severity": 3,
            "labels": {"team": "ml-platform"},
            "annotations": {
                "summary": (
                    "{{ $value }} Tune trial steps failed on Ray cluster {{ $labels.ray_io_cluster }}: "
                    "see the errored trials in the sweep's results and their logs (docs/monitoring.md)."
                )
            },
        },
    ]


# --- Grafana -------------------------------------------------------------------------------------------
# Built-in roles (learn.microsoft.com/azure/role-based-access-control/built-in-roles: Monitor).
MONITORING_DATA_READER = "b0d8363b-8ddd-447d-831f-62ca05bff136"
GRAFANA_ADMIN = "22926164-76b3-42b3-bc55-97df8dab3e41"
GRAFANA_EDITOR = "a79a5197-3a5c-4973-a920-486035ffd60f"
GRAFANA_VIEWER = "60921a7e-fef1-4a43-9b16-a26c52ad4769"
# Entra ID application of Azure Managed Grafana: the audience of tokens its HTTP API accepts.
GRAFANA_APP_ID = "ce34e7e5-485f-4d76-964f-b3d2b16d1e4f"


def grafana_properties(azure_monitor_workspace_id: Any) -> dict:
    """Managed Grafana properties: Entra ID sign-in only (no API keys or service-account tokens, no public
    snapshots), with the Azure Monitor workspace as its Prometheus data source."""
    return {
        "api_key": "Disabled",
        "deterministic_outbound_ip": "Disabled",
        "public_network_access": "Enabled",
        "zone_redundancy": "Disabled",
        "grafana_configurations": {"snapshots": {"external_enabled": False}},
        "grafana_integrations": {
            "azure_monitor_workspace_integrations": [
                {"azure_monitor_workspace_resource_id": azure_monitor_workspace_id}
            ]
        },
    }


# --- Dashboards ----------------------------------------------------------------------------------------
# Generated by `python -m tools.dashboards` from the pinned Ray and committed, so `pulumi up` needs no Ray.
DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "monitoring" / "dashboards"
GRAFANA_FOLDER = "Ray on AKS"
GRAFANA_FOLDER_UID = "ray-aks"


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


# --- Logs ----------------------------------------------------------------------------------------------
def trial_logs_query(namespace: str, trial: str = "<trial id>") -> str:
    """KQL over ContainerLogV2 (Container Insights' schema): one trial's lines, as the log forwarder writes
    them labelled with the trial (manifests/log_forwarder.py), plus the driver's lines that name it.
    tostring(): LogMessage is dynamic, a JSON object for JSON lines and a string otherwise."""
    return (
        f'ContainerLogV2 | where PodNamespace == "{namespace}" '
        f'and ContainerName == "{log_sidecar.LOG_FORWARDER_CONTAINER}" '
        f'| where tostring(LogMessage) has "{trial}" '
        "| project TimeGenerated, PodName, LogMessage | order by TimeGenerated asc"
    )


def log_query_command(workspace_customer_id: str, namespace: str) -> str:
    return (
        f"az monitor log-analytics query --workspace {workspace_customer_id} "
        f"--analytics-query '{trial_logs_query(namespace)}' --timespan P7D -o table"
    )
