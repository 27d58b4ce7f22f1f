"""The RayCluster (KubeRay 1.7, ray.io/v1): a head that runs no tasks, CPU and GPU worker groups that
scale from zero, both Blob volumes in every Ray container, token authentication, nothing exposed; and the
head's PodDisruptionBudget.

Field names and rules are KubeRay 1.7.0's (ray-operator/apis/ray/v1/raycluster_types.go,
controllers/ray/utils/validation.go); tests validate the manifest against the v1.7.0 CRD schema.

The pods' parts have modules of their own: containers.py (Pod Security and QoS every container shares),
mount_check.py (the init container that refuses non-BlobFuse2 mounts), log_sidecar.py (the log forwarder,
with `monitoring`) and autoscaler.py (the autoscaler's options and cold-start budget).
"""

from __future__ import annotations

from typing import Any

import versions
from manifests import autoscaler, log_sidecar, pools, scrape, volumes, workload_identity
from manifests.containers import CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT, guaranteed
from manifests.mount_check import mount_check_container
from settings import Settings
from workloads import capacity

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

# The autoscaler JSON-patches spec.workerGroupSpecs (replicas, workersToDelete), an atomic list in the CRD:
# from the first scale-up it owns the whole list, and Pulumi's unforced server-side apply conflicts. Forcing
# is safe: under in-tree autoscaling KubeRay 1.7 deletes no pod when `replicas` drops (reconcilePods:
# random deletion only without the autoscaler or with ENABLE_RANDOM_POD_DELETE), so resetting replicas to
# 0 costs one reconcile of the autoscaler, which patches its count back. Annotation semantics:
# pulumi-kubernetes docs (Server-Side Apply: "pulumi.com/patchForce" wins over the provider's setting).
PATCH_FORCE = {"pulumi.com/patchForce": "true"}

# Spec changes reach running pods: with Recreate, KubeRay 1.7 deletes every pod of the cluster when the
# hash of the spec (less replicas, min/max, workersToDelete and tolerations, which the autoscaler and
# Kueue touch) differs from the head pod's `ray.io/upgrade-strategy-recreate-hash`
# (raycluster_controller.go shouldRecreatePodsForUpgrade; utils.GenerateHashWithoutReplicasAndWorkersToDelete).
# Without it (or with None) an image bump is stored and no pod changes. A running sweep dies with its
# head; submitting it again with the same --name resumes it from the results volume.
UPGRADE_STRATEGY = "Recreate"

# AKS's cluster autoscaler removes underused nodes and evicts their pods; it does not skip pods with local
# storage by default (learn.microsoft.com/azure/aks/cluster-autoscaler, "safe-to-evict").
SAFE_TO_EVICT = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}

# With workload-identity mounts the Blob CSI driver runs one BlobFuse2 process per pod, and every pod on a
# node shares the results volume's --tmp-path: two would corrupt each other's file cache
# (azure-storage-fuse#267; blob-csi-driver pkg/blob/nodeserver.go). One Ray pod per node.
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"

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
    """CPU workers the CPU pool can hold at its largest: one Ray pod per node, and the head takes one."""
    return settings.cpu_max_count - 1


def gpu_worker_max(settings: Settings) -> int:
    """One GPU worker per GPU node, taking all its GPUs."""
    return settings.gpu_max_count


def worker_groups(settings: Settings) -> list[capacity.Group]:
    """The worker groups as the autoscaler sees them (a node's Ray CPUs and GPUs come from the container
    limits), at their maxima."""
    return [
        capacity.Group(CPU_GROUP, settings.cpu_worker_cpus, 0, cpu_worker_max(settings)),
        capacity.Group(GPU_GROUP, settings.gpu_worker_cpus, settings.gpus_per_node, gpu_worker_max(settings)),
    ]


