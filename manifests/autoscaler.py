"""The RayCluster's autoscaler (Ray's autoscaler v2, run by KubeRay as a sidecar of the head): its options,
the cold-start budget it waits for a new worker, and what the sidecar asks its node for."""

from __future__ import annotations

from manifests.containers import CONTAINER_SECURITY_CONTEXT, guaranteed
from settings import Settings

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


def autoscaler_options(settings: Settings) -> dict:
    """spec.autoscalerOptions. Version v2 makes KubeRay set RAY_enable_autoscaler_v2 and restartPolicy Never
    itself (setting the env var too is rejected)."""
    return {
        "version": "v2",
        "upscalingMode": "Default",
        "idleTimeoutSeconds": settings.autoscaler_idle_timeout_seconds,
        "env": [{"name": name, "value": value} for name, value in AUTOSCALER_ENV.items()],
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "resources": guaranteed({"cpu": f"{AUTOSCALER_CPU_M}m", "memory": f"{AUTOSCALER_MEMORY_MI}Mi"}),
    }
