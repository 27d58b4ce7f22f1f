"""Observability in the whole program under Pulumi's mocks: which resource points at which (workspaces ←
collection rules ← associations → cluster; Grafana ← role assignments), who holds which role on what, the
Kubernetes side through this cluster's provider, and nothing of it with `monitoring` off."""

from __future__ import annotations

import json

import pytest

import versions
from manifests import azure, monitoring, pools, scrape
from tests.program.test_azure_side import _unknown_keys, sdk_args
from tools.mocks import CALLER_OBJECT_ID, SUBSCRIPTION_ID, Recording

AKS = "azure-native:containerservice:ManagedCluster"
LOGS = "azure-native:operationalinsights:Workspace"
PROMETHEUS = "azure-native:monitor:AzureMonitorWorkspace"
DCE = "azure-native:monitor:DataCollectionEndpoint"
DCR = "azure-native:monitor:DataCollectionRule"
DCRA = "azure-native:monitor:DataCollectionRuleAssociation"
RULES = "azure-native:alertsmanagement:PrometheusRuleGroup"
GRAFANA = "azure-native:dashboard:Grafana"
ROLE = "azure-native:authorization:RoleAssignment"
POD_MONITOR = "kubernetes:azmonitoring.coreos.com/v1:PodMonitor"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CHART = "kubernetes:helm.sh/v4:Chart"
GRAFANA_PROVIDER = "pulumi:providers:grafana"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
FOLDER = "grafana:oss/folder:Folder"
K8S_PROVIDER = "pulumi:providers:kubernetes"
MONITORING_TYPES = {LOGS, PROMETHEUS, DCE, DCR, DCRA, RULES, GRAFANA, POD_MONITOR, GRAFANA_PROVIDER, DASHBOARD, FOLDER}

ADMINS = "44444444-4444-4444-4444-444444444444"
VIEWERS = "55555555-5555-5555-5555-555555555555"


@pytest.fixture(scope="module")
def tuned(record) -> Recording:
    return record({"logRetentionDays": 90, "autoscalerIdleTimeoutSeconds": 600})


@pytest.fixture(scope="module")
def groups(record) -> Recording:
    return record(
        {
            "grafanaAdminGroupObjectIds": [ADMINS],
            "grafanaViewerGroupObjectIds": [VIEWERS],
            "deployerPrincipalType": "ServicePrincipal",
        }
    )


def role_id(role: str) -> str:
    return azure.role_definition_id(SUBSCRIPTION_ID, role)


def rule(rec: Recording, suffix: str):
    return rec.one(DCR, suffix)


def depends(resource, prop: str, on) -> bool:
    return on.urn in resource.property_dependencies.get(prop, [])


# --- Metrics: workspace ← endpoint/rule ← association → cluster ----------------------------------------


def test_the_prometheus_rule_sends_to_the_workspace_through_the_endpoint(dev):
    workspace, endpoint, dcr = dev.one(PROMETHEUS), dev.one(DCE), rule(dev, "prometheus-dcr")
    assert dcr.inputs["dataCollectionEndpointId"] == endpoint.id and depends(dcr, "dataCollectionEndpointId", endpoint)
    assert dcr.inputs["destinations"]["monitoringAccounts"][0]["accountResourceId"] == workspace.id
    assert depends(dcr, "destinations", workspace)
    assert dcr.inputs["dataSources"]["prometheusForwarder"][0]["streams"] == ["Microsoft-PrometheusMetrics"]


def test_the_cluster_is_associated_with_both_collection_rules(dev):
    aks = dev.one(AKS)
    by_rule = {a.inputs["dataCollectionRuleId"]: a for a in dev.of_type(DCRA)}
    prometheus, insights = rule(dev, "prometheus-dcr"), rule(dev, "container-insights-dcr")
    assert set(by_rule) == {prometheus.id, insights.id}
    for association in by_rule.values():
        assert association.inputs["resourceUri"] == aks.id and depends(association, "resourceUri", aks)
    assert by_rule[prometheus.id].inputs["associationName"] == f"MSProm-eastus2-{aks.outputs['name']}"
    assert by_rule[insights.id].inputs["associationName"] == "ContainerInsightsExtension"


