"""The RayCluster builder: valid for KubeRay 1.7.0, and every rule of the cluster holds for any settings."""

from __future__ import annotations

import copy
import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import versions
from manifests import log_forwarder, pools, raycluster, volumes, workload_identity
from manifests.raycluster import (
    CPU_GROUP,
    GPU_GROUP,
    HEAD_CONTAINER,
    TIMEOUT_SECONDS,
    WAIT_FOR,
    cpu_worker_max,
    head_service_name,
    raycluster_manifest,
)
from policy.resource_types import RAY_CLUSTER
from policy.rules import ray as ray_rules
from settings import EXAMPLE_PUBLIC_CIDR, Settings, SettingsError, parse
from tests.schemas import crd
from workloads import defaults

K8S_VERSION = f"{versions.KUBERNETES_VERSION}.0"
VALID = {"ray-aks:apiServerAuthorizedIpRanges": [EXAMPLE_PUBLIC_CIDR]}
# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity, the forms we write).
QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?")


def settings_of(**config: object) -> Settings:
    return parse({**VALID, **{f"ray-aks:{key}": value for key, value in config.items()}})


def validator():
    return crd.validator("raycluster")


def schema_errors(manifest: dict) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator().iter_errors(manifest)]


def pods(manifest: dict) -> dict[str, dict]:
    spec = manifest["spec"]
    return {
        "head": spec["headGroupSpec"]["template"],
        **{group["groupName"]: group["template"] for group in spec["workerGroupSpecs"]},
    }


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


# --- Autoscaling ---------------------------------------------------------------------------------------


@given(st.integers(30, 86400))
def test_the_autoscaler_is_v2_in_tree_with_the_configured_idle_timeout(seconds):
    spec = raycluster_manifest(settings_of(autoscalerIdleTimeoutSeconds=seconds))["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["version"] == "v2"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == seconds


def test_autoscaler_v2_is_left_to_kuberay_to_switch_on():
    # KubeRay 1.7 rejects RAY_enable_autoscaler_v2 beside autoscalerOptions.version, and any restartPolicy
    # but Never; it sets both itself (validation.go, pod.go).
    for template in pods(raycluster_manifest(settings_of())).values():
        env = template["spec"]["containers"][0].get("env", [])
        assert all(variable["name"] != "RAY_enable_autoscaler_v2" for variable in env)
        assert template["spec"].get("restartPolicy", "Never") == "Never"


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
    logs = {raycluster.LOG_VOLUME: "/tmp/ray"} if s.monitoring else {}
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


def test_the_autoscaler_waits_the_cold_start_budget_before_giving_up_on_a_new_worker():
    env = {e["name"]: e["value"] for e in raycluster_manifest(settings_of())["spec"]["autoscalerOptions"]["env"]}
    timeout = int(env["RAY_AUTOSCALER_RECONCILE_ALLOCATE_STATUS_TIMEOUT_S"])
    assert timeout == raycluster.COLD_START_BUDGET_SECONDS == sum(raycluster.COLD_START_SECONDS.values())
    # A Spot GPU node, a multi-GB image and the pod's set-up: well past the 300 s of older Ray releases.
    assert timeout >= 1800


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


# --- Mounts fail loudly -------------------------------------------------------------------------------

FUSE_LINE = (
    "{id} 30 0:{id} / {path} rw,nosuid,nodev,relatime shared:1 - fuse blobfuse2 rw,user_id=0,group_id=0,allow_other"
)
FUSE_SUBTYPE_LINE = "{id} 30 0:{id} / {path} rw,relatime - fuse.blobfuse2 blobfuse2 rw,user_id=0,group_id=0"
# What the driver leaves without the CSIDriver's tokenRequests: an empty directory of the node's disk.
BIND_LINE = "{id} 30 8:1 /var/lib/kubelet/plugins/kubernetes.io/csi/blob.csi.azure.com/x/globalmount {path} rw,relatime - ext4 /dev/sda1 rw"
OTHER_FUSE_LINE = "{id} 30 0:{id} / {path} rw,relatime - fuse.sshfs user@host:/ rw"


def run_mount_check(tmp_path, lines: list[str]) -> subprocess.CompletedProcess:
    s = settings_of()
    paths = [v.mount_path for v in volumes.blob_volumes(s)]
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        + "\n".join(line.format(id=40 + i, path=path) for i, (line, path) in enumerate(zip(lines, paths)))
        + "\n"
    )
    script = raycluster.mount_check_script(paths, str(mountinfo))
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("lines", [[FUSE_LINE, FUSE_LINE], [FUSE_SUBTYPE_LINE, FUSE_LINE]])
def test_the_mount_check_passes_when_both_paths_are_blobfuse2(tmp_path, lines):
    result = run_mount_check(tmp_path, lines)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "lines", [[FUSE_LINE, BIND_LINE], [BIND_LINE, FUSE_LINE], [FUSE_LINE, OTHER_FUSE_LINE], [FUSE_LINE]]
)
def test_the_mount_check_refuses_an_empty_bind_mount_another_fuse_or_a_missing_mount(tmp_path, lines):
    result = run_mount_check(tmp_path, lines)
    assert result.returncode == 1
    assert "is not a BlobFuse2 mount" in result.stderr


