"""The settings' value types: pydantic Annotated types, each with the rule of one kind of value.

A rule raises ValueError with the reason; settings/errors.py puts the key, the value as written and a
valid example around it. Rules across several fields are in settings/rules.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

import versions
from manifests import names
from manifests.vm_sizes import RETIRED_VM_SIZES, is_amd_gpu_vm_size, is_gpu_vm_size, parse_vm_size
from settings import networks


def _matching(pattern: str, why: str, *, or_empty: bool = False) -> AfterValidator:
    """A text that matches `pattern` whole (or is empty, with or_empty)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if (value or not or_empty) and not compiled.fullmatch(value):
            raise ValueError(f"{value!r} {why}")
        return value

    return AfterValidator(check)


def _each_matching(pattern: str, why: str) -> AfterValidator:
    """A list whose every item matches `pattern` whole; the first that does not is named."""
    compiled = re.compile(pattern)

    def check(value: list[str]) -> list[str]:
        bad = next((item for item in value if not compiled.fullmatch(item)), None)
        if bad is not None:
            raise ValueError(f"{bad!r} {why}")
        return value

    return AfterValidator(check)


def _from_json_text(value: Any) -> Any:
    # Pulumi hands arrays to the program as JSON text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"{value!r} is not a JSON array") from None
    return value


# A list of strings, as a list or as the JSON text Pulumi passes.
JsonList = Annotated[list[str], BeforeValidator(_from_json_text)]

# --- Azure --------------------------------------------------------------------------------------------
AzureRegion = Annotated[str, _matching(r"[a-z][a-z0-9]+", "is not an Azure region name (lowercase, no spaces)")]


def _zones(value: list[str]) -> list[str]:
    if any(zone not in ("1", "2", "3") for zone in value) or len(set(value)) != len(value):
        raise ValueError(f'{value!r}: zones are distinct values among "1", "2", "3"')
    return value


Zones = Annotated[JsonList, AfterValidator(_zones)]
Tags = Annotated[
    JsonList, _each_matching(r"[^=<>%&\\?/]{1,512}=[^=]{0,256}", "is not key=value (key without < > % & \\ ? /)")
]
# Entra ID object ids.
ObjectIds = Annotated[
    JsonList,
    _each_matching(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "is not an object id (a UUID)"
    ),
]
StorageAccountName = Annotated[
    str,
    _matching(
        r"[a-z0-9]{3,24}", "breaks Azure's rule: 3-24 characters, lowercase letters and digits only", or_empty=True
    ),
]
# ACR: 5-50 alphanumerics (learn.microsoft.com/azure/container-registry/container-registry-get-started-portal).
RegistryName = Annotated[
    str, _matching(r"[a-zA-Z0-9]{5,50}", "breaks Azure's rule: 5-50 characters, letters and digits only", or_empty=True)
]


def _storage_account_id(value: str) -> str:
    if value and names.parse_storage_account_id(value) is None:
        raise ValueError(
            f"{value!r} is not a storage account resource id (/subscriptions/<id>/resourceGroups/"
            "<group>/providers/Microsoft.Storage/storageAccounts/<name>)"
        )
    return value


StorageAccountId = Annotated[str, AfterValidator(_storage_account_id)]

# --- Network ------------------------------------------------------------------------------------------
PrivateCidr = Annotated[str, AfterValidator(networks.private_cidr)]
ServiceCidr = Annotated[PrivateCidr, AfterValidator(networks.service_cidr)]
Ipv4Address = Annotated[str, AfterValidator(networks.ipv4_address)]
AuthorizedRanges = Annotated[JsonList, AfterValidator(networks.authorized_ranges)]
StorageIpRules = Annotated[JsonList, AfterValidator(networks.storage_ip_rules)]

# --- VM sizes (manifests/vm_sizes.py) -----------------------------------------------------------------


def _vm_size(value: str) -> str:
    if not parse_vm_size(value):
        raise ValueError(f"{value!r} is not an Azure VM size name like Standard_D8ds_v5")
    return value


