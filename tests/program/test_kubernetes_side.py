"""The Kubernetes side of the program under Pulumi's mocks: every resource goes through this cluster's
provider, and what one resource says about another (taints, labels, identities, names, mounts, order)
agrees across the recorded graph."""

from __future__ import annotations

import pytest

import versions
from manifests import pools
from manifests.log_sidecar import LOG_VOLUME, RAY_TEMP_DIR
from manifests.raycluster import CPU_GROUP, DASHBOARD_PORT, GPU_GROUP
from settings import DATASETS_CONTAINER, RESULTS_CONTAINER
from tools.mocks import Recording, run_program, stack_config
from workloads import defaults

POOL = "azure-native:containerservice:AgentPool"
AKS = "azure-native:containerservice:ManagedCluster"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE = "azure-native:authorization:RoleAssignment"
CONTAINER = "azure-native:storage:BlobContainer"
ACCOUNT = "azure-native:storage:StorageAccount"
K8S_PROVIDER = "pulumi:providers:kubernetes"
CHART = "kubernetes:helm.sh/v4:Chart"
RAYCLUSTER = "kubernetes:ray.io/v1:RayCluster"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NAMESPACE = "kubernetes:core/v1:Namespace"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


@pytest.fixture(scope="module")
def regular_gpus() -> Recording:
    return run_program(stack_config("dev", {"gpuSpot": False}))


def pool(rec: Recording, name: str):
    return next(r for r in rec.of_type(POOL) if r.inputs["agentPoolName"] == name)


def chart(rec: Recording, name: str):
    return next(r for r in rec.of_type(CHART) if r.inputs["chart"] == name)


def ray_cluster(rec: Recording):
    return rec.one(RAYCLUSTER)


def templates(rec: Recording) -> dict[str, dict]:
    spec = ray_cluster(rec).inputs["spec"]
    return {
        "head": spec["headGroupSpec"]["template"],
        **{g["groupName"]: g["template"] for g in spec["workerGroupSpecs"]},
    }


def kubernetes_resources(rec: Recording):
    return [r for r in rec.resources.values() if r.type.startswith("kubernetes:")]


def ray_identity(rec: Recording):
    """The managed identity whose principal holds the data roles on the containers."""
    container_ids = {c.id for c in rec.of_type(CONTAINER)}
    principals = {r.inputs["principalId"] for r in rec.of_type(ROLE) if r.inputs["scope"] in container_ids}
    assert len(principals) == 1
    return next(i for i in rec.of_type(IDENTITY) if i.outputs["principalId"] in principals)


# --- One provider, built from this cluster -------------------------------------------------------------


def test_every_kubernetes_resource_uses_the_provider_built_from_this_cluster(dev):
    provider = dev.one(K8S_PROVIDER)
    assert provider.inputs["clusterIdentifier"] == dev.one(AKS).id
    resources = kubernetes_resources(dev)
    assert len(resources) >= 12
    for resource in resources:
        assert dev.provider_of(resource) is provider, resource.name


def test_the_kubernetes_side_is_five_components_each_with_its_own_children(dev):
    components = {
        r.type: r
        for r in dev.resources.values()
        if r.type
        in (
            "ray-aks:gpu:DevicePlugin",
            "ray-aks:kuberay:KubeRay",
            "ray-aks:ray:RayCluster",
            "ray-aks:monitoring:ScrapeTargets",
            "ray-aks:seed:Seed",
        )
    }
    assert len(components) == 5
    for resource in kubernetes_resources(dev):
        assert dev.by_urn(resource.parent) in components.values(), resource.name


# --- Charts --------------------------------------------------------------------------------------------


def test_the_operator_chart_is_helm_v4_pinned_from_the_kuberay_repo_with_its_crds(dev):
    operator = chart(dev, versions.KUBERAY_CHART)
    assert operator.type == CHART
    assert operator.inputs["version"] == versions.KUBERAY_CHART_VERSION
    assert operator.inputs["repositoryOpts"] == {"repo": versions.KUBERAY_CHART_REPO}
    # The CRDs are rendered as children of the chart and upgrade with it: skipCrds must stay off.
    assert not operator.inputs.get("skipCrds")


def test_the_device_plugin_chart_is_pinned_from_nvidias_repo(dev):
    plugin = chart(dev, versions.NVIDIA_DEVICE_PLUGIN_CHART)
    assert plugin.inputs["version"] == versions.NVIDIA_DEVICE_PLUGIN_VERSION
    assert plugin.inputs["repositoryOpts"] == {"repo": versions.NVIDIA_DEVICE_PLUGIN_REPO}
    assert plugin.inputs["namespace"] not in ("default", "kube-system")


