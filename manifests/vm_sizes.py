"""Azure VM size names, and which of them have GPUs: one rule for the settings and the policy pack.

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
