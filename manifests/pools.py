"""Node pool taints and labels, shared by the AKS pools and the pods that must land on them.

The GPU pool is tainted so only pods that ask for it land there, and labelled so they can select it;
`nvidia.com/gpu.present` is also the label the NVIDIA device plugin's default affinity requires.
"""

from __future__ import annotations

POOL_LABEL = "ray-aks/pool"

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
# AKS puts this taint on every Spot node; listing it in the pool keeps Pulumi from seeing drift.
SPOT_TAINT = {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}
# The system pool runs only critical add-ons (AKS docs: "Manage system node pools").
SYSTEM_TAINT = {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}


def taint_string(taint: dict[str, str]) -> str:
    """AKS writes taints as key=value:Effect."""
    return f"{taint['key']}={taint['value']}:{taint['effect']}"


def gpu_taints(spot: bool) -> list[dict[str, str]]:
    return [GPU_TAINT, SPOT_TAINT] if spot else [GPU_TAINT]


def gpu_labels() -> dict[str, str]:
    return {POOL_LABEL: "gpu", "nvidia.com/gpu.present": "true"}


def cpu_labels() -> dict[str, str]:
    return {POOL_LABEL: "cpu"}


def gpu_tolerations() -> list[dict[str, str]]:
    """Tolerations of every pod that runs on the GPU pool: the GPU taint and, for Spot pools, Spot's."""
    return [{**taint, "operator": "Equal"} for taint in gpu_taints(spot=True)]
