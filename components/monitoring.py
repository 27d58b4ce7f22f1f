"""Observability, keyless and private: managed Prometheus, Container Insights, Managed Grafana with Ray's and
a GPU dashboard, alert rules, and what the cluster scrapes (Ray's PodMonitors, the DCGM exporter).

Three components, because the cluster sits in the middle: `Monitoring` (workspaces, collection rules,
Grafana) exists before the cluster, which takes its `cluster_profile`; `ClusterMonitoring` ties the rules and
alerts to the cluster once it exists; `ScrapeTargets` is the Kubernetes side. The shapes are the pure
builders of manifests/monitoring.py (Azure Monitor) and manifests/scrape.py (scraping in the cluster).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumiverse_grafana as grafana
from pulumi_azure_native import alertsmanagement, authorization, dashboard, monitor, operationalinsights

import versions
from components.kubernetes import fields
from manifests import azure, monitoring, names, namespaces, scrape
from settings import Settings


@dataclass(frozen=True)
class MonitoringArgs:
    settings: Settings
    """Location, log retention, Grafana's role holders, what runs `pulumi up`."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the workspaces, rules and Grafana (deleted with the stack)."""
    client_config: authorization.GetClientConfigResult
    """Who runs `pulumi up`: becomes Grafana Editor to load the dashboards."""
    tags: dict[str, str]


