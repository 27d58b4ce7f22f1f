"""What a node of an Azure VM size leaves to our pods: its allocatable CPU and memory less the DaemonSets.

The kubelet on AKS reserves CPU and memory for itself (learn.microsoft.com/azure/aks/node-resource-reservations,
"AKS 1.29 and later"): kube-reserved CPU by core count (table below), kube-reserved memory
min(20 MB x max pods + 50 MB, 25% of the VM's memory), and a 100 Mi `memory.available` eviction threshold.
A pod whose requests exceed what is left is never scheduled: it stays Pending and the autoscaler launches
node after node for it. Pure: no Pulumi, no settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from manifests import volumes

# (vCPUs, memory GiB) of the sizes we default to or document, from each size's page on learn.microsoft.com
# (azure/virtual-machines/sizes: Ddsv5/Dsv5 general purpose; NCasT4_v3, NC A100 v4, NCads H100 v5, NCv3,
# ND A100 v4, ND H100 v5, NVadsA10 v5 GPU series).
VM_SIZES: dict[str, tuple[int, int]] = {
    "Standard_D2ds_v5": (2, 8),
    "Standard_D4ds_v5": (4, 16),
    "Standard_D8ds_v5": (8, 32),
    "Standard_D16ds_v5": (16, 64),
    "Standard_D32ds_v5": (32, 128),
    "Standard_D4s_v5": (4, 16),
    "Standard_D8s_v5": (8, 32),
    "Standard_D16s_v5": (16, 64),
    "Standard_NC4as_T4_v3": (4, 28),
    "Standard_NC8as_T4_v3": (8, 56),
    "Standard_NC16as_T4_v3": (16, 110),
    "Standard_NC64as_T4_v3": (64, 440),
    "Standard_NC6s_v3": (6, 112),
    "Standard_NC12s_v3": (12, 224),
    "Standard_NC24s_v3": (24, 448),
    "Standard_NC24ads_A100_v4": (24, 220),
    "Standard_NC48ads_A100_v4": (48, 440),
    "Standard_NC96ads_A100_v4": (96, 880),
    "Standard_NC40ads_H100_v5": (40, 320),
    "Standard_NC80adis_H100_v5": (80, 640),
    "Standard_ND96asr_v4": (96, 900),
    "Standard_ND96amsr_A100_v4": (96, 1900),
    "Standard_ND96isr_H100_v5": (96, 1900),
    "Standard_NV36ads_A10_v5": (36, 440),
    "Standard_NV72ads_A10_v5": (72, 880),
}

# Kube-reserved CPU (millicores) by the host's cores (the AKS table). Between two rows the larger row
# applies; past 64 cores the last step's 10 m per core continues.
KUBE_RESERVED_CPU_M = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))
KUBE_RESERVED_CPU_M_PER_CORE_PAST_TABLE = 10
# AKS's default max pods per node with Azure CNI overlay (learn.microsoft.com/azure/aks/azure-cni-overlay,
# "maximum pods per node": 250); the pools here don't set maxPods.
MAX_PODS = 250
EVICTION_MI = 100

# What AKS's own DaemonSets request on a user node (Cilium agent, cloud-node-manager, the blob, disk and
# file CSI node plugins, the NVIDIA device plugin on GPU nodes): an allowance, to be checked against
# `kubectl describe node` on the first deploy.
DAEMONSETS_CPU_M = 500
DAEMONSETS_MEMORY_MI = 1024
# BlobFuse2 runs on the host, outside every pod's limit: the datasets block cache pool is memory the node
# needs besides allocatable's reservations.
HOST_FUSE_MEMORY_MI = volumes.BLOCK_POOL_MB


@dataclass(frozen=True)
class Room:
    """CPU and memory a node of one size leaves to our pods; memory None for a size not in VM_SIZES."""

    size: str
    cpu_m: int
    memory_mi: int | None


def kube_reserved_cpu_m(cores: int) -> int:
    for row_cores, millicores in KUBE_RESERVED_CPU_M:
        if cores <= row_cores:
            return millicores
    last_cores, last_m = KUBE_RESERVED_CPU_M[-1]
    return last_m + (cores - last_cores) * KUBE_RESERVED_CPU_M_PER_CORE_PAST_TABLE


def kube_reserved_memory_mi(memory_mi: int, max_pods: int = MAX_PODS) -> int:
    return min(20 * max_pods + 50, memory_mi // 4)


def room(size: str, vcpus_from_name: int | None) -> Room:
    """What a node of `size` leaves to our pods. A size missing from VM_SIZES keeps the vCPUs its name
    says and an unknown memory (the caller warns)."""
    known = VM_SIZES.get(size)
    cores = known[0] if known else vcpus_from_name
    if cores is None:
        raise ValueError(f"{size!r}: no vCPU count in the name and not in manifests/allocatable.VM_SIZES")
    cpu_m = cores * 1000 - kube_reserved_cpu_m(cores) - DAEMONSETS_CPU_M
    memory_mi = None
    if known:
        total_mi = known[1] * 1024
        memory_mi = (
            total_mi - kube_reserved_memory_mi(total_mi) - EVICTION_MI - DAEMONSETS_MEMORY_MI - HOST_FUSE_MEMORY_MI
        )
    return Room(size, cpu_m, memory_mi)


def shortfall(room: Room, cpu_m: int, memory_mi: int) -> dict[str, str]:
    """Why a pod requesting `cpu_m` and `memory_mi` does not fit a node of this room, by resource
    ("cpu", "memory"); empty if it fits."""
    after = "after AKS's kube-reserved, eviction threshold, DaemonSets and BlobFuse's host memory"
    problems = {}
    if cpu_m > room.cpu_m:
        problems["cpu"] = (
            f"does not fit on {room.size}: the pod asks for {cpu_m / 1000:g} CPUs, a node leaves "
            f"{room.cpu_m / 1000:g} {after}"
        )
    if room.memory_mi is not None and memory_mi > room.memory_mi:
        problems["memory"] = (
            f"does not fit on {room.size}: the pod asks for {memory_mi / 1024:.1f} GiB, a node "
            f"leaves {room.memory_mi / 1024:.1f} GiB {after}"
        )
    return problems