def test_a_bind_mount_over_a_blobfuse2_mount_is_what_the_container_sees_and_is_refused(tmp_path):
    s = settings_of()
    datasets, results = (v.mount_path for v in volumes.blob_volumes(s))
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "\n".join(
            [
                FUSE_LINE.format(id=40, path=datasets),
                FUSE_LINE.format(id=41, path=results),
                BIND_LINE.format(id=42, path=results),
            ]
        )
        + "\n"
    )
    script = raycluster.mount_check_script([datasets, results], str(mountinfo))
    assert subprocess.run(["sh", "-c", script], capture_output=True, timeout=30).returncode == 1


def test_every_ray_pod_checks_both_mounts_before_ray_starts():
    s = settings_of()
    paths = [v.mount_path for v in volumes.blob_volumes(s)]
    for template in pods(raycluster_manifest(s)).values():
        check = template["spec"]["initContainers"][0]
        assert check["command"][:2] == ["sh", "-c"]
        assert check["command"][2] == raycluster.mount_check_script(paths)
        assert {m["mountPath"] for m in check["volumeMounts"]} == set(paths)
        assert check["image"] == template["spec"]["containers"][0]["image"]  # already pulled for Ray
        assert check["resources"]["requests"] == check["resources"]["limits"]


# --- Logs that outlive the pods: the forwarder sidecar ---------------------------------------------------


def forwarder(template: dict) -> dict | None:
    found = [c for c in template["spec"]["initContainers"] if c["name"] == raycluster.LOG_FORWARDER_CONTAINER]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("monitoring", [True, False])
def test_every_ray_pod_runs_the_log_forwarder_with_monitoring_and_none_without(monitoring):
    manifest = raycluster_manifest(settings_of(monitoring=monitoring))
    assert schema_errors(manifest) == []
    for role, template in pods(manifest).items():
        spec = template["spec"]
        ray = spec["containers"][0]
        sidecar = forwarder(template)
        volume_names = [v["name"] for v in spec["volumes"]]
        if not monitoring:
            assert sidecar is None, role
            assert raycluster.LOG_VOLUME not in volume_names
            assert all(m["mountPath"] != "/tmp/ray" for m in ray["volumeMounts"])
            continue
        assert sidecar is not None, role
        # A native sidecar: started before Ray, after the mount check, restarted by the kubelet on its own.
        names = [c["name"] for c in spec["initContainers"]]
        assert names == [raycluster.MOUNT_CHECK_CONTAINER, raycluster.LOG_FORWARDER_CONTAINER]
        assert sidecar["restartPolicy"] == "Always"
        assert sidecar["image"] == ray["image"]  # no new image: the Ray container's, already pulled
        assert sidecar["command"] == raycluster.log_forwarder_command()
        assert volume_names.count(raycluster.LOG_VOLUME) == 1


