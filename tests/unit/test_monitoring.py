"""The observability builders (manifests/monitoring.py, manifests/scrape.py), checked against the pods KubeRay builds from our
RayCluster, the node pools' taints and labels, and the shapes Microsoft's templates use."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifests import log_sidecar, monitoring, names, pools, raycluster, scrape
from manifests.network_policy import NAMESPACE_NAME_LABEL
from settings import parse

SETTINGS = parse({"apiServerAuthorizedIpRanges": '["20.37.0.1/32"]'})


def kuberay_pods(settings=SETTINGS) -> list[dict]:
    """The pods KubeRay 1.7.0 makes of our RayCluster, as far as scraping cares: its labels
    (utils/constant.go: ray.io/cluster, ray.io/node-type, ray.io/group) and the Ray container's ports, plus the
    `metrics` port (8080) KubeRay appends when the container has none of that name (common/pod.go)."""
    spec = raycluster.raycluster_manifest(settings)["spec"]
    groups = [("head", "headgroup", spec["headGroupSpec"]["template"])] + [
        ("worker", g["groupName"], g["template"]) for g in spec["workerGroupSpecs"]
    ]
    pods = []
    for node_type, group, template in groups:
        container = dict(template["spec"]["containers"][0])
        ports = list(container.get("ports", []))
        if not any(p["name"] == "metrics" for p in ports):
            ports.append({"name": "metrics", "containerPort": 8080})
        labels = {
            **template["metadata"].get("labels", {}),
            raycluster.CLUSTER_LABEL: settings.ray_cluster_name,
            raycluster.NODE_TYPE_LABEL: node_type,
            scrape.GROUP_LABEL: group,
        }
        pods.append({"namespace": settings.ray_namespace, "labels": labels, "ports": ports, "group": group})
    return pods


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


# --- Ray's PodMonitors ---------------------------------------------------------------------------------


def test_the_head_monitor_selects_the_head_only_and_the_worker_monitor_every_worker_group():
    head, workers = scrape.ray_pod_monitors(SETTINGS.ray_namespace, SETTINGS.ray_cluster_name)
    pods = kuberay_pods()
    assert [p["group"] for p in pods if selects(head["spec"]["selector"], p["labels"])] == ["headgroup"]
    assert [p["group"] for p in pods if selects(workers["spec"]["selector"], p["labels"])] == [
        raycluster.CPU_GROUP,
        raycluster.GPU_GROUP,
    ]


def test_every_port_a_monitor_scrapes_is_a_named_port_of_every_pod_it_selects():
    for pod_monitor in scrape.ray_pod_monitors(SETTINGS.ray_namespace, SETTINGS.ray_cluster_name):
        assert pod_monitor["spec"]["namespaceSelector"] == {"matchNames": [SETTINGS.ray_namespace]}
        selected = [p for p in kuberay_pods() if selects(pod_monitor["spec"]["selector"], p["labels"])]
        assert selected
        for pod in selected:
            names = {port["name"] for port in pod["ports"]}
            for endpoint in pod_monitor["spec"]["podMetricsEndpoints"]:
                assert endpoint["port"] in names, (pod_monitor["metadata"]["name"], endpoint["port"], pod["group"])


def test_the_head_is_scraped_for_ray_autoscaler_and_dashboard_metrics_on_rays_ports():
    head = next(p for p in kuberay_pods() if p["group"] == "headgroup")
    ports = {p["name"]: p["containerPort"] for p in head["ports"]}
    assert ports["metrics"] == 8080
    assert ports[scrape.AUTOSCALER_METRICS_PORT_NAME] == 44217
    assert ports[scrape.DASHBOARD_METRICS_PORT_NAME] == 44227
    assert all(len(name) <= 15 for name in ports), "Kubernetes port names have 15 characters at most"


def test_samples_carry_the_ray_io_cluster_label_rays_dashboards_filter_on():
    for pod_monitor in scrape.ray_pod_monitors("ray", "tune-a"):
        for endpoint in pod_monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["relabelings"] == [
                {
                    "action": "replace",
                    "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
                    "targetLabel": "ray_io_cluster",
                }
            ]


def test_pod_monitors_use_the_api_group_the_aks_addon_reads():
    boards = [*scrape.ray_pod_monitors("ray", "x"), scrape.dcgm_pod_monitor()]
    assert {m["apiVersion"] for m in boards} == {"azmonitoring.coreos.com/v1"}
    assert {m["kind"] for m in boards} == {"PodMonitor"}


# --- The scraper's NetworkPolicy -----------------------------------------------------------------------


def test_only_the_addons_collector_in_kube_system_is_let_in_and_only_on_the_metrics_ports():
    policy = scrape.scraper_to_ray_metrics("ray", "ray-tune")
    assert policy["metadata"]["namespace"] == "ray"
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    # One peer holding both selectors: pods with that label in that namespace, not anything in either.
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
            "podSelector": {"matchLabels": {"rsName": "ama-metrics"}},
        }
    ]
    assert sorted(p["port"] for p in rule["ports"]) == [8080, 44217, 44227]
    assert {p["protocol"] for p in rule["ports"]} == {"TCP"}


def test_the_policy_opens_exactly_the_ports_the_monitors_scrape_on_every_ray_pod():
    policy = scrape.scraper_to_ray_metrics(SETTINGS.ray_namespace, SETTINGS.ray_cluster_name)
    opened = {p["port"] for p in policy["spec"]["ingress"][0]["ports"]}
    scraped = set()
    for pod_monitor in scrape.ray_pod_monitors(SETTINGS.ray_namespace, SETTINGS.ray_cluster_name):
        for pod in kuberay_pods():
            if selects(pod_monitor["spec"]["selector"], pod["labels"]):
                assert selects(policy["spec"]["podSelector"], pod["labels"])
                by_name = {p["name"]: p["containerPort"] for p in pod["ports"]}
                scraped |= {by_name[e["port"]] for e in pod_monitor["spec"]["podMetricsEndpoints"]}
    assert opened == scraped


# --- DCGM exporter -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spot", [True, False])
def test_the_dcgm_exporter_lands_on_gpu_nodes_only_spot_or_not(spot):
    values = scrape.dcgm_exporter_values()
    gpu_labels, cpu_labels = pools.gpu_labels(), pools.cpu_labels()
    assert all(gpu_labels.get(k) == v for k, v in values["nodeSelector"].items())
    assert not all(cpu_labels.get(k) == v for k, v in values["nodeSelector"].items())
    for taint in pools.gpu_taints(spot):
        assert any(pools.tolerates(t, taint) for t in values["tolerations"]), taint
    # Nothing tolerated beyond the GPU pool's taints: not the system pool's CriticalAddonsOnly.
    assert not any(pools.tolerates(t, pools.SYSTEM_TAINT) for t in values["tolerations"])


def test_the_dcgm_exporter_is_scraped_by_a_pod_monitor_not_the_charts_service_monitor():
    assert scrape.dcgm_exporter_values()["serviceMonitor"] == {"enabled": False}
    pod_monitor = scrape.dcgm_pod_monitor()
    assert pod_monitor["metadata"]["namespace"] == scrape.DCGM_NAMESPACE
    # The chart's selector labels for our release name (deployment/templates/_helpers.tpl).
    chart_labels = {
        "app.kubernetes.io/name": "dcgm-exporter",
        "app.kubernetes.io/instance": scrape.DCGM_RELEASE,
        "app.kubernetes.io/component": "dcgm-exporter",
    }
    assert selects(pod_monitor["spec"]["selector"], chart_labels)
    assert [e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]


# --- The cluster's profile -----------------------------------------------------------------------------


def test_the_cluster_runs_managed_prometheus_and_container_insights_with_managed_identity_auth():
    profile = monitoring.cluster_monitoring_profile("/subscriptions/s/resourceGroups/g/providers/x/workspaces/w")
    assert profile["azure_monitor_profile"]["metrics"]["enabled"] is True
    assert profile["addon_profiles"] == {
        "omsagent": {
            "enabled": True,
            "config": {
                "logAnalyticsWorkspaceResourceID": "/subscriptions/s/resourceGroups/g/providers/x/workspaces/w",
                "useAADAuth": "true",
            },
        }
    }


def test_kube_state_metrics_keeps_the_ray_and_pool_labels():
    allow = monitoring.kube_state_metrics_labels()
    lists = dict(re.findall(r"(\w+)=\[([^\]]*)\]", allow))
    assert set(lists["pods"].split(",")) == {"ray.io/cluster", "ray.io/node-type", "ray.io/group"}
    assert set(lists["nodes"].split(",")) == {pools.POOL_LABEL, "nvidia.com/gpu.present"}
    # Every label named is one KubeRay or our pools actually put there.
    pod_labels = set().union(*(p["labels"] for p in kuberay_pods()))
    assert set(lists["pods"].split(",")) <= pod_labels
    assert set(lists["nodes"].split(",")) <= set(pools.gpu_labels())


# --- Data collection rules -----------------------------------------------------------------------------


def test_the_prometheus_rule_forwards_every_sample_to_the_workspace_through_the_endpoint():
    rule = monitoring.prometheus_data_collection_rule("amw-id", "dce-id")
    assert rule["data_collection_endpoint_id"] == "dce-id"
    [source] = rule["data_sources"]["prometheus_forwarder"]
    [destination] = rule["destinations"]["monitoring_accounts"]
    assert destination["account_resource_id"] == "amw-id"
    assert rule["data_flows"] == [{"destinations": [destination["name"]], "streams": source["streams"]}]


def test_the_container_insights_rule_sends_logs_and_warning_syslog_to_the_log_workspace():
    rule = monitoring.container_insights_data_collection_rule("law-id")
    [extension] = rule["data_sources"]["extensions"]
    assert extension["extension_name"] == "ContainerInsights"
    assert extension["extension_settings"]["dataCollectionSettings"]["enableContainerLogV2"] is True
    [syslog] = rule["data_sources"]["syslog"]
    assert "Info" not in syslog["log_levels"] and "Debug" not in syslog["log_levels"]
    [destination] = rule["destinations"]["log_analytics"]
    assert destination["workspace_resource_id"] == "law-id"
    [flow] = rule["data_flows"]
    assert flow["destinations"] == [destination["name"]]
    assert set(flow["streams"]) == set(extension["streams"]) | set(syslog["streams"])


# --- Alerts --------------------------------------------------------------------------------------------


def _duration_seconds(iso: str) -> int:
    match = re.fullmatch(r"PT(\d+)M", iso)
    assert match, iso
    return int(match[1]) * 60


@given(st.integers(min_value=30, max_value=86400))
def test_a_gpu_node_counts_as_idle_only_after_rays_and_aks_scale_down_times(idle_timeout):
    rules = {r["alert"]: r for r in monitoring.alert_rules(idle_timeout)}
    waits = _duration_seconds(rules["GpuNodeIdle"]["for_"])
    assert idle_timeout + 10 * 60 <= waits < idle_timeout + 11 * 60


def test_the_three_alerts_watch_gpus_the_autoscaler_and_trials():
    rules = {r["alert"]: r for r in monitoring.alert_rules(300)}
    assert set(rules) == {"GpuNodeIdle", "RayNodeTypeNotLaunching", "RayTrialsErrored"}
    assert "DCGM_FI_DEV_GPU_UTIL" in rules["GpuNodeIdle"]["expression"]
    assert "autoscaler_pending_nodes" in rules["RayNodeTypeNotLaunching"]["expression"]
    assert "NodeType" in rules["RayNodeTypeNotLaunching"]["expression"]
    assert 'State="FAILED"' in rules["RayTrialsErrored"]["expression"]
    for rule in rules.values():
        assert rule["annotations"]["summary"] and 0 <= rule["severity"] <= 4


def test_the_trials_alert_matches_a_tune_trials_train_task_and_nothing_else():
    expression = next(r for r in monitoring.alert_rules(300) if r["alert"] == "RayTrialsErrored")["expression"]
    # The PromQL string literal ".+\\.train" is the regex .+\.train (anchored by PromQL).
    regex = re.search(r'Name=~"([^"]*)"', expression)[1].replace("\\\\", "\\")
    assert re.fullmatch(regex, "ImplicitFunc.train")
    assert not re.fullmatch(regex, "ImplicitFunc.restore") and not re.fullmatch(regex, "train")


# --- Grafana and logs ----------------------------------------------------------------------------------


def test_grafanas_name_is_the_project_and_stack_lowercased():
    # The rule itself is tests/unit/test_names.py's (manifests/names.grafana_name).
    assert names.grafana_name("ray-aks", "Team_A.prod") == "ray-aks-team-a-prod"


def test_grafana_takes_entra_id_sign_in_only_and_reads_the_prometheus_workspace():
    properties = monitoring.grafana_properties("amw-id")
    assert properties["api_key"] == "Disabled"
    assert properties["grafana_configurations"]["snapshots"]["external_enabled"] is False
    assert properties["grafana_integrations"]["azure_monitor_workspace_integrations"] == [
        {"azure_monitor_workspace_resource_id": "amw-id"}
    ]


def test_the_log_query_reads_one_trials_lines_from_the_ray_namespace():
    query = monitoring.trial_logs_query("tuning", "a1b2c_00003")
    assert query.startswith("ContainerLogV2 ")
    assert 'PodNamespace == "tuning"' in query and 'tostring(LogMessage) has "a1b2c_00003"' in query
    # The forwarder's lines: a trial's whole output carries its id (tests/unit/test_log_forwarder.py).
    assert f'ContainerName == "{log_sidecar.LOG_FORWARDER_CONTAINER}"' in query
    command = monitoring.log_query_command("0000-ws", "tuning")
    assert command.startswith("az monitor log-analytics query --workspace 0000-ws --analytics-query '")
    assert command.count("'") == 2, "the KQL is one single-quoted shell word"
