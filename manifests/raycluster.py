"""The RayCluster (KubeRay 1.7, ray.io/v1): a head that runs no tasks, CPU and GPU worker groups that
scale from zero, both Blob volumes in every Ray container, token authentication, nothing exposed.

Field names and rules are KubeRay 1.7.0's (ray-operator/apis/ray/v1/raycluster_types.go,
controllers/ray/utils/validation.go); tests validate the manifest against the v1.7.0 CRD schema.
"""

from __future__ import annotations

import versions
from manifests import monitoring, pools, volumes, workload_identity
from settings import Settings, vm_vcpus

API_VERSION = "ray.io/v1"
KIND = "RayCluster"

# Labels KubeRay puts on every pod of a cluster (utils/constant.go).
CLUSTER_LABEL = "ray.io/cluster"
NODE_TYPE_LABEL = "ray.io/node-type"
HEAD_NODE_TYPE = "head"

# The head's ports, under KubeRay's default names (the head Service exposes them).
GCS_PORT = 6379
DASHBOARD_PORT = 8265
CLIENT_PORT = 10001

# The key of the auth token in the Secret KubeRay creates for a cluster (utils.RAY_AUTH_TOKEN_SECRET_KEY).
AUTH_TOKEN_KEY = "auth_token"

CPU_GROUP = "cpu"
GPU_GROUP = "gpu"
HEAD_CONTAINER = "ray-head"
WORKER_CONTAINER = "ray-worker"

# Pulumi waits until the head pod is ready (dashboard, GCS and job API up): the status condition KubeRay
# 1.7 sets by default (feature gate RayClusterStatusConditions). `.status.state` is deprecated, and
# RayClusterProvisioned never turns false again, so it would not catch a head that stopped serving.
WAIT_FOR = "condition=HeadPodReady"
# A first `pulumi up` pulls the multi-GB Ray image onto a CPU node and mounts both containers.
TIMEOUT_SECONDS = 1200

def head_service_name(cluster_name: str) -> str:
    """The head Service KubeRay creates (utils.GenerateHeadServiceName): headless ClusterIP."""
    return f"{cluster_name}-head-svc"


def auth_secret_name(cluster_name: str) -> str:
    """The Secret KubeRay creates for token auth when authOptions names none; its key is AUTH_TOKEN_KEY."""
    return cluster_name



def cpu_worker_max(settings: Settings) -> int:
    """CPU workers the CPU pool can hold at its largest: one per node, minus the head's node when the head
    and a worker don't fit on one node together (the same vCPU rule settings applies to each alone)."""
    vcpus = vm_vcpus(settings.cpu_vm_size)
    shares_node = vcpus is not None and settings.ray_head_cpus + settings.cpu_worker_cpus < vcpus
    return settings.cpu_max_count if shares_node else settings.cpu_max_count - 1


def gpu_worker_max(settings: Settings) -> int:
    """One GPU worker per GPU node, taking all its GPUs."""
    return settings.gpu_max_count


def _resources(cpus: int, memory_gi: int, gpus: int = 0) -> dict:
    # Requests equal limits: Guaranteed QoS, and Ray sizes its node from the limits.
    quantities = {"cpu": str(cpus), "memory": f"{memory_gi}Gi"}
    if gpus:
        quantities["nvidia.com/gpu"] = str(gpus)
    return {"requests": dict(quantities), "limits": dict(quantities)}


def _pod_template(settings: Settings, *, container: str, image: str, resources: dict, node_selector: dict,
                  tolerations: list | None = None, ports: list | None = None) -> dict:
    mounts = [{"name": v.claim_name, "mountPath": v.mount_path} for v in volumes.blob_volumes(settings)]
    claims = [{"name": v.claim_name, "persistentVolumeClaim": {"claimName": v.claim_name}}
              for v in volumes.blob_volumes(settings)]
    ray_container = {"name": container, "image": image, "resources": resources, "volumeMounts": mounts}
    if ports:
        ray_container["ports"] = ports
    spec = {
        # One service account for every Ray pod: the managed identity is federated with it, and the Blob
        # CSI driver binds a node's mount to the first pod's identity.
        "serviceAccountName": settings.ray_service_account,
        "nodeSelector": node_selector,
        "containers": [ray_container],
        "volumes": claims,
    }
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": {"labels": workload_identity.pod_labels()}, "spec": spec}


def raycluster_manifest(settings: Settings) -> dict:
    """The RayCluster custom resource of this stack, in the Ray namespace."""
    head = {
        # The head schedules no Ray tasks (num-cpus 0): trials land on workers, which the autoscaler adds.
        # dashboard-host 0.0.0.0 inside the pod only; the Service is ClusterIP and NetworkPolicies restrict.
        "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
        "serviceType": "ClusterIP",
        "template": _pod_template(
            settings, container=HEAD_CONTAINER, image=settings.ray_image,
            resources=_resources(settings.ray_head_cpus, settings.ray_head_memory_gi),
            node_selector=pools.cpu_node_selector(),
            ports=[{"name": "gcs-server", "containerPort": GCS_PORT},
                   {"name": "dashboard", "containerPort": DASHBOARD_PORT},
                   {"name": "client", "containerPort": CLIENT_PORT},
                   *monitoring.head_metrics_ports()],
        ),
    }
    cpu_workers = {
        "groupName": CPU_GROUP,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": cpu_worker_max(settings),
        "template": _pod_template(
            settings, container=WORKER_CONTAINER, image=settings.ray_image,
            resources=_resources(settings.cpu_worker_cpus, settings.cpu_worker_memory_gi),
            node_selector=pools.cpu_node_selector(),
        ),
    }
    gpu_workers = {
        "groupName": GPU_GROUP,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": gpu_worker_max(settings),
        "template": _pod_template(
            settings, container=WORKER_CONTAINER, image=settings.ray_gpu_image,
            resources=_resources(settings.gpu_worker_cpus, settings.gpu_worker_memory_gi, settings.gpus_per_node),
            node_selector=pools.gpu_node_selector(),
            # Both taints, Spot pool or not: tolerating a taint a node lacks is harmless.
            tolerations=pools.gpu_tolerations(),
        ),
    }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": settings.ray_cluster_name,
            "namespace": settings.ray_namespace,
            "annotations": {
                "pulumi.com/waitFor": WAIT_FOR,
                "pulumi.com/timeoutSeconds": str(TIMEOUT_SECONDS),
            },
        },
        "spec": {
            "rayVersion": versions.RAY_VERSION,
            # Token auth (Ray >= 2.52): KubeRay creates Secret <name> (key auth_token) and gives it to
            # every Ray container; clients send it as a bearer token.
            "authOptions": {"mode": "token"},
            # The autoscaler runs as a sidecar of the head. Version v2 makes KubeRay set
            # RAY_enable_autoscaler_v2 and restartPolicy Never itself (setting the env var too is rejected).
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {
                "version": "v2",
                "upscalingMode": "Default",
                "idleTimeoutSeconds": settings.autoscaler_idle_timeout_seconds,
            },
            "headGroupSpec": head,
            "workerGroupSpecs": [cpu_workers, gpu_workers],
        },
    }