class Monitoring(pulumi.ComponentResource):
    """Azure Monitor workspace (Prometheus), Log Analytics workspace (logs), their collection rules, and
    Azure Managed Grafana reading the first, with the dashboards of monitoring/dashboards loaded."""

    cluster_profile: dict
    """ManagedCluster keyword arguments (ClusterArgs.monitoring)."""
    azure_monitor_workspace_id: pulumi.Output[str]
    prometheus_rule_id: pulumi.Output[str]
    container_insights_rule_id: pulumi.Output[str]
    log_analytics_customer_id: pulumi.Output[str]
    """The Log Analytics workspace's id for queries (`az monitor log-analytics query --workspace`)."""
    grafana_url: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:monitoring:Monitoring", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        placed = dict(resource_group_name=args.resource_group_name, location=s.location, tags=args.tags)

        logs = operationalinsights.Workspace(
            f"{name}-logs",
            sku={"name": "PerGB2018"},
            retention_in_days=s.log_retention_days,
            # Only Entra-authenticated agents may write (the add-on's managed identity): no workspace keys.
            features={"disable_local_auth": True},
            **placed,
            opts=child,
        )
        prometheus = monitor.AzureMonitorWorkspace(f"{name}-prometheus", **placed, opts=child)
        endpoint = monitor.DataCollectionEndpoint(f"{name}-prometheus-dce", kind="Linux", **placed, opts=child)
        prometheus_rule = monitor.DataCollectionRule(
            f"{name}-prometheus-dcr",
            **monitoring.prometheus_data_collection_rule(prometheus.id, endpoint.id),
            **placed,
            opts=child,
        )
        insights_rule = monitor.DataCollectionRule(
            f"{name}-container-insights-dcr",
            **monitoring.container_insights_data_collection_rule(logs.id),
            **placed,
            opts=child,
        )

        workspace = dashboard.Grafana(
            f"{name}-grafana",
            workspace_name=names.grafana_name(pulumi.get_project(), pulumi.get_stack()),
            sku={"name": "Standard"},
            identity={"type": "SystemAssigned"},
            properties=monitoring.grafana_properties(prometheus.id),
            **placed,
            opts=child,
        )
        self.grafana_url = workspace.properties.apply(lambda p: p.endpoint)
        roles = self._grafana_roles(name, args, workspace, prometheus)
        self._dashboards(name, self.grafana_url, depends_on=roles)

        self.cluster_profile = monitoring.cluster_monitoring_profile(logs.id)
        self.azure_monitor_workspace_id = prometheus.id
        self.prometheus_rule_id = prometheus_rule.id
        self.container_insights_rule_id = insights_rule.id
        self.log_analytics_customer_id = logs.customer_id
        self.register_outputs(
            {
                "azure_monitor_workspace_id": self.azure_monitor_workspace_id,
                "prometheus_rule_id": self.prometheus_rule_id,
                "container_insights_rule_id": self.container_insights_rule_id,
                "log_analytics_customer_id": self.log_analytics_customer_id,
                "grafana_url": self.grafana_url,
            }
        )

    def _grafana_roles(
        self, name: str, args: MonitoringArgs, workspace: dashboard.Grafana, prometheus: monitor.AzureMonitorWorkspace
    ) -> list[authorization.RoleAssignment]:
        """Grafana reads the Prometheus workspace as itself; people get Grafana roles on this instance only.
        Returns the deployer's, which loading the dashboards needs."""
        s = args.settings
        subscription = pulumi.Output.from_input(args.client_config.subscription_id)

        def role(role_name: str, role_id: str, principal_id, principal_type: str, scope):
            return authorization.RoleAssignment(
                f"{name}-{role_name}",
                principal_id=principal_id,
                principal_type=principal_type,
                role_definition_id=subscription.apply(lambda sub: azure.role_definition_id(sub, role_id)),
                scope=scope,
                opts=pulumi.ResourceOptions(parent=self),
            )

        role(
            "grafana-data-reader",
            monitoring.MONITORING_DATA_READER,
            workspace.identity.apply(lambda i: i.principal_id),
            "ServicePrincipal",
            prometheus.id,
        )
        for group in s.grafana_admin_group_object_ids:
            role(f"grafana-admin-{group}", monitoring.GRAFANA_ADMIN, group, "Group", workspace.id)
        for group in s.grafana_viewer_group_object_ids:
            role(f"grafana-viewer-{group}", monitoring.GRAFANA_VIEWER, group, "Group", workspace.id)
        if s.deployer_principal_type == "None":
            return []  # only the admin groups administer: they load the dashboards
        return [
            role(
                "grafana-deployer",
                monitoring.GRAFANA_EDITOR,
                args.client_config.object_id,
                s.deployer_principal_type,
                workspace.id,
            )
        ]

    def _dashboards(self, name: str, url: pulumi.Output[str], depends_on: list[pulumi.Resource]) -> None:
        """Grafana's HTTP API with an Entra ID token for Managed Grafana's application, taken from the same
        login as azure-native: no API key or service-account token exists (API keys are off)."""
        token = authorization.get_client_token_output(endpoint=monitoring.GRAFANA_APP_ID).apply(lambda t: t.token)
        api = grafana.Provider(
            f"{name}-grafana-api",
            url=url,
            auth=pulumi.Output.secret(token),
            # A new role assignment takes minutes to reach Grafana: retry 401/403 as well as the defaults.
            retries=20,
            retry_wait=30,
            retry_status_codes=["401", "403", "429", "5xx"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        # The token above lasts about an hour and is kept in the state with the provider's settings: a later
        # `pulumi destroy` or `refresh` reuses it and Grafana answers 401 (pulumi/pulumi#4981). Retained, the
        # folder and dashboards are never deleted through Grafana's API: deleting the workspace removes them.
        on_grafana = pulumi.ResourceOptions(parent=self, provider=api, retain_on_delete=True)
        folder = grafana.oss.Folder(
            f"{name}-folder", title=monitoring.GRAFANA_FOLDER, uid=monitoring.GRAFANA_FOLDER_UID, opts=on_grafana
        )
        for path in monitoring.dashboard_files():
            grafana.oss.Dashboard(
                f"{name}-dashboard-{path.stem}",
                config_json=path.read_text(),
                folder=folder.uid,
                overwrite=True,
                opts=on_grafana,
            )


@dataclass(frozen=True)
class ClusterMonitoringArgs:
    settings: Settings
    """Location and the Ray autoscaler's idle timeout (the GPU idle alert waits past it)."""
    monitoring: Monitoring
    """The workspaces and collection rules the cluster is tied to."""
    resource_group_name: pulumi.Input[str]
    cluster_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    tags: dict[str, str]


class ClusterMonitoring(pulumi.ComponentResource):
    """The cluster's data collection rule associations and its Prometheus alert rules."""

    def __init__(self, name: str, args: ClusterMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:monitoring:ClusterMonitoring", name, None, opts)
        s, m = args.settings, args.monitoring
        child = pulumi.ResourceOptions(parent=self)
        associations = (
            # Named as prometheus-collector's template names it: MSProm-<cluster location>-<cluster name>.
            (
                "prometheus",
                pulumi.Output.concat("MSProm-", s.location, "-", args.cluster_name),
                m.prometheus_rule_id,
                "Managed Prometheus of this cluster; deleting it stops metric collection.",
            ),
            (
                "container-insights",
                monitoring.CONTAINER_INSIGHTS_ASSOCIATION,
                m.container_insights_rule_id,
                "Container Insights of this cluster; deleting it stops log collection.",
            ),
        )
        for kind, association, rule_id, description in associations:
            monitor.DataCollectionRuleAssociation(
                f"{name}-{kind}-dcra",
                association_name=association,
                resource_uri=args.cluster_id,
                data_collection_rule_id=rule_id,
                description=description,
                opts=child,
            )
        alertsmanagement.PrometheusRuleGroup(
            f"{name}-alerts",
            resource_group_name=args.resource_group_name,
            location=s.location,
            cluster_name=args.cluster_name,
            scopes=[m.azure_monitor_workspace_id, args.cluster_id],
            description="Ray on AKS: idle GPU nodes, node types that never launch, errored trials",
            enabled=True,
            interval="PT1M",
            rules=monitoring.alert_rules(s.autoscaler_idle_timeout_seconds),
            tags=args.tags,
            opts=child,
        )
        self.register_outputs({})


@dataclass(frozen=True)
class ScrapeTargetsArgs:
    settings: Settings
    """Ray namespace and cluster name (the PodMonitors' and the NetworkPolicy's selectors)."""
    ray_namespace: pulumi.Resource
    """The Ray namespace (KubeRay.ray_namespace_resource)."""
    gpu_pool: pulumi.Resource
    """The GPU node pool the DCGM exporter runs on."""


class ScrapeTargets(pulumi.ComponentResource):
    """What the managed Prometheus add-on scrapes: Ray's head and workers, and the DCGM exporter."""

    def __init__(self, name: str, args: ScrapeTargetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:monitoring:ScrapeTargets", name, None, opts)
        s = args.settings
        in_ray_namespace = pulumi.ResourceOptions(parent=self, depends_on=[args.ray_namespace])

        k8s.networking.v1.NetworkPolicy(
            f"{name}-scraper-policy",
            **fields(scrape.scraper_to_ray_metrics(s.ray_namespace, s.ray_cluster_name)),
            opts=in_ray_namespace,
        )
        for monitor_manifest in scrape.ray_pod_monitors(s.ray_namespace, s.ray_cluster_name):
            self._pod_monitor(f"{name}-{monitor_manifest['metadata']['name']}", monitor_manifest, in_ray_namespace)

        # hostPath (the kubelet's pod-resources socket) needs the privileged Pod Security level.
        ns = k8s.core.v1.Namespace(
            f"{name}-dcgm-namespace",
            **fields(namespaces.namespace(scrape.DCGM_NAMESPACE, "privileged")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.helm.v4.Chart(
            f"{name}-dcgm-exporter",
            name=scrape.DCGM_RELEASE,
            chart=versions.DCGM_EXPORTER_CHART,
            version=versions.DCGM_EXPORTER_VERSION,
            repository_opts={"repo": versions.DCGM_EXPORTER_REPO},
            namespace=ns.metadata.name,
            values=scrape.dcgm_exporter_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.gpu_pool]),
        )
        self._pod_monitor(
            f"{name}-dcgm-exporter-monitor",
            scrape.dcgm_pod_monitor(),
            pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )
        self.register_outputs({})

    @staticmethod
    def _pod_monitor(resource_name: str, manifest: dict, opts: pulumi.ResourceOptions) -> None:
        # The CRD comes with the add-on; pulumi-kubernetes retries a create whose kind is not served yet.
        k8s.apiextensions.CustomResource(
            resource_name,
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=opts,
        )