def test_the_cluster_runs_managed_prometheus_with_the_ray_label_allow_list(dev):
    metrics = dev.one(AKS).inputs["azureMonitorProfile"]["metrics"]
    assert metrics["enabled"] is True
    assert metrics["kubeStateMetrics"]["metricLabelsAllowlist"] == monitoring.kube_state_metrics_labels()


# --- Logs ----------------------------------------------------------------------------------------------


def test_container_insights_logs_in_with_its_managed_identity_to_the_log_workspace(dev):
    aks, logs = dev.one(AKS), dev.one(LOGS)
    omsagent = aks.inputs["addonProfiles"]["omsagent"]
    assert omsagent == {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": logs.id, "useAADAuth": "true"}}
    assert depends(aks, "addonProfiles", logs)
    insights = rule(dev, "container-insights-dcr")
    assert insights.inputs["destinations"]["logAnalytics"][0]["workspaceResourceId"] == logs.id


def test_the_log_workspace_keeps_logs_for_the_configured_days_and_takes_no_keys(tuned):
    logs = tuned.one(LOGS).inputs
    assert logs["retentionInDays"] == 90
    assert logs["sku"] == {"name": "PerGB2018"}
    assert logs["features"] == {"disableLocalAuth": True}


def test_the_stack_prints_the_grafana_url_and_a_ready_log_query(dev):
    grafana = dev.one(GRAFANA)
    assert dev.stack_outputs["grafanaUrl"] == grafana.outputs["properties"]["endpoint"]
    assert dev.stack_outputs["logQueryCommand"] == monitoring.log_query_command(
        dev.one(LOGS).outputs["customerId"], "ray"
    )


# --- Grafana and who may do what -----------------------------------------------------------------------


def test_grafana_is_standard_with_a_system_identity_no_api_keys_and_the_prometheus_workspace(dev):
    grafana = dev.one(GRAFANA).inputs
    assert grafana["sku"] == {"name": "Standard"}
    assert grafana["identity"] == {"type": "SystemAssigned"}
    assert grafana["properties"]["apiKey"] == "Disabled"
    assert grafana["properties"]["grafanaIntegrations"]["azureMonitorWorkspaceIntegrations"] == [
        {"azureMonitorWorkspaceResourceId": dev.one(PROMETHEUS).id}
    ]


def test_grafanas_identity_reads_the_prometheus_workspace_and_nothing_else(dev):
    grafana = dev.one(GRAFANA)
    [reader] = [
        r for r in dev.of_type(ROLE) if r.inputs.get("principalId") == grafana.outputs["identity"]["principalId"]
    ]
    assert depends(reader, "principalId", grafana)
    assert reader.inputs["roleDefinitionId"] == role_id(monitoring.MONITORING_DATA_READER)
    assert reader.inputs["scope"] == dev.one(PROMETHEUS).id
    assert reader.inputs["principalType"] == "ServicePrincipal"


def test_configured_groups_get_grafana_roles_on_this_instance_only(groups):
    grafana = groups.one(GRAFANA)
    by_principal = {r.inputs["principalId"]: r.inputs for r in groups.of_type(ROLE)}
    assert by_principal[ADMINS] == {
        "principalId": ADMINS,
        "principalType": "Group",
        "roleDefinitionId": role_id(monitoring.GRAFANA_ADMIN),
        "scope": grafana.id,
    }
    assert by_principal[VIEWERS] == {
        "principalId": VIEWERS,
        "principalType": "Group",
        "roleDefinitionId": role_id(monitoring.GRAFANA_VIEWER),
        "scope": grafana.id,
    }


def test_the_identity_running_pulumi_up_may_edit_dashboards_as_the_configured_principal_type(dev, groups):
    for rec, kind in ((dev, "User"), (groups, "ServicePrincipal")):
        [deployer] = [r for r in rec.of_type(ROLE) if r.name == "monitoring-grafana-deployer"]
        assert deployer.inputs == {
            "principalId": CALLER_OBJECT_ID,
            "principalType": kind,
            "roleDefinitionId": role_id(monitoring.GRAFANA_EDITOR),
            "scope": rec.one(GRAFANA).id,
        }


def test_every_monitoring_role_assignment_names_its_principal_type(groups):
    mine = [r for r in groups.of_type(ROLE) if r.name.startswith("monitoring-")]
    assert len(mine) == 4
    assert all(r.inputs["principalType"] in ("ServicePrincipal", "Group", "User") for r in mine)


def test_the_dashboards_are_loaded_through_grafanas_api_with_an_entra_token_after_the_deployers_role(dev):
    grafana, api = dev.one(GRAFANA), dev.one(GRAFANA_PROVIDER)
    assert api.inputs["url"] == grafana.outputs["properties"]["endpoint"] and depends(api, "url", grafana)
    assert api.inputs["auth"] == f"mock-token-for-{monitoring.GRAFANA_APP_ID}"
    assert ("azure-native:authorization:getClientToken", {"endpoint": monitoring.GRAFANA_APP_ID}) in dev.invokes
    deployer = dev.one(ROLE, "grafana-deployer")
    assert deployer.urn in api.dependencies
    # Provider configuration reaches the plugin JSON-encoded.
    assert {"401", "403"} <= set(json.loads(api.inputs["retryStatusCodes"]))
    folder = dev.one(FOLDER)
    boards = {b.name: b for b in dev.of_type(DASHBOARD)}
    assert set(boards) == {f"monitoring-dashboard-{p.stem}" for p in monitoring.dashboard_files()}
    for path in monitoring.dashboard_files():
        board = boards[f"monitoring-dashboard-{path.stem}"]
        assert board.inputs["configJson"] == path.read_text()
        assert board.inputs["folder"] == folder.outputs["uid"] and depends(board, "folder", folder)
        assert dev.provider_of(board).urn == api.urn


def test_destroy_never_calls_grafanas_api_with_the_expired_token_the_state_holds(dev):
    # The workspace's deletion takes the folder and dashboards with it; a retained one is only forgotten.
    for resource in [dev.one(FOLDER), *dev.of_type(DASHBOARD)]:
        assert resource.options["retainOnDelete"] is True, resource.name


# --- Alerts --------------------------------------------------------------------------------------------


def test_the_alert_rules_run_on_this_clusters_metrics(tuned):
    rec = tuned
    group, aks = rec.one(RULES), rec.one(AKS)
    assert group.inputs["scopes"] == [rec.one(PROMETHEUS).id, aks.id]
    assert group.inputs["clusterName"] == aks.outputs["name"]
    alerts = {r["alert"]: r for r in group.inputs["rules"]}
    assert alerts["GpuNodeIdle"]["for"] == "PT20M"
    assert group.inputs["enabled"] is True


# --- Kubernetes side -----------------------------------------------------------------------------------


def test_pod_monitors_and_the_scraper_policy_live_in_the_ray_namespace_through_this_clusters_provider(dev):
    provider = dev.one(K8S_PROVIDER)
    monitors = {m.inputs["metadata"]["name"]: m for m in dev.of_type(POD_MONITOR)}
    assert set(monitors) == {"ray-tune-head", "ray-tune-workers", "dcgm-exporter"}
    for name in ("ray-tune-head", "ray-tune-workers"):
        assert monitors[name].inputs["metadata"]["namespace"] == "ray"
    scraper = next(p for p in dev.of_type(POLICY) if p.inputs["metadata"]["name"] == "ray-tune-metrics-scraper")
    assert scraper.inputs["spec"] == scrape.scraper_to_ray_metrics("ray", "ray-tune")["spec"]
    ray_namespace = next(
        n for n in dev.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == "ray"
    )
    for resource in [*monitors.values(), scraper]:
        assert dev.provider_of(resource).urn == provider.urn
    for resource in (monitors["ray-tune-head"], monitors["ray-tune-workers"], scraper):
        assert ray_namespace.urn in resource.dependencies


def test_the_head_declares_the_ports_its_pod_monitor_scrapes(dev):
    head = dev.one("kubernetes:ray.io/v1:RayCluster").inputs["spec"]["headGroupSpec"]["template"]
    declared = {p["name"] for p in head["spec"]["containers"][0]["ports"]}
    head_monitor = next(m for m in dev.of_type(POD_MONITOR) if m.inputs["metadata"]["name"] == "ray-tune-head")
    scraped = {e["port"] for e in head_monitor.inputs["spec"]["podMetricsEndpoints"]}
    # `metrics` is the one KubeRay adds itself (common/pod.go); the rest must be ours.
    assert scraped - {"metrics"} <= declared


def test_the_dcgm_exporter_chart_is_pinned_and_runs_on_gpu_nodes_only(dev):
    chart = next(c for c in dev.of_type(CHART) if c.inputs["chart"] == versions.DCGM_EXPORTER_CHART)
    assert chart.inputs["version"] == versions.DCGM_EXPORTER_VERSION
    assert chart.inputs["repositoryOpts"] == {"repo": versions.DCGM_EXPORTER_REPO}
    assert chart.inputs["name"] == scrape.DCGM_RELEASE
    assert chart.inputs["values"]["nodeSelector"] == pools.gpu_node_selector()
    gpu_pool = next(
        p for p in dev.of_type("azure-native:containerservice:AgentPool") if p.inputs["agentPoolName"] == "gpu"
    )
    assert gpu_pool.urn in chart.dependencies
    for taint in gpu_pool.inputs["nodeTaints"]:
        assert any(pools.tolerates(t, pools.parse_taint(taint)) for t in chart.inputs["values"]["tolerations"])
    namespace = next(
        n for n in dev.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == scrape.DCGM_NAMESPACE
    )
    assert chart.inputs["namespace"] == namespace.inputs["metadata"]["name"]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


# --- What the SDK accepts, and monitoring off ----------------------------------------------------------


def test_every_monitoring_input_is_one_the_azure_native_sdk_declares(groups):
    mine = [
        r
        for r in groups.resources.values()
        if r.type.startswith("azure-native:")
        and (r.type in MONITORING_TYPES or r.type == AKS or r.name.startswith("monitoring-"))
    ]
    assert {r.type for r in mine} >= {LOGS, PROMETHEUS, DCE, DCR, DCRA, RULES, GRAFANA, ROLE, AKS}
    for resource in mine:
        assert _unknown_keys(resource.inputs, sdk_args(resource.type), resource.name) == []


def test_with_monitoring_off_none_of_it_is_registered(record, dev):
    off = record({"monitoring": False})
    assert not {r.type for r in off.resources.values()} & MONITORING_TYPES
    assert not [r for r in off.resources.values() if r.type.startswith("ray-aks:monitoring:")]
    assert not [r for r in off.of_type(POLICY) if r.inputs["metadata"]["name"].endswith("-metrics-scraper")]
    assert not [c for c in off.of_type(CHART) if c.inputs["chart"] == versions.DCGM_EXPORTER_CHART]
    aks = off.one(AKS).inputs
    assert "azureMonitorProfile" not in aks and "addonProfiles" not in aks
    assert "grafanaUrl" not in off.stack_outputs and "logQueryCommand" not in off.stack_outputs
    # Everything else is the same program.
    others = {
        (r.type, r.name)
        for r in dev.resources.values()
        if r.type not in MONITORING_TYPES and not r.name.startswith(("monitoring", "cluster-monitoring", "metrics"))
    }
    assert others == {(r.type, r.name) for r in off.resources.values()}