def test_the_operator_watches_exactly_the_namespace_the_ray_cluster_lives_in(dev):
    values = chart(dev, versions.KUBERAY_CHART).inputs["values"]
    assert values["watchNamespace"] == [ray_cluster(dev).inputs["metadata"]["namespace"]]
    namespaces = {n.inputs["metadata"]["name"] for n in dev.of_type(NAMESPACE)}
    assert {chart(dev, versions.KUBERAY_CHART).inputs["namespace"], *values["watchNamespace"]} <= namespaces


def test_only_the_operators_namespace_is_let_in_to_the_dashboard(dev):
    operator_ns = chart(dev, versions.KUBERAY_CHART).inputs["namespace"]
    # Rules that open the dashboard's port (or every port); the metrics scraper's opens other ports only.
    peers = [
        peer
        for policy in dev.of_type(NETWORK_POLICY)
        for rule in policy.inputs["spec"].get("ingress", [])
        if not rule.get("ports") or any(p["port"] == DASHBOARD_PORT for p in rule["ports"])
        for peer in rule["from"]
        if "namespaceSelector" in peer
    ]
    assert [p["namespaceSelector"]["matchLabels"] for p in peers] == [{"kubernetes.io/metadata.name": operator_ns}]


def test_the_ray_namespace_enforces_pod_security_restricted(dev):
    ray_ns = ray_cluster(dev).inputs["metadata"]["namespace"]
    namespace = next(n for n in dev.of_type(NAMESPACE) if n.inputs["metadata"]["name"] == ray_ns)
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_heads_disruption_budget_selects_the_head_of_the_cluster_pulumi_creates(dev):
    budget = dev.one(PDB)
    metadata = ray_cluster(dev).inputs["metadata"]
    assert budget.inputs["metadata"]["namespace"] == metadata["namespace"]
    assert budget.inputs["spec"]["selector"]["matchLabels"]["ray.io/cluster"] == metadata["name"]
    assert budget.inputs["spec"]["maxUnavailable"] == 0


def test_ray_workers_are_denied_the_instance_metadata_service(dev):
    egress = [p.inputs for p in dev.of_type(NETWORK_POLICY) if "Egress" in p.inputs["spec"]["policyTypes"]]
    assert [p["spec"]["podSelector"]["matchLabels"]["ray.io/node-type"] for p in egress] == ["worker"]
    assert egress[0]["metadata"]["namespace"] == ray_cluster(dev).inputs["metadata"]["namespace"]


# --- Pools: taints vs tolerations, labels vs selectors -------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "regular_gpus"])
def test_gpu_pods_tolerate_every_taint_the_gpu_pool_carries(stack, request):
    rec = request.getfixturevalue(stack)
    taints = [pools.parse_taint(t) for t in pool(rec, "gpu").inputs["nodeTaints"]]
    assert taints
    gpu_pods = [
        templates(rec)[GPU_GROUP]["spec"]["tolerations"],
        chart(rec, versions.NVIDIA_DEVICE_PLUGIN_CHART).inputs["values"]["tolerations"],
    ]
    for tolerations in gpu_pods:
        for taint in taints:
            assert any(pools.tolerates(t, taint) for t in tolerations), taint


def test_gpu_pods_select_labels_the_gpu_pool_has_and_cpu_pods_labels_the_cpu_pool_has(dev):
    gpu_labels, cpu_labels = pool(dev, "gpu").inputs["nodeLabels"], pool(dev, "cpu").inputs["nodeLabels"]
    pods = templates(dev)
    for selector in (
        pods[GPU_GROUP]["spec"]["nodeSelector"],
        chart(dev, versions.NVIDIA_DEVICE_PLUGIN_CHART).inputs["values"]["nodeSelector"],
    ):
        assert selector.items() <= gpu_labels.items() and not selector.items() <= cpu_labels.items()
    for selector in (
        pods["head"]["spec"]["nodeSelector"],
        pods[CPU_GROUP]["spec"]["nodeSelector"],
        chart(dev, versions.KUBERAY_CHART).inputs["values"]["nodeSelector"],
    ):
        assert selector.items() <= cpu_labels.items() and not selector.items() <= gpu_labels.items()


