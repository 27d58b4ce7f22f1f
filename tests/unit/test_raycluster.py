"""The RayCluster builder: valid for KubeRay 1.7.0, and every rule of the cluster holds for any settings."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import versions
from manifests import log_sidecar, pools, raycluster, volumes, workload_identity
from manifests.raycluster import (
    CPU_GROUP,
    GPU_GROUP,
    TIMEOUT_SECONDS,
    WAIT_FOR,
    cpu_worker_max,
    head_service_name,
    raycluster_manifest,
)
from settings import Settings, SettingsError
from tests.unit.ray_pods import forwarder, pods, schema_errors, settings_of

K8S_VERSION = f"{versions.KUBERNETES_VERSION}.0"

# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity, the forms we write).
QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?")


def group(manifest: dict, name: str) -> dict:
    return next(g for g in manifest["spec"]["workerGroupSpecs"] if g["groupName"] == name)


# Settings that vary what the builder reads; invalid combinations are dropped by the settings model.
varied_settings = st.builds(
    dict,
    rayClusterName=st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True),
    rayNamespace=st.sampled_from(["ray", "ml-team", "tune-7"]),
    rayServiceAccount=st.sampled_from(["ray-workload", "tuner"]),
    cpuVmSize=st.sampled_from(["Standard_D8ds_v5", "Standard_D16ds_v5", "Standard_D4s_v5"]),
    cpuMaxCount=st.integers(1, 20),
    cpuWorkerCpus=st.integers(1, 14),
    rayHeadCpus=st.integers(1, 6),
    gpuVmSize=st.sampled_from(["Standard_NC8as_T4_v3", "Standard_NC64as_T4_v3", "Standard_ND96asr_v4"]),
    gpuMaxCount=st.integers(1, 10),
    gpuSpot=st.booleans(),
    autoscalerIdleTimeoutSeconds=st.integers(30, 86400),
    datasetsMountPath=st.sampled_from(["/mnt/datasets", "/data/in"]),
    resultsMountPath=st.sampled_from(["/mnt/results", "/data/out"]),
    monitoring=st.booleans(),
)


def valid(config: dict) -> Settings:
    gpus = {"Standard_NC8as_T4_v3": 1, "Standard_NC64as_T4_v3": 4, "Standard_ND96asr_v4": 8}
    try:
        return settings_of(**config, gpusPerNode=gpus[config["gpuVmSize"]], gpuWorkerCpus=4, gpuWorkerMemoryGi=32)
    except SettingsError:
        assume(False)
        raise


# --- Valid for KubeRay 1.7.0 ---------------------------------------------------------------------------


def test_the_strict_schema_refuses_a_misspelt_field():
    manifest = raycluster_manifest(settings_of())
    manifest["spec"]["autoscalerOptions"]["idleTimeoutSecond"] = 60
    assert any("idleTimeoutSecond" in error for error in schema_errors(manifest))


def test_the_default_cluster_validates_against_the_kuberay_1_7_crd_schema():
    assert schema_errors(raycluster_manifest(settings_of())) == []


@given(varied_settings)
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_any_valid_settings_give_a_cluster_the_crd_schema_accepts(config):
    assert schema_errors(raycluster_manifest(valid(config))) == []


def test_every_pod_template_is_a_valid_kubernetes_pod():
    for role, template in pods(raycluster_manifest(settings_of())).items():
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": role, **template["metadata"]},
            "spec": template["spec"],
        }
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


def test_every_quantity_is_a_kubernetes_quantity_string():
    for template in pods(
        raycluster_manifest(
            settings_of(gpuVmSize="Standard_NC8as_T4_v3", gpusPerNode=1, gpuWorkerCpus=6, gpuWorkerMemoryGi=40)
        )
    ).values():
        for quantities in template["spec"]["containers"][0]["resources"].values():
            for value in quantities.values():
                assert isinstance(value, str) and QUANTITY.fullmatch(value), value


def test_no_group_sets_resources_both_in_ray_start_params_and_the_resources_field():
    # KubeRay 1.7 rejects the cluster otherwise (validateRayGroupResources).
    spec = raycluster_manifest(settings_of())["spec"]
    for group_spec in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        assert "resources" not in group_spec


@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True))
def test_settings_accept_exactly_the_cluster_names_kuberay_accepts(name):
    # KubeRay 1.7 ValidateRayClusterMetadata: a DNS-1035 label of at most 53 characters.
    kuberay_accepts = len(name) <= 53 and name[0].isalpha()
    try:
        accepted = settings_of(rayClusterName=name).ray_cluster_name == name
    except SettingsError:
        accepted = False
    assert accepted == kuberay_accepts


# --- Versions and images -------------------------------------------------------------------------------


def test_ray_version_is_the_pinned_one_and_every_image_is_tagged_with_it():
    manifest = raycluster_manifest(settings_of())
    assert manifest["spec"]["rayVersion"] == versions.RAY_VERSION
    for template in pods(manifest).values():
        tag = template["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
        assert tag.split("-")[0] == manifest["spec"]["rayVersion"]


def test_gpu_workers_run_the_gpu_image_and_the_rest_the_cpu_image():
    s = settings_of()
    templates = pods(raycluster_manifest(s))
    assert templates[GPU_GROUP]["spec"]["containers"][0]["image"] == s.ray_gpu_image
    assert templates["head"]["spec"]["containers"][0]["image"] == s.ray_image
    assert templates[CPU_GROUP]["spec"]["containers"][0]["image"] == s.ray_image


# --- Head ----------------------------------------------------------------------------------------------


def test_the_head_runs_no_tasks_and_its_service_is_cluster_internal():
    head = raycluster_manifest(settings_of())["spec"]["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    assert head["serviceType"] == "ClusterIP"
    assert "enableIngress" not in head and "headService" not in head


def test_the_head_service_is_named_the_way_kuberay_names_it():
    assert head_service_name("ray-tune") == "ray-tune-head-svc"


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_every_ray_container_requests_what_it_is_limited_to(config):
    s = valid(config)
    templates = pods(raycluster_manifest(s))
    for template in templates.values():
        resources = template["spec"]["containers"][0]["resources"]
        assert resources["requests"] == resources["limits"]
    assert templates["head"]["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": str(s.ray_head_cpus),
        "memory": f"{s.ray_head_memory_gi}Gi",
    }


# --- Worker groups -------------------------------------------------------------------------------------


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_gpu_workers_take_every_gpu_of_a_node_and_tolerate_the_gpu_pool(config):
    s = valid(config)
    gpu = group(raycluster_manifest(s), GPU_GROUP)
    spec = gpu["template"]["spec"]
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == str(s.gpus_per_node)
    assert spec["tolerations"] == pools.gpu_tolerations()
    assert spec["nodeSelector"].items() <= pools.gpu_labels().items()
    assert gpu["maxReplicas"] == s.gpu_max_count


def test_cpu_workers_and_the_head_select_the_cpu_pool_and_ask_for_no_gpu():
    manifest = raycluster_manifest(settings_of())
    for template in (pods(manifest)["head"], pods(manifest)[CPU_GROUP]):
        assert template["spec"]["nodeSelector"].items() <= pools.cpu_labels().items()
        assert "nvidia.com/gpu" not in template["spec"]["containers"][0]["resources"]["limits"]
        assert "tolerations" not in template["spec"]


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_worker_groups_start_empty_and_scale_from_zero_up_to_what_their_pool_holds(config):
    s = valid(config)
    manifest = raycluster_manifest(s)
    for name in (CPU_GROUP, GPU_GROUP):
        worker_group = group(manifest, name)
        assert worker_group["replicas"] == worker_group["minReplicas"] == 0
        assert worker_group["maxReplicas"] >= 0
    assert group(manifest, CPU_GROUP)["maxReplicas"] == cpu_worker_max(s)


@given(varied_settings)
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_cpu_workers_leave_the_heads_node_alone_since_one_ray_pod_runs_per_node(config):
    s = valid(config)
    assert cpu_worker_max(s) == s.cpu_max_count - 1


def test_the_dev_stack_gets_two_cpu_workers_beside_the_head_on_three_nodes():
    assert (
        cpu_worker_max(settings_of(cpuVmSize="Standard_D16ds_v5", cpuMaxCount=3, rayHeadCpus=2, cpuWorkerCpus=6)) == 2
    )


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_no_two_ray_pods_of_the_cluster_share_a_node(config):
    # Pods on one node share the results volume's BlobFuse2 --tmp-path (azure-storage-fuse#267).
    s = valid(config)
    for template in pods(raycluster_manifest(s)).values():
        terms = template["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert {
            "labelSelector": {"matchLabels": {"ray.io/cluster": s.ray_cluster_name}},
            "topologyKey": "kubernetes.io/hostname",
        } in terms


# --- Sizing the sweep from the groups ----------------------------------------------------------------


def test_the_worker_groups_the_sweep_is_sized_from_are_the_manifests_groups_at_their_maxima():
    s = settings_of(gpuVmSize="Standard_NC64as_T4_v3", gpusPerNode=4, gpuWorkerCpus=60, gpuMaxCount=3)
    manifest = raycluster_manifest(s)
    for g in raycluster.worker_groups(s):
        spec = group(manifest, g.name)
        limits = spec["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert (g.cpus, g.gpus, g.max_count) == (
            float(limits["cpu"]),
            float(limits.get("nvidia.com/gpu", 0)),
            spec["maxReplicas"],
        )


# --- Identity, volumes, auth ---------------------------------------------------------------------------


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_the_head_runs_as_the_autoscalers_account_and_workers_as_theirs_without_an_api_token(config):
    s = valid(config)
    templates = pods(raycluster_manifest(s))
    assert templates["head"]["spec"]["serviceAccountName"] == s.ray_service_account
    assert templates["head"]["spec"].get("automountServiceAccountToken", True) is True
    for name in (CPU_GROUP, GPU_GROUP):
        assert templates[name]["spec"]["serviceAccountName"] == s.ray_worker_service_account
        assert templates[name]["spec"]["automountServiceAccountToken"] is False
    assert s.ray_worker_service_account != s.ray_service_account
    for template in templates.values():
        assert template["metadata"]["labels"][workload_identity.USE_LABEL] == "true"


@given(varied_settings)
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_every_ray_container_mounts_both_claims_at_the_configured_paths(config):
    s = valid(config)
    expected = {v.claim_name: v.mount_path for v in volumes.blob_volumes(s)}
    assert sorted(expected.values()) == sorted([s.datasets_mount_path, s.results_mount_path])
    logs = {log_sidecar.LOG_VOLUME: "/tmp/ray"} if s.monitoring else {}
    for template in pods(raycluster_manifest(s)).values():
        mounts = {m["name"]: m["mountPath"] for m in template["spec"]["containers"][0]["volumeMounts"]}
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"]
            for v in template["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        }
        assert mounts == {**expected, **logs}
        assert claims == {name: name for name in expected}


def test_token_authentication_is_on():
    assert raycluster_manifest(settings_of())["spec"]["authOptions"] == {"mode": "token"}


# --- Pulumi waits for it -------------------------------------------------------------------------------


def test_pulumi_waits_until_the_head_pod_is_ready_for_twenty_minutes_at_most():
    annotations = raycluster_manifest(settings_of())["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == WAIT_FOR == "condition=HeadPodReady"
    assert annotations["pulumi.com/timeoutSeconds"] == str(TIMEOUT_SECONDS)
    assert 600 <= TIMEOUT_SECONDS <= 1800


def test_the_cluster_lives_in_the_ray_namespace_under_its_name():
    s = settings_of(rayNamespace="tuning", rayClusterName="sweep")
    metadata = raycluster_manifest(s)["metadata"]
    assert (metadata["namespace"], metadata["name"]) == ("tuning", "sweep")


# --- Operations: the cluster's own scaling, upgrades and disruptions ---------------------------------


def test_pulumi_forces_its_apply_over_the_autoscalers_fields():
    # The autoscaler owns spec.workerGroupSpecs (an atomic list) after its first patch.
    assert raycluster_manifest(settings_of())["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"


def test_a_spec_change_recreates_the_pods_instead_of_being_stored_unused():
    assert raycluster_manifest(settings_of())["spec"]["upgradeStrategy"] == {"type": "Recreate"}


def test_the_head_is_neither_evicted_by_the_cluster_autoscaler_nor_drained_voluntarily():
    s = settings_of()
    head = pods(raycluster_manifest(s))["head"]
    assert head["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    budget = raycluster.head_disruption_budget(s)
    kubernetes_validate.validate(budget, K8S_VERSION, strict=True)
    assert budget["spec"]["maxUnavailable"] == 0
    assert budget["metadata"]["namespace"] == s.ray_namespace
    assert budget["spec"]["selector"]["matchLabels"] == {
        "ray.io/cluster": s.ray_cluster_name,
        "ray.io/node-type": "head",
    }
    for name in (CPU_GROUP, GPU_GROUP):
        assert "annotations" not in pods(raycluster_manifest(s))[name]["metadata"]


# --- Pod Security restricted, KubeRay's injected containers included --------------------------------


def restricted_violations(pod_spec: dict, containers: list[dict]) -> list[str]:
    """The `restricted` rules (kubernetes.io/docs/concepts/security/pod-security-standards) that apply to
    what we set: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp."""
    pod = pod_spec.get("securityContext", {})
    problems = []
    for c in containers:
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            problems.append(f"{c['name']}: runAsNonRoot")
        if sc.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append(f"{c['name']}: runAsUser 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{c['name']}: allowPrivilegeEscalation")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            problems.append(f"{c['name']}: capabilities")
        seccomp = sc.get("seccompProfile", pod.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{c['name']}: seccompProfile")
    for volume in pod_spec.get("volumes", []):
        if "hostPath" in volume:
            problems.append(f"volume {volume['name']}: hostPath")
    return problems


def as_kuberay_runs_it(template: dict, autoscaler_options: dict | None) -> list[dict]:
    """Our containers plus what KubeRay 1.7.0 injects (common/pod.go): init containers that copy the Ray
    container's securityContext, and on the head the autoscaler sidecar with autoscalerOptions'."""
    spec = template["spec"]
    ray = spec["containers"][0]
    injected = [{"name": "wait-gcs-ready", "securityContext": ray.get("securityContext")}]
    if autoscaler_options is not None:
        injected.append({"name": "autoscaler", "securityContext": autoscaler_options.get("securityContext")})
    return [*spec.get("initContainers", []), *spec["containers"], *injected]


def test_every_container_of_every_ray_pod_meets_pod_security_restricted():
    manifest = raycluster_manifest(settings_of())
    options = manifest["spec"]["autoscalerOptions"]
    for role, template in pods(manifest).items():
        containers = as_kuberay_runs_it(template, options if role == "head" else None)
        assert restricted_violations(template["spec"], containers) == [], role


def test_the_restricted_check_refuses_kuberays_sidecar_without_a_security_context():
    manifest = raycluster_manifest(settings_of())
    template = pods(manifest)["head"]
    assert restricted_violations(template["spec"], as_kuberay_runs_it(template, {})) != []


# --- Requests: what the node-fit check counts, sidecars included ---------------------------------------


def millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def scheduled_requests(spec: dict, extra: list[dict]) -> tuple[int, int]:
    """What the scheduler reserves for a pod (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers,
    "Resource sharing within containers"): the containers and the native sidecars together, or an init
    container with the sidecars started before it, whichever is more."""

    def request(c: dict) -> tuple[int, int]:
        r = c["resources"]["requests"]
        return millicores(r["cpu"]), mebibytes(r["memory"])

    sidecars: list[tuple[int, int]] = []
    init_peaks: list[tuple[int, int]] = []
    for c in spec["initContainers"]:
        if c.get("restartPolicy") == "Always":
            sidecars.append(request(c))
        else:
            cpu, memory = request(c)
            init_peaks.append((cpu + sum(s[0] for s in sidecars), memory + sum(s[1] for s in sidecars)))
    running = [request(c) for c in [*spec["containers"], *extra]] + sidecars
    total = (sum(r[0] for r in running), sum(r[1] for r in running))
    return max(total[0], *(p[0] for p in init_peaks)), max(total[1], *(p[1] for p in init_peaks))


@pytest.mark.parametrize("monitoring", [True, False])
def test_the_node_fit_check_counts_what_the_scheduler_reserves_sidecars_included(monitoring):
    s = settings_of(monitoring=monitoring)
    manifest = raycluster_manifest(s)
    templates = pods(manifest)
    autoscaler = {"resources": manifest["spec"]["autoscalerOptions"]["resources"]}
    assert scheduled_requests(templates["head"]["spec"], [autoscaler]) == raycluster.head_requests(s)
    assert scheduled_requests(templates[CPU_GROUP]["spec"], []) == raycluster.cpu_worker_requests(s)
    assert scheduled_requests(templates[GPU_GROUP]["spec"], []) == raycluster.gpu_worker_requests(s)
    sidecar = forwarder(templates[CPU_GROUP])
    if monitoring:
        assert sidecar is not None
        assert sidecar["resources"]["requests"] == sidecar["resources"]["limits"]  # Guaranteed, like Ray's
        assert raycluster.cpu_worker_requests(s) == (
            s.cpu_worker_cpus * 1000 + log_sidecar.LOG_FORWARDER_CPU_M,
            s.cpu_worker_memory_gi * 1024 + log_sidecar.LOG_FORWARDER_MEMORY_MI,
        )
    else:
        assert raycluster.cpu_worker_requests(s) == (s.cpu_worker_cpus * 1000, s.cpu_worker_memory_gi * 1024)
