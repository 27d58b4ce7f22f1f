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


def cpu_node_selector() -> dict[str, str]:
    """What a pod selects to land on the CPU pool (the Ray head, CPU workers, the KubeRay operator)."""
    return {POOL_LABEL: cpu_labels()[POOL_LABEL]}


def gpu_node_selector() -> dict[str, str]:
    """What a pod selects to land on the GPU pool (GPU workers, the NVIDIA device plugin)."""
    return {POOL_LABEL: gpu_labels()[POOL_LABEL]}


def parse_taint(text: str) -> dict[str, str]:
    """The inverse of taint_string: AKS's key=value:Effect as a Kubernetes taint."""
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    return {"key": key, "value": value, "effect": effect}


def tolerates(toleration: dict[str, str], taint: dict[str, str]) -> bool:
    """Kubernetes' rule (kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration): same key
    (or an empty key with Exists), same effect (or none), and Equal values or Exists."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint["key"]
    return toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", "")