def head_requests(settings: Settings) -> tuple[int, int]:
    """(millicores, MiB) the head pod asks its node for: the Ray container, the autoscaler sidecar and, with
    monitoring, the log forwarder (a native sidecar counts beside the containers; the other init containers
    run before them and ask for less)."""
    cpu_m, memory_mi = log_sidecar.sidecar_requests(settings)
    return (
        settings.ray_head_cpus * 1000 + autoscaler.AUTOSCALER_CPU_M + cpu_m,
        settings.ray_head_memory_gi * 1024 + autoscaler.AUTOSCALER_MEMORY_MI + memory_mi,
    )


def cpu_worker_requests(settings: Settings) -> tuple[int, int]:
    cpu_m, memory_mi = log_sidecar.sidecar_requests(settings)
    return settings.cpu_worker_cpus * 1000 + cpu_m, settings.cpu_worker_memory_gi * 1024 + memory_mi


def gpu_worker_requests(settings: Settings) -> tuple[int, int]:
    cpu_m, memory_mi = log_sidecar.sidecar_requests(settings)
    return settings.gpu_worker_cpus * 1000 + cpu_m, settings.gpu_worker_memory_gi * 1024 + memory_mi


def _resources(cpus: int, memory_gi: int, gpus: int = 0) -> dict:
    quantities = {"cpu": str(cpus), "memory": f"{memory_gi}Gi"}
    if gpus:
        quantities["nvidia.com/gpu"] = str(gpus)
    return guaranteed(quantities)


def one_ray_pod_per_node(cluster_name: str) -> dict:
    """Required anti-affinity against every pod of this cluster, head and both worker groups alike."""
    return {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "labelSelector": {"matchLabels": {CLUSTER_LABEL: cluster_name}},
                    "topologyKey": HOSTNAME_TOPOLOGY,
                }
            ]
        }
    }


def _pod_template(
    settings: Settings,
    *,
    container: str,
    image: str,
    resources: dict,
    node_selector: dict,
    service_account: str,
    head: bool,
    tolerations: list | None = None,
    ports: list | None = None,
) -> dict:
    blob = volumes.blob_volumes(settings)
    mounts = [{"name": v.claim_name, "mountPath": v.mount_path} for v in blob]
    claims = [{"name": v.claim_name, "persistentVolumeClaim": {"claimName": v.claim_name}} for v in blob]
    ray_container = {
        "name": container,
        "image": image,
        "resources": resources,
        "volumeMounts": mounts,
        "securityContext": CONTAINER_SECURITY_CONTEXT,
    }
    if ports:
        ray_container["ports"] = ports
    # First, before anything else starts: a pod whose Blob mounts are not BlobFuse2 never runs Ray.
    init_containers = [mount_check_container(image, mounts)]
    pod_volumes = list(claims)
    if settings.monitoring:
        # After the mount check (a pod that will not start needs no forwarder), before KubeRay's
        # wait-gcs-ready, which it appends to the workers' init containers.
        ray_container["volumeMounts"] = [*mounts, log_sidecar.ray_log_mount()]
        init_containers.append(log_sidecar.log_forwarder_container(image))
        pod_volumes += log_sidecar.log_volumes()
    spec: dict[str, Any] = {
        # Head and workers run as two accounts federated with the same managed identity (the Blob CSI
        # driver mounts with each pod's own token, requested through the CSIDriver's tokenRequests, not
        # the pod's mounted one). KubeRay binds the autoscaler's Role (patch pods and rayclusters) to the
        # head's account; the workers' has no Kubernetes API token, so no trial can change the cluster.
        "serviceAccountName": service_account,
        "securityContext": POD_SECURITY_CONTEXT,
        "nodeSelector": node_selector,
        "affinity": one_ray_pod_per_node(settings.ray_cluster_name),
        "initContainers": init_containers,
        "containers": [ray_container],
        "volumes": pod_volumes,
    }
    if not head:
        spec["automountServiceAccountToken"] = False
    if tolerations:
        spec["tolerations"] = tolerations
    metadata = {"labels": workload_identity.pod_labels()}
    if head:
        metadata["annotations"] = dict(SAFE_TO_EVICT)
    return {"metadata": metadata, "spec": spec}