def test_the_forwarder_reads_the_ray_containers_temp_dir_from_a_shared_volume_read_only():
    for template in pods(raycluster_manifest(settings_of())).values():
        spec = template["spec"]
        ray_mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
        sidecar = forwarder(template)
        assert sidecar is not None
        sidecar_mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
        # Ray's temp dir (its default, /tmp/ray), where the sidecar's --root points.
        command = sidecar["command"]
        root = command[command.index("--root") + 1]
        assert root == "/tmp/ray"
        assert ray_mounts[root]["name"] == sidecar_mounts[root]["name"] == raycluster.LOG_VOLUME
        assert ray_mounts[root].get("readOnly", False) is False
        assert sidecar_mounts[root]["readOnly"] is True
        volumes_by_name = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes_by_name[raycluster.LOG_VOLUME]
        # Its offsets go to a volume of its own, the only place it writes.
        state = command[command.index("--state") + 1]
        (state_mount,) = [m for m in sidecar["volumeMounts"] if not m.get("readOnly")]
        assert state.startswith(state_mount["mountPath"] + "/")
        assert "emptyDir" in volumes_by_name[state_mount["name"]]
        # Not the Blob volumes: the forwarder holds no BlobFuse mount and no Azure token.
        assert set(sidecar_mounts) == {root, state_mount["mountPath"]}


def kuberay_add_empty_dir(pod_spec: dict, container: dict, name: str, path: str) -> None:
    """KubeRay 1.7.0 common/pod.go addEmptyDir: nothing if the container has a mount at the path; else a new
    emptyDir volume under that name unless the pod has one so named, and a mount of it."""
    if any(m["mountPath"] == path for m in container.get("volumeMounts", [])):
        return
    if not any(v["name"] == name for v in pod_spec["volumes"]):
        pod_spec["volumes"].append({"name": name, "emptyDir": {}})
    container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})


def head_as_kuberay_builds_it(manifest: dict) -> dict:
    """The head pod's spec after KubeRay 1.7.0 added the autoscaler sidecar and the Ray log volume
    (BuildPod: addEmptyDir("ray-logs", "/tmp/ray") for the Ray container, then for the autoscaler's)."""
    spec = copy.deepcopy(manifest["spec"]["headGroupSpec"]["template"]["spec"])
    spec["containers"].append({"name": "autoscaler"})
    for container in (spec["containers"][0], spec["containers"][-1]):
        kuberay_add_empty_dir(spec, container, "ray-logs", "/tmp/ray")
    return spec


def test_on_the_head_kuberay_mounts_the_same_log_volume_in_its_autoscaler():
    # The autoscaler writes its event logs where the Ray head reads them (KubeRay's reason for the volume):
    # our volume must be the one it gets, not a second, empty one.
    spec = head_as_kuberay_builds_it(raycluster_manifest(settings_of()))
    mounts_at_tmp_ray = {
        c["name"]: m["name"]
        for c in [*spec["containers"], forwarder({"spec": spec}) or {}]
        for m in c.get("volumeMounts", [])
        if m["mountPath"] == "/tmp/ray"
    }
    assert set(mounts_at_tmp_ray.values()) == {raycluster.LOG_VOLUME}
    assert set(mounts_at_tmp_ray) == {HEAD_CONTAINER, "autoscaler", raycluster.LOG_FORWARDER_CONTAINER}
    assert [v["name"] for v in spec["volumes"]].count(raycluster.LOG_VOLUME) == 1


def test_a_log_volume_under_another_name_would_leave_the_autoscaler_a_volume_of_its_own():
    manifest = raycluster_manifest(settings_of())
    template = manifest["spec"]["headGroupSpec"]["template"]["spec"]
    for container in [*template["containers"], *template["initContainers"]]:
        for mount in container.get("volumeMounts", []):
            if mount["name"] == raycluster.LOG_VOLUME:
                mount["name"] = "tmp-ray"
    for volume in template["volumes"]:
        if volume["name"] == raycluster.LOG_VOLUME:
            volume["name"] = "tmp-ray"
    spec = head_as_kuberay_builds_it(manifest)
    autoscaler = spec["containers"][-1]
    assert [m["name"] for m in autoscaler["volumeMounts"]] == ["ray-logs"]  # KubeRay's new, empty one