def test_the_device_plugins_affinity_matches_the_gpu_pools_labels(dev):
    labels = pool(dev, "gpu").inputs["nodeLabels"]
    affinity = chart(dev, versions.NVIDIA_DEVICE_PLUGIN_CHART).inputs["values"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert any(all(labels.get(e["key"]) in e["values"] for e in term["matchExpressions"]) for term in terms)


def test_without_spot_the_pool_has_no_spot_taint_and_the_spare_toleration_is_harmless(regular_gpus):
    taints = [pools.parse_taint(t) for t in pool(regular_gpus, "gpu").inputs["nodeTaints"]]
    assert pools.SPOT_TAINT not in taints and pools.GPU_TAINT in taints
    assert templates(regular_gpus)[GPU_GROUP]["spec"]["tolerations"] == pools.gpu_tolerations()


def test_worker_maxima_stay_within_the_pools_maxima(dev):
    groups = {g["groupName"]: g for g in ray_cluster(dev).inputs["spec"]["workerGroupSpecs"]}
    assert groups[GPU_GROUP]["maxReplicas"] == pool(dev, "gpu").inputs["maxCount"]
    assert groups[CPU_GROUP]["maxReplicas"] <= pool(dev, "cpu").inputs["maxCount"]
    gpus = templates(dev)[GPU_GROUP]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
    assert int(gpus) >= 1


# --- Identity: one managed identity, two service accounts (head, workers) -------------------------------


def test_the_pvs_and_both_service_accounts_carry_the_client_id_of_the_identity_holding_the_data_roles(dev):
    client_id = ray_identity(dev).outputs["clientId"]
    accounts = dev.of_type(SERVICE_ACCOUNT)
    assert len(accounts) == 2
    for account in accounts:
        assert account.inputs["metadata"]["annotations"]["azure.workload.identity/client-id"] == client_id
    for pv in dev.of_type(PV):
        assert pv.inputs["spec"]["csi"]["volumeAttributes"]["clientID"] == client_id


def test_every_ray_pod_runs_as_an_account_that_is_a_federated_subject_of_the_identity(dev):
    accounts = {a.inputs["metadata"]["name"]: a.inputs for a in dev.of_type(SERVICE_ACCOUNT)}
    subjects = {f.inputs["subject"] for f in dev.of_type(FEDERATION)}
    assert all(f.inputs["resourceName"] == ray_identity(dev).outputs["name"] for f in dev.of_type(FEDERATION))
    for template in templates(dev).values():
        account = accounts[template["spec"]["serviceAccountName"]]["metadata"]
        assert f"system:serviceaccount:{account['namespace']}:{account['name']}" in subjects
        assert ray_cluster(dev).inputs["metadata"]["namespace"] == account["namespace"]
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"


def test_the_workers_account_mounts_no_api_token_and_differs_from_the_heads(dev):
    pods = templates(dev)
    head_account = pods["head"]["spec"]["serviceAccountName"]
    accounts = {a.inputs["metadata"]["name"]: a.inputs for a in dev.of_type(SERVICE_ACCOUNT)}
    for group_name in (CPU_GROUP, GPU_GROUP):
        worker_account = pods[group_name]["spec"]["serviceAccountName"]
        assert worker_account != head_account
        assert accounts[worker_account]["automountServiceAccountToken"] is False
    assert accounts[head_account].get("automountServiceAccountToken", True) is True


def test_the_identitys_federated_credentials_are_written_one_after_the_other(dev):
    first, second = sorted(dev.of_type(FEDERATION), key=lambda f: len(f.dependencies))
    assert first.urn in second.dependencies


def test_the_pvs_name_the_storage_account_its_group_and_the_containers_that_exist(dev):
    account = dev.one(ACCOUNT)
    containers = {c.inputs["containerName"]: c for c in dev.of_type(CONTAINER)}
    pvs = dev.of_type(PV)
    assert len(pvs) == 2
    for pv in pvs:
        attributes = pv.inputs["spec"]["csi"]["volumeAttributes"]
        assert attributes["storageAccount"] == account.outputs["name"]
        assert attributes["resourceGroup"] == account.inputs["resourceGroupName"]
        assert containers[attributes["containerName"]].inputs["accountName"] == account.outputs["name"]
        assert attributes["mountWithWorkloadIdentityToken"] == "true"
    assert {pv.inputs["spec"]["csi"]["volumeHandle"] for pv in pvs} == {
        f"{account.outputs['name']}_{name}" for name in containers
    }


# --- Volumes, as the pods see them ---------------------------------------------------------------------


def test_the_claims_bind_the_pvs_of_the_storage_class_and_every_ray_pod_mounts_them(dev):
    class_name = dev.one(STORAGE_CLASS).inputs["metadata"]["name"]
    pvs = {pv.inputs["metadata"]["name"]: pv.inputs["spec"] for pv in dev.of_type(PV)}
    claims = {c.inputs["metadata"]["name"]: c.inputs for c in dev.of_type(PVC)}
    for name, claim in claims.items():
        pv = pvs[claim["spec"]["volumeName"]]
        assert pv["claimRef"] == {"namespace": claim["metadata"]["namespace"], "name": name}
        assert claim["spec"]["storageClassName"] == pv["storageClassName"] == class_name
    for template in templates(dev).values():
        volumes = template["spec"]["volumes"]
        assert {v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v} == set(claims)


def test_every_ray_container_mounts_the_workloads_paths(dev):
    # And Ray's temp dir, which the log forwarder reads (monitoring is on in the dev stack).
    paths = {
        DATASETS_CONTAINER: defaults.DATASETS_MOUNT,
        RESULTS_CONTAINER: defaults.RESULTS_MOUNT,
        LOG_VOLUME: RAY_TEMP_DIR,
    }
    for template in templates(dev).values():
        mounts = {m["name"]: m["mountPath"] for m in template["spec"]["containers"][0]["volumeMounts"]}
        assert mounts == paths
    assert (dev.stack_outputs["datasetsMountPath"], dev.stack_outputs["resultsMountPath"]) == (
        defaults.DATASETS_MOUNT,
        defaults.RESULTS_MOUNT,
    )


# --- Versions ------------------------------------------------------------------------------------------


def test_image_tags_ray_version_and_the_pin_agree(dev):
    spec = ray_cluster(dev).inputs["spec"]
    assert spec["rayVersion"] == versions.RAY_VERSION == defaults.RAY_VERSION
    for template in templates(dev).values():
        assert template["spec"]["containers"][0]["image"].split(":")[1].startswith(f"{spec['rayVersion']}-")


# --- Order ---------------------------------------------------------------------------------------------


def test_the_ray_cluster_waits_for_the_operator_claims_gpu_pool_device_plugin_and_service_account(dev):
    depends = set(ray_cluster(dev).dependencies)
    required = {
        chart(dev, versions.KUBERAY_CHART).urn,
        chart(dev, versions.NVIDIA_DEVICE_PLUGIN_CHART).urn,
        pool(dev, "gpu").urn,
        *(a.urn for a in dev.of_type(SERVICE_ACCOUNT)),
        *(c.urn for c in dev.of_type(PVC)),
    }
    assert required <= depends


def test_the_charts_wait_for_the_pools_their_pods_run_on(dev):
    assert pool(dev, "cpu").urn in chart(dev, versions.KUBERAY_CHART).dependencies
    assert pool(dev, "gpu").urn in chart(dev, versions.NVIDIA_DEVICE_PLUGIN_CHART).dependencies


def test_pulumi_waits_for_the_head_pod_to_be_ready(dev):
    annotations = ray_cluster(dev).inputs["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == "condition=HeadPodReady"
    assert int(annotations["pulumi.com/timeoutSeconds"]) >= 600


# --- Exposure ------------------------------------------------------------------------------------------


def test_token_auth_is_on_and_nothing_is_exposed_outside_the_cluster(dev):
    spec = ray_cluster(dev).inputs["spec"]
    assert spec["authOptions"]["mode"] == "token"
    assert spec["headGroupSpec"]["serviceType"] == "ClusterIP"
    assert not dev.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    for service in dev.of_type("kubernetes:core/v1:Service"):
        assert service.inputs["spec"].get("type", "ClusterIP") == "ClusterIP", service.name
    for resource in kubernetes_resources(dev):
        assert "LoadBalancer" not in repr(resource.inputs) and "NodePort" not in repr(resource.inputs)


# --- Outputs -------------------------------------------------------------------------------------------


def test_the_outputs_name_the_namespace_the_head_service_and_paste_ready_commands(dev):
    out = dev.stack_outputs
    metadata = ray_cluster(dev).inputs["metadata"]
    assert out["rayNamespace"] == metadata["namespace"]
    assert out["rayHeadService"] == f"{metadata['name']}-head-svc"
    assert out["dashboardCommand"] == (
        f"kubectl -n {metadata['namespace']} port-forward svc/{out['rayHeadService']} 8265:8265"
    )
    assert f"get secret {metadata['name']} " in out["authTokenCommand"]
    assert out["jobSubmitCommand"].startswith("RAY_AUTH_MODE=token RAY_AUTH_TOKEN=")
    assert f"--data-dir {defaults.DATASETS_MOUNT} --storage-path {defaults.RESULTS_MOUNT}" in out["jobSubmitCommand"]


def test_the_exported_job_asks_for_gpu_shares_and_the_concurrency_the_rendered_gpu_group_holds(dev):
    groups = {g["groupName"]: g for g in ray_cluster(dev).inputs["spec"]["workerGroupSpecs"]}
    gpu = groups[GPU_GROUP]
    limits = gpu["template"]["spec"]["containers"][0]["resources"]["limits"]
    per_node = min(int(limits["cpu"]), int(limits["nvidia.com/gpu"]) * 4)  # 1 CPU and 0.25 GPU per trial
    command = dev.stack_outputs["jobSubmitCommand"]
    assert "--gpus-per-trial 0.25" in command
    assert f"--max-concurrent {per_node * int(gpu['maxReplicas'])}" in command