def _worker_group(settings: Settings, name: str, max_replicas: int, **pod: Any) -> dict:
    """A worker group that starts empty and scales from zero, its pods as the workers' account; `pod`: the
    template's image, resources, node selector and tolerations (_pod_template)."""
    template = _pod_template(
        settings, container=WORKER_CONTAINER, service_account=settings.ray_worker_service_account, head=False, **pod
    )
    return {"groupName": name, "replicas": 0, "minReplicas": 0, "maxReplicas": max_replicas, "template": template}


def raycluster_manifest(settings: Settings) -> dict:
    """The RayCluster custom resource of this stack, in the Ray namespace."""
    head = {
        # The head schedules no Ray tasks (num-cpus 0): trials land on workers, which the autoscaler adds.
        # dashboard-host 0.0.0.0 inside the pod only; the Service is ClusterIP and NetworkPolicies restrict.
        "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
        "serviceType": "ClusterIP",
        "template": _pod_template(
            settings,
            container=HEAD_CONTAINER,
            image=settings.ray_image,
            resources=_resources(settings.ray_head_cpus, settings.ray_head_memory_gi),
            node_selector=pools.cpu_node_selector(),
            service_account=settings.ray_service_account,
            head=True,
            ports=[
                {"name": "gcs-server", "containerPort": GCS_PORT},
                {"name": "dashboard", "containerPort": DASHBOARD_PORT},
                {"name": "client", "containerPort": CLIENT_PORT},
                *scrape.head_metrics_ports(),
            ],
        ),
    }
    cpu_workers = _worker_group(
        settings,
        CPU_GROUP,
        cpu_worker_max(settings),
        image=settings.ray_image,
        resources=_resources(settings.cpu_worker_cpus, settings.cpu_worker_memory_gi),
        node_selector=pools.cpu_node_selector(),
    )
    gpu_workers = _worker_group(
        settings,
        GPU_GROUP,
        gpu_worker_max(settings),
        image=settings.ray_gpu_image,
        resources=_resources(settings.gpu_worker_cpus, settings.gpu_worker_memory_gi, settings.gpus_per_node),
        node_selector=pools.gpu_node_selector(),
        # Both taints, Spot pool or not: tolerating a taint a node lacks is harmless.
        tolerations=pools.gpu_tolerations(),
    )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": settings.ray_cluster_name,
            "namespace": settings.ray_namespace,
            "annotations": {
                "pulumi.com/waitFor": WAIT_FOR,
                "pulumi.com/timeoutSeconds": str(TIMEOUT_SECONDS),
                **PATCH_FORCE,
            },
        },
        "spec": {
            "rayVersion": versions.RAY_VERSION,
            # Token auth (Ray >= 2.52): KubeRay creates Secret <name> (key auth_token) and gives it to
            # every Ray container; clients send it as a bearer token.
            "authOptions": {"mode": "token"},
            # The autoscaler runs as a sidecar of the head (manifests/autoscaler.py).
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": autoscaler.autoscaler_options(settings),
            "upgradeStrategy": {"type": UPGRADE_STRATEGY},
            "headGroupSpec": head,
            "workerGroupSpecs": [cpu_workers, gpu_workers],
        },
    }


def head_disruption_budget(settings: Settings) -> dict:
    """No voluntary eviction of the head (node drains for upgrades, the cluster autoscaler's scale-down):
    the head holds the GCS and the sweep's driver. A drain of its node waits until the head is gone by
    other means; node-image upgrades belong in the cluster's maintenance window."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{settings.ray_cluster_name}-head", "namespace": settings.ray_namespace},
        "spec": {
            "maxUnavailable": 0,
            "selector": {"matchLabels": {CLUSTER_LABEL: settings.ray_cluster_name, NODE_TYPE_LABEL: HEAD_NODE_TYPE}},
        },
    }