def test_the_forwarder_is_as_unprivileged_as_the_ray_container_and_the_policy_checks_it():
    manifest = raycluster_manifest(settings_of())
    for template in pods(manifest).values():
        sidecar = forwarder(template)
        assert sidecar is not None
        ray_context = template["spec"]["containers"][0]["securityContext"]
        assert sidecar["securityContext"].items() >= ray_context.items()
        assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    assert ray_rules.ray_pods_unprivileged(RAY_CLUSTER, manifest, {}) == []
    escalating = copy.deepcopy(manifest)
    sidecar = forwarder(escalating["spec"]["workerGroupSpecs"][0]["template"])
    assert sidecar is not None
    sidecar["securityContext"]["allowPrivilegeEscalation"] = True
    (message,) = ray_rules.ray_pods_unprivileged(RAY_CLUSTER, escalating, {})
    assert f"initContainers[{raycluster.LOG_FORWARDER_CONTAINER!r}]" in message


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
            s.cpu_worker_cpus * 1000 + raycluster.LOG_FORWARDER_CPU_M,
            s.cpu_worker_memory_gi * 1024 + raycluster.LOG_FORWARDER_MEMORY_MI,
        )
    else:
        assert raycluster.cpu_worker_requests(s) == (s.cpu_worker_cpus * 1000, s.cpu_worker_memory_gi * 1024)


# --- The forwarder itself, run as the sidecar runs it -----------------------------------------------------

WORKER_OUT = "worker-" + "ab" * 28 + "-02000000-4242.out"
WORKER_ERR = WORKER_OUT[:-4] + ".err"


