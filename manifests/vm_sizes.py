"""Azure VM size names, which of them have GPUs and how many: one rule for the settings and the policy pack.

Names follow Standard_<family><vCPUs>[-<constrained vCPUs>]<features>[_<accelerator>][_v<n>]
(learn.microsoft.com/azure/virtual-machines/vm-naming-conventions). Standard library only: the policy pack
imports this module too.
"""

from __future__ import annotations

import re

VM_SIZE = re.compile(
    r"^Standard_(?P<family>[A-Z]+)(?P<vcpus>\d+)(-\d+)?(?P<features>[a-z]*)(_(?P<accelerator>[A-Z][A-Za-z0-9]*))?(_v\d+)?$"
)
# The GPU families: NC (compute), ND (deep learning), NV (visualisation), with their confidential variants.
GPU_FAMILIES = ("NC", "ND", "NV", "NCC")

# NCv3 (V100) sizes were retired on 2025-09-30 (learn.microsoft.com/azure/virtual-machines/sizes/retirement/
# ncv3-series-retirement): AKS can no longer create nodes of them.
RETIRED_VM_SIZES = ("Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3")

# GPUs per node for the Azure GPU sizes we know (Azure docs: NCasT4_v3, NC A100 v4, NCads H100 v5,
# ND A100 v4, ND H100 v5, NVadsA10 v5 series). Unknown GPU sizes are accepted as they are.
GPUS_PER_VM_SIZE = {
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    "Standard_NC40ads_H100_v5": 1,
    "Standard_NC80adis_H100_v5": 2,
    "Standard_ND96asr_v4": 8,
    "Standard_ND96amsr_A100_v4": 8,
    "Standard_ND96isr_H100_v5": 8,
    "Standard_NV36ads_A10_v5": 1,
    "Standard_NV72ads_A10_v5": 2,
}


def parse_vm_size(size: str) -> re.Match[str] | None:
    return VM_SIZE.match(size)


def is_gpu_vm_size(size: str) -> bool:
    match = parse_vm_size(size)
    return match is not None and match["family"] in GPU_FAMILIES


def vm_vcpus(size: str) -> int | None:
    match = parse_vm_size(size)
    return int(match["vcpus"]) if match else None


def is_amd_gpu_vm_size(size: str) -> bool:
    """NVv4 sizes (Standard_NV4as_v4 ... NV32as_v4) carry AMD Radeon Instinct GPUs, not NVIDIA ones."""
    match = parse_vm_size(size)
    return match is not None and match["family"] == "NV" and size.endswith("_v4")
