"""The RayCluster (KubeRay 1.7, ray.io/v1): a head that runs no tasks, CPU and GPU worker groups that
scale from zero, both Blob volumes in every Ray container, token authentication, nothing exposed; and the
head's PodDisruptionBudget.

Field names and rules are KubeRay 1.7.0's (ray-operator/apis/ray/v1/raycluster_types.go,
controllers/ray/utils/validation.go); tests validate the manifest against the v1.7.0 CRD schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import versions
from manifests import log_forwarder, monitoring, pools, volumes, workload_identity
from settings import Settings
from workloads import capacity, defaults

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

# How long a new worker may take from its pod's creation to a registered Ray node: the cold-start budget.
# Each term is an allowance for the slowest case we plan for, to be replaced by measurements:
COLD_START_SECONDS = {
    # A Spot GPU VM allocated, booted and joined by AKS, then AKS's GPU driver installed on first boot
    # (gpuProfile.driver Install; learn.microsoft.com/azure/aks/gpu-cluster).
    "gpu_node_provision": 900,
    # rayproject/ray:<version>-py311-gpu is several GB compressed; a new node pulls it whole.
    "image_pull": 900,
    # Both BlobFuse2 mounts, the mount check, waiting for the GCS, `ray start`, the runtime env's pip pins.
    "pod_setup": 300,
}
COLD_START_BUDGET_SECONDS = sum(COLD_START_SECONDS.values())
# Ray 2.60 autoscaler v2 (autoscaler/v2/instance_manager/config.py InstanceReconcileConfig, reconciler.py
# _handle_stuck_instances): under KubeRay an instance is ALLOCATED as soon as its pod exists and RAY_RUNNING
# once its raylet registers, and an instance ALLOCATED longer than this is terminated (ALLOCATION_TIMEOUT).
# The default differs between Ray releases (300 s in older ones, kuberay#4226; 3600 s in the 2.60 wheel),
# so it is set, from the budget. REQUESTED -> ALLOCATED is KubeRay creating the pod, seconds; its 600 s
# default stands. Pending pods no demand needs are kept (RAY_AUTOSCALER_PENDING_NODE_IDLE_TIMEOUT_S, -1 by
# default, autoscaler/_private/constants.py).
AUTOSCALER_ENV = {"RAY_AUTOSCALER_RECONCILE_ALLOCATE_STATUS_TIMEOUT_S": str(COLD_START_BUDGET_SECONDS)}
# KubeRay's own defaults for the autoscaler sidecar (common/pod.go BuildAutoscalerContainer), written out
# so the node-fit check counts them.
AUTOSCALER_CPU_M = 500
AUTOSCALER_MEMORY_MI = 512

# Pod Security `restricted` (kubernetes.io/docs/concepts/security/pod-security-standards). The Ray images
# run as user `ray`, uid 1000, gid 100. KubeRay copies the Ray container's securityContext to the init
# containers it injects (common/pod.go: wait-gcs-ready) and gives the autoscaler sidecar
# autoscalerOptions.securityContext.
RAY_UID, RAY_GID = 1000, 100
POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": RAY_UID,
    "runAsGroup": RAY_GID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}

# AKS's cluster autoscaler removes underused nodes and evicts their pods; it does not skip pods with local
# storage by default (learn.microsoft.com/azure/aks/cluster-autoscaler, "safe-to-evict").
SAFE_TO_EVICT = {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}

# With workload-identity mounts the Blob CSI driver runs one BlobFuse2 process per pod, and every pod on a
# node shares the results volume's --tmp-path: two would corrupt each other's file cache
# (azure-storage-fuse#267; blob-csi-driver pkg/blob/nodeserver.go). One Ray pod per node.
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"

# The init container that refuses to start a Ray pod whose mounts are not BlobFuse2: without the CSIDriver's
# tokenRequests the driver bind-mounts an empty directory and every write lands on the node's disk
# (blob-csi-driver#1240). BlobFuse2 mounts with fsname=blobfuse2 (component/libfuse), so /proc's
# mountinfo shows source `blobfuse2` and type fuse or fuse.blobfuse2 at the mount point.
MOUNT_CHECK_CONTAINER = "check-blobfuse2-mounts"
MOUNT_CHECK_RESOURCES = {"cpu": "100m", "memory": "64Mi"}

# --- Logs that outlive the pods (with `monitoring`) ------------------------------------------------------
# Container Insights collects container stdout and stderr, but Ray writes what trials print and log to
# files under its temp dir (worker-*.out|.err; Ray docs ray-observability/user-guides/configure-logging.md,
# "Log files in logging directory"). A native sidecar, following KubeRay's guide
# (cluster/kubernetes/user-guides/persist-kuberay-custom-resource-logs.md: a log-processing sidecar sharing
# /tmp/ray with the Ray container through a volume), copies those files' lines to its own stdout as JSON,
# labelled with the file (manifests/log_forwarder.py).
#
# Not RAY_LOG_TO_STDERR=1: in Ray 2.60 it makes the core worker write no log files at all
# (ray/_private/node.py should_redirect_logs; worker.py connect passes an empty logs_dir), so the log monitor,
# which reads worker*.out|err (log_monitor.py update_log_filenames), has nothing to stream to the driver:
# trials' lines vanish from `ray job logs` (the driver's job-driver-<id>.log), the dashboard's log view and
# `ray logs` find no files, and every Ray component's INFO logs (raylet, GCS, dashboard) go to the container
# output and the Log Analytics bill. The sidecar changes nothing in Ray: files, dashboard, job logs and
# log_to_driver stay as they are.
#
# The volume has KubeRay's own name and path for the Ray log volume (common/pod.go RayLogVolumeName
# "ray-logs", RayLogVolumeMountPath "/tmp/ray"): on the head KubeRay then finds /tmp/ray mounted in the Ray
# container and mounts this same volume in its autoscaler sidecar (addEmptyDir: checkIfVolumeMounted, then
# checkIfVolumeExists), as it does with its own; another name would give the autoscaler a second, empty one.
LOG_VOLUME = "ray-logs"
RAY_TEMP_DIR = "/tmp/ray"
LOG_FORWARDER_CONTAINER = "ray-log-forwarder"
# Its offsets, kept across a restart of the sidecar (an emptyDir lives as long as the pod).
LOG_FORWARDER_STATE_VOLUME = "ray-log-forwarder-state"
LOG_FORWARDER_STATE_DIR = "/var/run/ray-log-forwarder"
LOG_FORWARDER_STATE_SIZE = "16Mi"
# Measured with Python 3.11: following 200 worker files while one gains 1,000 lines a second takes about
# 15 millicores and 13 MiB resident (2 millicores idle). The limit leaves room for bursts of ~7,000 lines a
# second; its reads are bounded (log_forwarder.BUDGET_BYTES a file a poll). Requests equal limits, like
# every other container here.
LOG_FORWARDER_CPU_M = 100
LOG_FORWARDER_MEMORY_MI = 64
LOG_FORWARDER_SOURCE = Path(log_forwarder.__file__).read_text(encoding="utf-8")


def log_forwarder_command(root: str = RAY_TEMP_DIR, state_dir: str = LOG_FORWARDER_STATE_DIR) -> list[str]:
    """The Ray image's Python (on PATH in rayproject/ray images) runs the forwarder's source: no new image.
    -I ignores PYTHON* variables and user site-packages, -u leaves nothing in a buffer."""
    return [
        "python",
        "-I",
        "-u",
        "-c",
        LOG_FORWARDER_SOURCE,
        "--root",
        root,
        "--state",
        f"{state_dir}/state.json",
        # The trial each line of a (reused) worker belongs to, from the line the trainable prints first.
        "--label-line",
        f"{defaults.TRIAL_LOG_MARKER}=trial",
    ]


def log_forwarder_container(image: str) -> dict:
    """The forwarder as a native sidecar (an init container with restartPolicy Always, Kubernetes >= 1.29):
    it starts before Ray, so it sees every file from its first byte; the kubelet restarts it if it dies,
    whatever the pod's restartPolicy (Never under autoscaler v2); it does not keep a pod whose Ray container
    has exited alive; and on deletion it is stopped only after the Ray container, so Ray's last lines are
    read (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers). It reads /tmp/ray read-only."""
    quantities = {"cpu": f"{LOG_FORWARDER_CPU_M}m", "memory": f"{LOG_FORWARDER_MEMORY_MI}Mi"}
    return {
        "name": LOG_FORWARDER_CONTAINER,
        "image": image,  # the Ray container's, already pulled for it
        "restartPolicy": "Always",
        "command": log_forwarder_command(),
        "volumeMounts": [
            {"name": LOG_VOLUME, "mountPath": RAY_TEMP_DIR, "readOnly": True},
            {"name": LOG_FORWARDER_STATE_VOLUME, "mountPath": LOG_FORWARDER_STATE_DIR},
        ],
        "resources": {"requests": dict(quantities), "limits": dict(quantities)},
        "securityContext": {**CONTAINER_SECURITY_CONTEXT, "readOnlyRootFilesystem": True},
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def log_volumes() -> list[dict]:
    return [
        {"name": LOG_VOLUME, "emptyDir": {}},
        {"name": LOG_FORWARDER_STATE_VOLUME, "emptyDir": {"sizeLimit": LOG_FORWARDER_STATE_SIZE}},
    ]


def _sidecar_requests(settings: Settings) -> tuple[int, int]:
    """(millicores, MiB) every Ray pod asks for besides its Ray container: the log forwarder, with monitoring."""
    return (LOG_FORWARDER_CPU_M, LOG_FORWARDER_MEMORY_MI) if settings.monitoring else (0, 0)


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
    cpu_m, memory_mi = _sidecar_requests(settings)
    return (
        settings.ray_head_cpus * 1000 + AUTOSCALER_CPU_M + cpu_m,
        settings.ray_head_memory_gi * 1024 + AUTOSCALER_MEMORY_MI + memory_mi,
    )


def cpu_worker_requests(settings: Settings) -> tuple[int, int]:
    cpu_m, memory_mi = _sidecar_requests(settings)
    return settings.cpu_worker_cpus * 1000 + cpu_m, settings.cpu_worker_memory_gi * 1024 + memory_mi


def gpu_worker_requests(settings: Settings) -> tuple[int, int]:
    cpu_m, memory_mi = _sidecar_requests(settings)
    return settings.gpu_worker_cpus * 1000 + cpu_m, settings.gpu_worker_memory_gi * 1024 + memory_mi


def mount_check_script(mount_paths: list[str], mountinfo: str = "/proc/self/mountinfo") -> str:
    """POSIX sh + awk: exit 1 naming the first path that is not a BlobFuse2 FUSE mount. mountinfo fields
    (proc(5)): 5 is the mount point; after the "-" separator come the type and the source. The last mount
    at a path is the one the container sees, so it decides."""
    checks = []
    for path in mount_paths:
        checks.append(
            "awk -v p=" + _sh_quote(path) + ' \'{for (i = 7; i <= NF; i++) if ($i == "-") break; '
            'if ($5 == p) ok = ($(i + 1) ~ /^fuse(\\.|$)/ && $(i + 2) == "blobfuse2")} END {exit !ok}\' '
            + _sh_quote(mountinfo)
            + " || { echo "
            + _sh_quote(
                f"{path} is not a BlobFuse2 mount: refusing to start "
                "(is tokenRequests set on the blob.csi.azure.com CSIDriver?)"
            )
            + " >&2; exit 1; }"
        )
    return "\n".join([*checks, "echo " + _sh_quote("BlobFuse2 mounts: " + " ".join(mount_paths))])


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _quantities(cpu: str, memory: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}}


def _resources(cpus: int, memory_gi: int, gpus: int = 0) -> dict:
    # Requests equal limits: Guaranteed QoS, and Ray sizes its node from the limits.
    quantities = {"cpu": str(cpus), "memory": f"{memory_gi}Gi"}
    if gpus:
        quantities["nvidia.com/gpu"] = str(gpus)
    return {"requests": dict(quantities), "limits": dict(quantities)}


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
    check = {
        "name": MOUNT_CHECK_CONTAINER,
        "image": image,
        "command": ["sh", "-c", mount_check_script([v.mount_path for v in blob])],
        "volumeMounts": [{**m, "readOnly": True} for m in mounts],
        "resources": {"requests": dict(MOUNT_CHECK_RESOURCES), "limits": dict(MOUNT_CHECK_RESOURCES)},
        "securityContext": CONTAINER_SECURITY_CONTEXT,
    }
    init_containers = [check]
    pod_volumes = list(claims)
    if settings.monitoring:
        # After the mount check (a pod that will not start needs no forwarder), before KubeRay's
        # wait-gcs-ready, which it appends to the workers' init containers.
        ray_container["volumeMounts"] = [*mounts, {"name": LOG_VOLUME, "mountPath": RAY_TEMP_DIR}]
        init_containers.append(log_forwarder_container(image))
        pod_volumes += log_volumes()
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
                *monitoring.head_metrics_ports(),
            ],
        ),
    }
    cpu_workers = {
        "groupName": CPU_GROUP,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": cpu_worker_max(settings),
        "template": _pod_template(
            settings,
            container=WORKER_CONTAINER,
            image=settings.ray_image,
            resources=_resources(settings.cpu_worker_cpus, settings.cpu_worker_memory_gi),
            node_selector=pools.cpu_node_selector(),
            service_account=settings.ray_worker_service_account,
            head=False,
        ),
    }
    gpu_workers = {
        "groupName": GPU_GROUP,
        "replicas": 0,
        "minReplicas": 0,
        "maxReplicas": gpu_worker_max(settings),
        "template": _pod_template(
            settings,
            container=WORKER_CONTAINER,
            image=settings.ray_gpu_image,
            resources=_resources(settings.gpu_worker_cpus, settings.gpu_worker_memory_gi, settings.gpus_per_node),
            node_selector=pools.gpu_node_selector(),
            service_account=settings.ray_worker_service_account,
            head=False,
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
                **PATCH_FORCE,
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
                "env": [{"name": name, "value": value} for name, value in AUTOSCALER_ENV.items()],
                "securityContext": CONTAINER_SECURITY_CONTEXT,
                "resources": _quantities(f"{AUTOSCALER_CPU_M}m", f"{AUTOSCALER_MEMORY_MI}Mi"),
            },
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