class RunningForwarder:
    """The sidecar's command, with this interpreter and a temporary Ray temp dir; its stdout parsed."""

    def __init__(self, root: Path, state: Path, interval: float = 0.05):
        command = raycluster.log_forwarder_command(str(root), str(state.parent))
        assert command[0] == "python"
        command = [sys.executable, *command[1:], "--interval", str(interval)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.records: list[dict] = []
        self.stderr: list[bytes] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.records, json.loads), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr, bytes), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        # It says what it follows once its stop signals are in hand (a SIGTERM before that kills it).
        self._until(lambda: bool(self.stderr), "the forwarder did not start")
        assert self.stderr[0].startswith(b"following " + str(root).encode()), self.stderr

    @staticmethod
    def _read(stream, into: list, parse) -> None:
        for raw in stream:
            into.append(parse(raw))

    def _until(self, condition, why: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, b"".join(self.stderr).decode()
            assert time.monotonic() < deadline, why
            time.sleep(0.02)

    def lines(self, file: str) -> list[str]:
        return [r["line"] for r in list(self.records) if r["file"] == file]

    def wait_for(self, file: str, lines: list[str]) -> None:
        self._until(lambda: self.lines(file) == lines, f"{file}: {self.lines(file)} != {lines}")

    def stop(self) -> float:
        """SIGTERM, as the kubelet sends; how long it took to exit (all its output read)."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        returncode = self.process.wait(timeout=15)
        for reader in self._readers:
            reader.join(timeout=15)
        assert returncode == 0, b"".join(self.stderr).decode()
        return time.monotonic() - sent


@pytest.fixture
def ray_temp(tmp_path) -> Path:
    root = tmp_path / "ray"
    root.mkdir()
    (tmp_path / "state").mkdir()
    return root


def new_session(root: Path, name: str = "session_2026-12-02_10-00-00_000000_1") -> Path:
    """What `ray start` makes: the session's logs folder and the session_latest symlink to it."""
    logs = root / name / "logs"
    logs.mkdir(parents=True)
    latest = root / "session_latest"
    if latest.is_symlink():
        latest.unlink()
    latest.symlink_to(name)
    return logs


def append(path: Path, text: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


def test_the_forwarder_follows_ray_files_that_appear_later_and_lines_appended_to_them(ray_temp):
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    try:
        time.sleep(0.3)  # started before Ray: no session yet
        logs = new_session(ray_temp)
        # A trial's actor: Ray's magic line names it, then what it prints.
        append(logs / WORKER_OUT, ":actor_name:train_mnist\nepoch 1: val_accuracy 0.91\n")
        append(logs / "raylet.out", "[raylet] INFO chatter that stays in the pod\n")
        running.wait_for(WORKER_OUT, ["epoch 1: val_accuracy 0.91"])
        append(logs / WORKER_OUT, "epoch 2: val_accuracy 0.95\n")
        append(logs / WORKER_ERR, ":actor_name:train_mnist\nTraceback (most recent call last):\n")
        append(logs / WORKER_ERR, '  File "trainable.py", line 1\nRuntimeError: CUDA out of memory\n')
        append(logs / "job-driver-raysubmit_abc.log", "[sweep] 4 trials: 2 running, 2 terminated\n")
        append(logs / "python-core-worker-ab_4242.log", "C++ INFO that stays in the pod\n")
        running.wait_for(WORKER_OUT, ["epoch 1: val_accuracy 0.91", "epoch 2: val_accuracy 0.95"])
        running.wait_for(
            WORKER_ERR,
            [
                "Traceback (most recent call last):",
                '  File "trainable.py", line 1',
                "RuntimeError: CUDA out of memory",
            ],
        )
        running.wait_for("job-driver-raysubmit_abc.log", ["[sweep] 4 trials: 2 running, 2 terminated"])
    finally:
        running.stop()
    files = {r["file"] for r in running.records}
    assert files == {WORKER_OUT, WORKER_ERR, "job-driver-raysubmit_abc.log"}  # once: session_latest skipped
    trial_lines = [r for r in running.records if r["file"] in (WORKER_OUT, WORKER_ERR)]
    assert all(r["pid"] == 4242 and r["job"] == "02000000" and r["actor"] == "train_mnist" for r in trial_lines)
    assert [r["n"] for r in running.records if r["file"] == WORKER_ERR] == [1, 2, 3]


def test_rotated_and_truncated_files_lose_no_line_and_repeat_none(ray_temp):
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    logs = new_session(ray_temp)
    try:
        append(logs / WORKER_OUT, "one\ntwo\n")
        append(logs / "raylet.err", "first life\n")
        running.wait_for(WORKER_OUT, ["one", "two"])
        running.wait_for("raylet.err", ["first life"])
        # Rotation by rename (Ray with RAY_ROTATION_MAX_BYTES): the old file gains a last line after the
        # forwarder last read it, then the name starts over.
        append(logs / WORKER_OUT, "three\n")
        (logs / WORKER_OUT).rename(logs / (WORKER_OUT + ".1"))
        append(logs / WORKER_OUT, "four\n")
        # Truncation in place.
        (logs / "raylet.err").write_text("second life\n")
        running.wait_for(WORKER_OUT, ["one", "two", "three", "four"])
        running.wait_for("raylet.err", ["first life", "second life"])
    finally:
        running.stop()


def test_on_sigterm_the_forwarder_forwards_the_last_lines_an_unterminated_one_included(ray_temp):
    logs = new_session(ray_temp)
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json", interval=60)
    time.sleep(0.3)  # its first poll is done: it waits a minute for the next
    append(logs / WORKER_ERR, "a last traceback line\nwritten without a newline")
    # As the kubelet stops it after the Ray container: the wait ends at once and the last lines come out.
    assert running.stop() < 10
    assert running.lines(WORKER_ERR) == ["a last traceback line", "written without a newline"]
    assert [r.get("partial", False) for r in running.records] == [False, True]


def test_a_restarted_forwarder_resumes_where_it_stopped(ray_temp):
    state = ray_temp.parent / "state" / "state.json"
    logs = new_session(ray_temp)
    first = RunningForwarder(ray_temp, state)
    append(logs / WORKER_OUT, ":actor_name:train_mnist\nbefore\n")
    first.wait_for(WORKER_OUT, ["before"])
    first.stop()
    append(logs / WORKER_OUT, "while it was down\n")
    second = RunningForwarder(ray_temp, state)
    try:
        second.wait_for(WORKER_OUT, ["while it was down"])
        time.sleep(0.3)
    finally:
        second.stop()
    assert second.lines(WORKER_OUT) == ["while it was down"]
    (record,) = second.records
    assert record["n"] == 2 and record["actor"] == "train_mnist"


def test_long_lines_are_cut_and_bytes_that_are_not_utf8_replaced(ray_temp):
    logs = new_session(ray_temp)
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    long_line = "x" * (log_forwarder.MAX_LINE_BYTES * 2 + 10)
    try:
        append(logs / WORKER_OUT, long_line.encode() + b"\n" + b"caf\xe9 \xff\n")
        running.wait_for(
            WORKER_OUT,
            ["x" * log_forwarder.MAX_LINE_BYTES, "x" * log_forwarder.MAX_LINE_BYTES, "x" * 10, "caf\ufffd \ufffd"],
        )
    finally:
        running.stop()
    assert [r.get("partial", False) for r in running.records] == [True, True, False, False]


def test_a_file_closed_while_idle_and_then_rotated_is_read_to_its_end(tmp_path, monkeypatch):
    # In process, with no idle time: the forwarder closes a quiet file's descriptor, and finds the rest of
    # it under <name>.1 after a rotation.
    monkeypatch.setattr(log_forwarder, "IDLE_CLOSE_SECONDS", 0.0)
    logs = new_session(tmp_path)
    out = io.BytesIO()
    forwarder = log_forwarder.Forwarder(str(tmp_path), log_forwarder.PATTERNS, None, out)
    append(logs / WORKER_OUT, "one\n")
    forwarder.poll()
    assert forwarder.files[str(logs / WORKER_OUT)].fd is None
    append(logs / WORKER_OUT, "two\n")
    (logs / WORKER_OUT).rename(logs / (WORKER_OUT + ".1"))
    append(logs / WORKER_OUT, "three\n")
    forwarder.poll()
    assert [json.loads(line)["line"] for line in out.getvalue().splitlines()] == ["one", "two", "three"]


def test_the_kubernetes_version_runs_native_sidecars():
    # restartPolicy Always on an init container: beta and on by default from 1.29, GA in 1.33
    # (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers); older API servers drop the field
    # and would run the forwarder as an init container that never ends, so Ray would never start.
    major, minor = (int(part) for part in versions.KUBERNETES_VERSION.split("."))
    assert (major, minor) >= (1, 29)


def test_every_line_a_reused_worker_prints_for_a_trial_carries_that_trials_id(ray_temp):
    # workloads/trainable.py prints the marker first in each trial; a reused worker runs several trials.
    marker = defaults.TRIAL_LOG_MARKER
    running = RunningForwarder(ray_temp, ray_temp.parent / "state" / "state.json")
    try:
        logs = new_session(ray_temp)
        append(logs / WORKER_OUT, f":actor_name:train_mnist\n{marker}a1b2c_00000\nepoch 1\nepoch 2\n")
        append(logs / WORKER_OUT, f"{marker}a1b2c_00003\nepoch 1\n:actor_name:other\nunrelated\n")
        running.wait_for(WORKER_OUT, ["epoch 1", "epoch 2", "epoch 1", "unrelated"])
    finally:
        running.stop()
    assert [(r.get("trial"), r["line"]) for r in running.records if r["file"] == WORKER_OUT] == [
        ("a1b2c_00000", "epoch 1"),
        ("a1b2c_00000", "epoch 2"),
        ("a1b2c_00003", "epoch 1"),
        (None, "unrelated"),  # a new actor: no trial's line
    ]


def test_lines_carry_the_job_and_actor_or_task_ray_names_in_the_file_and_not_the_magic_lines(tmp_path):
    # As Ray 2.60 writes them: a worker started ahead of any job has job id ffffffff in its name, then
    # a `:job_id:` line; `:actor_name:` and `:task_name:` precede what each actor or task prints.
    logs = new_session(tmp_path)
    name = "worker-" + "cd" * 28 + "-ffffffff-77.err"
    append(logs / name, ":job_id:03000000\n:task_name:prepare\nloading\n:actor_name:train_mnist\nepoch 1\n")
    out = io.BytesIO()
    log_forwarder.Forwarder(str(tmp_path), log_forwarder.PATTERNS, None, out).poll()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records == [
        {"file": name, "pid": 77, "job": "03000000", "task": "prepare", "n": 1, "line": "loading"},
        {"file": name, "pid": 77, "job": "03000000", "actor": "train_mnist", "n": 2, "line": "epoch 1"},
    ]
