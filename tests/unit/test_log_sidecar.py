"""The log forwarder in every Ray pod with `monitoring`: a native sidecar that reads Ray's temp dir, unprivileged."""

from __future__ import annotations

import copy

import pytest

import versions
from manifests import log_sidecar, mount_check
from manifests.raycluster import HEAD_CONTAINER, raycluster_manifest
from policy.resource_types import RAY_CLUSTER
from policy.rules import ray as ray_rules
from tests.unit.ray_pods import forwarder, pods, schema_errors, settings_of


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
            assert log_sidecar.LOG_VOLUME not in volume_names
            assert all(m["mountPath"] != "/tmp/ray" for m in ray["volumeMounts"])
            continue
        assert sidecar is not None, role
        # A native sidecar: started before Ray, after the mount check, restarted by the kubelet on its own.
        names = [c["name"] for c in spec["initContainers"]]
        assert names == [mount_check.MOUNT_CHECK_CONTAINER, log_sidecar.LOG_FORWARDER_CONTAINER]
        assert sidecar["restartPolicy"] == "Always"
        assert sidecar["image"] == ray["image"]  # no new image: the Ray container's, already pulled
        assert sidecar["command"] == log_sidecar.log_forwarder_command()
        assert volume_names.count(log_sidecar.LOG_VOLUME) == 1


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
        assert ray_mounts[root]["name"] == sidecar_mounts[root]["name"] == log_sidecar.LOG_VOLUME
        assert ray_mounts[root].get("readOnly", False) is False
        assert sidecar_mounts[root]["readOnly"] is True
        volumes_by_name = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes_by_name[log_sidecar.LOG_VOLUME]
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
    assert set(mounts_at_tmp_ray.values()) == {log_sidecar.LOG_VOLUME}
    assert set(mounts_at_tmp_ray) == {HEAD_CONTAINER, "autoscaler", log_sidecar.LOG_FORWARDER_CONTAINER}
    assert [v["name"] for v in spec["volumes"]].count(log_sidecar.LOG_VOLUME) == 1


def test_a_log_volume_under_another_name_would_leave_the_autoscaler_a_volume_of_its_own():
    manifest = raycluster_manifest(settings_of())
    template = manifest["spec"]["headGroupSpec"]["template"]["spec"]
    for container in [*template["containers"], *template["initContainers"]]:
        for mount in container.get("volumeMounts", []):
            if mount["name"] == log_sidecar.LOG_VOLUME:
                mount["name"] = "tmp-ray"
    for volume in template["volumes"]:
        if volume["name"] == log_sidecar.LOG_VOLUME:
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
    assert f"initContainers[{log_sidecar.LOG_FORWARDER_CONTAINER!r}]" in message


def test_the_kubernetes_version_runs_native_sidecars():
    # restartPolicy Always on an init container: beta and on by default from 1.29, GA in 1.33
    # (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers); older API servers drop the field
    # and would run the forwarder as an init container that never ends, so Ray would never start.
    major, minor = (int(part) for part in versions.KUBERNETES_VERSION.split("."))
    assert (major, minor) >= (1, 29)