def _gpu_vm_size(value: str) -> str:
    if not is_gpu_vm_size(value):
        raise ValueError(f"{value!r} has no GPU: GPU sizes are in the NC, ND or NV families")
    if value in RETIRED_VM_SIZES:
        raise ValueError(f"{value!r} is an NCv3 size, retired on 2025-09-30: AKS cannot create it")
    if is_amd_gpu_vm_size(value):
        raise ValueError(
            f"{value!r} has an AMD GPU (NVv4): no CUDA, so neither PyTorch's CUDA build nor "
            "the NVIDIA device plugin can use it"
        )
    return value


def _system_vm_size(value: str) -> str:
    # AKS system pools need 4 vCPUs and 4 GB or more, and no B series (articles/aks/use-system-pools.md).
    match = parse_vm_size(value)
    if match and match["family"] == "B":
        raise ValueError(f"{value!r} is a B-series size, which AKS refuses for system pools")
    if match and int(match["vcpus"]) < 4:
        raise ValueError(f"{value!r} has {match['vcpus']} vCPUs; AKS system pools need at least 4")
    return value


VmSize = Annotated[str, AfterValidator(_vm_size)]
GpuVmSize = Annotated[VmSize, AfterValidator(_gpu_vm_size)]
SystemVmSize = Annotated[VmSize, AfterValidator(_system_vm_size)]

# --- Kubernetes and Ray -------------------------------------------------------------------------------
KubernetesVersion = Annotated[
    str,
    _matching(
        r"1\.\d{1,2}(\.\d{1,3})?",
        f"is not a Kubernetes version like {versions.KUBERNETES_VERSION} or {versions.KUBERNETES_VERSION}.2",
    ),
]
DnsLabel = Annotated[
    str,
    _matching(
        r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)"
    ),
]
# KubeRay's ValidateRayClusterMetadata: a DNS-1035 label of at most 53 characters.
RayClusterName = Annotated[
    str,
    _matching(
        r"[a-z]([-a-z0-9]{0,51}[a-z0-9])?",
        "is not a DNS-1035 label (a lowercase letter first, then letters, digits or '-') of at most 53 "
        "characters, as KubeRay requires",
    ),
]


def _ray_image(value: str) -> str:
    name, _, tag = value.rpartition(":")
    if not name or "/" in tag:
        raise ValueError(f"{value!r} has no tag; pin it, e.g. {versions.WORKLOAD_IMAGE}")
    first = name.split("/")[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        raise ValueError(
            f"{value!r} names a registry ({first}); give repository:tag, the stack's registry is put in front"
        )
    if tag.split("-")[0] != versions.RAY_VERSION:
        raise ValueError(
            f"{value!r} is tagged {tag!r}, which disagrees with Ray {versions.RAY_VERSION} "
            "(rayVersion and the workload's Ray)"
        )
    return value


# repository:tag in the stack's registry, tagged with the Ray version.
RayImage = Annotated[str, AfterValidator(_ray_image)]


def _mount_path(value: str) -> str:
    if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", value) or value.startswith(("/proc", "/sys", "/dev", "/tmp")):
        raise ValueError(f"{value!r} is not an absolute path outside /proc, /sys, /dev and /tmp")
    return value


MountPath = Annotated[str, AfterValidator(_mount_path)]


def _sweep_args(value: list[str]) -> list[str]:
    from workloads import cli  # the CLI's own parser decides (standard library only)

    owned = [arg for arg in value if arg.split("=")[0] in ("--data-dir", "--storage-path", "--local")]
    if owned:
        raise ValueError(f"{owned[0]!r} is set by the stack (the mount paths); leave it out")
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parsed = cli.build_parser().parse_args(value)
    except SystemExit:
        raise ValueError(
            f"{value!r} is refused by `python -m workloads.tune`: {stderr.getvalue().strip().splitlines()[-1]}"
        ) from None
    if parsed.name is None:
        raise ValueError(f"{value!r} has no --name; the sweep's results go to <resultsMountPath>/<name>")
    return value


# Flags of `python -m workloads.tune`, the ones the stack sets left out.
SweepArgs = Annotated[JsonList, AfterValidator(_sweep_args)]
