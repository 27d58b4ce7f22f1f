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


# Temp (resource) disk of the VM sizes we know, in GiB (learn.microsoft.com/azure/virtual-machines/sizes:
# Ddsv5, NCasT4_v3). An ephemeral OS disk lives there, so it may be at most that big; AKS uses the whole
# temp disk by default when it is at least 128 GiB (MicrosoftDocs/azure-aks-docs articles/aks/concepts-storage.md).
TEMP_DISK_GIB = {
    "Standard_D4ds_v5": 150,
    "Standard_D8ds_v5": 300,
    "Standard_D16ds_v5": 600,
    "Standard_D32ds_v5": 1200,
    "Standard_NC4as_T4_v3": 180,
    "Standard_NC8as_T4_v3": 360,
    "Standard_NC16as_T4_v3": 360,
    "Standard_NC64as_T4_v3": 2880,
}
# Below this, AKS's own default is a managed OS disk (concepts-storage.md): images would not fit.
MIN_EPHEMERAL_OS_GIB = 128


def os_disk(vm_size: str) -> dict[str, object]:
    """An ephemeral OS disk filling the temp disk where we know the size allows it (faster node start and
    reimage, no disk cost); otherwise nothing, and AKS chooses (ephemeral if possible, else managed)."""
    temp = TEMP_DISK_GIB.get(vm_size, 0)
    if temp < MIN_EPHEMERAL_OS_GIB:
        return {}
    return {"os_disk_type": "Ephemeral", "os_disk_size_gb": temp}


def autoscaled_count(live: int | None, min_count: int, max_count: int) -> int:
    """The `count` to send for an autoscaled pool: the live node count kept inside [min, max].

    AKS refuses an update whose count lies outside the new bounds (raising minCount above it, lowering
    maxCount below it), so a count frozen at creation (ignore_changes) breaks later updates; sending the
    live count, clamped, changes nothing the autoscaler did except what the new bounds require. A pool
    that does not exist yet starts at its minimum.
    """
    if live is None:
        return min_count
    return max(min_count, min(max_count, live))
