"""The stack's settings: one validated, frozen model read from the Pulumi config.

Every field is declared once more in Pulumi.yaml (type, default, description); tests/unit/test_settings.py
checks that the two agree. Validation runs before any resource exists, and a bad value stops the program
with one message that names the key, the bad value and a valid example.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import ipaddress
import json
import re
import warnings
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

import versions
from manifests import names

# The VM size rule (names, GPU families, vCPUs), shared with the policy pack; re-exported.
from manifests.vm_sizes import RETIRED_VM_SIZES, is_amd_gpu_vm_size, is_gpu_vm_size, parse_vm_size, vm_vcpus

PROJECT = "ray-aks"

# The containers the workload reads from and writes to; fixed so the Kubernetes side can name them.
DATASETS_CONTAINER = "datasets"
RESULTS_CONTAINER = "results"

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

# Addresses AKS keeps for itself: no pod, service, VNet or subnet range may overlap them
# (MicrosoftDocs/azure-aks-docs articles/aks/concepts-network-cni-overview.md, configure-kubenet.md).
AKS_RESERVED_RANGES = [
    ipaddress.IPv4Network(n) for n in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")
]
# Ranges no machine running `pulumi` or kubectl can come from, as the API server sees it: documentation
# (RFC 5737), private (RFC 1918), shared (RFC 6598), loopback, link-local, "this network", benchmarking
# (RFC 2544), multicast and reserved. An allow-list of only these lets the cluster be created and then
# every Kubernetes call time out.
_NOT_AN_INTERNET_SOURCE = {
    "a documentation range (RFC 5737)": ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"),
    "a private range (RFC 1918)": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
    "a shared carrier-grade NAT range (RFC 6598)": ("100.64.0.0/10",),
    "a loopback, link-local or unspecified range": ("127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8"),
    "a benchmarking range (RFC 2544)": ("198.18.0.0/15",),
    "a multicast or reserved range": ("224.0.0.0/3",),
}
# AKS accepts at most 200 authorized IP ranges (articles/aks/api-server-authorized-ip-ranges.md).
MAX_AUTHORIZED_RANGES = 200
# A public address that passes every rule, for messages and offline runs; never one of yours.
EXAMPLE_PUBLIC_CIDR = "20.37.0.1/32"

# Ranges Azure storage IP rules refuse (learn.microsoft.com/azure/storage/common/storage-network-security).
_NON_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16")
]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SettingsError(ValueError):
    """Bad stack configuration; the message names every bad key, its value and a valid example."""


def _setting(default: Any, description: str, example: Any) -> Any:
    return Field(default=default, description=description, json_schema_extra={"example": example})


def _network(value: str, key: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"{value!r} is not an IPv4 CIDR with its host bits zero ({err})") from None


class Settings(BaseModel):
    """What a stack can change. Field names are snake_case; config keys are their camelCase aliases."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )

    # --- Azure placement -------------------------------------------------------------------------------
    location: str = _setting("eastus2", "Azure region for every resource.", "westeurope")
    kubernetes_version: str = _setting(
        versions.KUBERNETES_VERSION,
        "AKS Kubernetes version (major.minor or major.minor.patch); checked against AKS's support calendar. "
        "With an upgradeChannel other than none, AKS moves it and Pulumi leaves it to AKS after creation.",
        versions.KUBERNETES_VERSION,
    )
    availability_zones: list[str] = _setting(
        [], "Availability zones of the node pools; empty for regions or sizes without zones.", ["1", "2", "3"]
    )
    extra_tags: list[str] = _setting(
        [],
        "Tags added to every Azure resource, as key=value (project, stack and managed-by are always set).",
        ["owner=ml-platform"],
    )

    # --- Network ---------------------------------------------------------------------------------------
    vnet_cidr: str = _setting("10.10.0.0/16", "Address space of the virtual network.", "10.10.0.0/15")
    # Changing pod/service ranges, the DNS address or the policy engine replaces the whole cluster
    # (azure-native force-news them: provider/pkg/gen/replacement.go); Pulumi.yaml says so per key.
    node_subnet_cidr: str = _setting(
        "10.10.0.0/22", "Node subnet, inside vnetCidr (Azure CNI overlay: nodes only).", "10.10.4.0/22"
    )
    pod_cidr: str = _setting(
        "192.168.0.0/16",
        "Overlay pod CIDR; must not overlap the VNet or the service CIDR. Changing it replaces the cluster.",
        "192.168.0.0/16",
    )
    service_cidr: str = _setting(
        "172.16.0.0/16",
        "Kubernetes service CIDR (smaller than a /12); must not overlap the VNet or the pod CIDR. Changing it "
        "replaces the cluster.",
        "172.16.0.0/16",
    )
    dns_service_ip: str = _setting(
        "172.16.0.10", "Cluster DNS address, inside serviceCidr. Changing it replaces the cluster.", "172.16.0.10"
    )
    network_policy: Literal["cilium", "calico", "azure"] = _setting(
        "cilium",
        "Network policy engine enforcing Kubernetes NetworkPolicies (cilium: Azure CNI powered by Cilium). "
        "Changing it replaces the cluster.",
        "calico",
    )

    # --- Cluster access and upgrades -------------------------------------------------------------------
    api_server_authorized_ip_ranges: list[str] = _setting(
        [],
        "Public CIDRs allowed to reach the Kubernetes API server: the machines that run `pulumi up` and kubectl "
        "(the API server is never open to the internet, so this must be set; at most 200; no private or "
        "documentation ranges).",
        [EXAMPLE_PUBLIC_CIDR],
    )
    admin_group_object_ids: list[str] = _setting(
        [],
        "Entra ID groups that administer the cluster (Azure Kubernetes Service RBAC Cluster Admin on the "
        "cluster's resource group, granted before the cluster exists): the recommended way to give people and "
        "CI cluster admin.",
        ["00000000-0000-0000-0000-000000000000"],
    )
    deployer_principal_type: Literal["User", "ServicePrincipal", "None"] = _setting(
        "User",
        "What kind of identity runs `pulumi up` (ServicePrincipal for CI and managed identities), so it "
        "gets cluster admin; None: no grant of its own (it administers through adminGroupObjectIds). Each "
        "identity's grant is kept when another one runs `pulumi up`. One of: User, ServicePrincipal, None.",
        "ServicePrincipal",
    )
    cluster_sku_tier: Literal["Free", "Standard", "Premium"] = _setting(
        "Standard",
        "AKS pricing tier: Standard has the uptime SLA and scales the control plane; Free suits dev "
        "clusters; Premium adds long-term support. One of: Free, Standard, Premium.",
        "Free",
    )
    kubelogin_mode: Literal["azurecli", "workloadidentity", "spn", "msi"] = _setting(
        "azurecli",
        "How the Kubernetes provider logs in through kubelogin (workloadidentity in CI).",
        "workloadidentity",
    )
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image", "none"] = _setting(
        "patch", "AKS auto-upgrade channel.", "stable"
    )
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch", "Unmanaged", "None"] = _setting(
        "NodeImage", "AKS node OS upgrade channel (NodeImage with upgradeChannel node-image).", "SecurityPatch"
    )
    maintenance_day: Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] = _setting(
        "Sunday",
        "Weekday of the weekly maintenance window: AKS upgrades the cluster and node images only then "
        "(a node-image upgrade drains the nodes, Ray head included).",
        "Saturday",
    )
    maintenance_start_hour: int = Field(
        default=2,
        ge=0,
        le=23,
        description="Hour (UTC, 0-23) the weekly maintenance window starts.",
        json_schema_extra={"example": 22},
    )
    maintenance_duration_hours: int = Field(
        default=4,
        ge=4,
        le=24,
        description="Length of the weekly maintenance window in hours (AKS: 4 to 24).",
        json_schema_extra={"example": 6},
    )

    # --- Node pools ------------------------------------------------------------------------------------
    system_vm_size: str = _setting(
        "Standard_D4ds_v5",
        "VM size of the system pool (4 vCPUs or more, no B series); fixed once the cluster exists.",
        "Standard_D4ds_v5",
    )
    system_node_count: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Nodes in the system pool: AKS wants at least 2 for production; 1 is accepted with a warning.",
        json_schema_extra={"example": 2},
    )
    cpu_vm_size: str = _setting(
        "Standard_D8ds_v5", "VM size of the CPU user pool (Ray head, CPU workers).", "Standard_D16ds_v5"
    )
    cpu_min_count: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Minimum nodes of the CPU pool (the Ray head and operator live there).",
        json_schema_extra={"example": 1},
    )
    cpu_max_count: int = Field(
        default=4, ge=1, le=100, description="Maximum nodes of the CPU pool.", json_schema_extra={"example": 4}
    )
    gpu_vm_size: str = _setting(
        "Standard_NC24ads_A100_v4", "VM size of the GPU pool (an NC, ND or NV size).", "Standard_NC4as_T4_v3"
    )
    gpus_per_node: int = Field(
        default=1, ge=1, le=16, description="GPUs in one node of gpuVmSize.", json_schema_extra={"example": 1}
    )
    gpu_min_count: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Minimum GPU nodes; 0 lets the pool scale to zero when idle.",
        json_schema_extra={"example": 0},
    )
    gpu_max_count: int = Field(
        default=2, ge=1, le=100, description="Maximum GPU nodes.", json_schema_extra={"example": 2}
    )
    gpu_spot: bool = _setting(False, "Run the GPU pool on Spot VMs (evicted nodes are deleted).", True)

    # --- Blob storage ----------------------------------------------------------------------------------
    storage_account_name: str = _setting(
        "",
        "Storage account name (3-24 lowercase letters and digits, globally unique); empty: generated.",
        "rayaksdata042",
    )
    storage_sku: Literal[
        "Premium_LRS", "Premium_ZRS", "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS"
    ] = _setting(
        "Premium_LRS",
        "Storage SKU; Premium_* is a BlockBlobStorage account (low latency for BlobFuse). Standard_* "
        "<-> Premium_* needs a new account: refused while retainData protects it.",
        "Standard_ZRS",
    )
    soft_delete_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days deleted blobs and containers are kept.",
        json_schema_extra={"example": 14},
    )
    retain_data: bool = _setting(
        True,
        "Protect the storage account, its containers and their resource group, and keep them when the "
        "stack is destroyed (pulumi destroy --exclude-protected).",
        True,
    )
    storage_allowed_ip_ranges: list[str] = _setting(
        [],
        "Public IPs or CIDRs (up to /30) allowed to reach the storage account besides the node subnet.",
        ["203.0.113.0/24"],
    )
    adopt_storage_account: str = _setting(
        "",
        "Resource id of a storage account kept by an earlier destroy (retainData) to adopt, with its resource "
        "group and containers, instead of creating one (README: Destroying); empty: create the stack's own.",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ray-aks-dev-data/providers/"
        "Microsoft.Storage/storageAccounts/rayaksdev0123456789",
    )

    # --- Ray -------------------------------------------------------------------------------------------
    ray_namespace: str = _setting("ray", "Kubernetes namespace of the Ray cluster.", "ray")
    ray_service_account: str = _setting(
        "ray-workload",
        "Service account of the Ray head (federated with the managed identity; the autoscaler's Role is bound to it).",
        "ray-workload",
    )
    ray_worker_service_account: str = _setting(
        "ray-worker",
        "Service account of the Ray workers: federated with the same managed identity, no "
        "Kubernetes API token (only the head's autoscaler may change the cluster).",
        "ray-worker",
    )
    ray_cluster_name: str = _setting("ray-tune", "Name of the RayCluster resource.", "ray-tune")
    ray_image: str = _setting(
        versions.WORKLOAD_IMAGE,
        "Image of the Ray head, CPU workers and the data seed job: repository:tag in the stack's registry "
        "(built by the imageBuildCommand output); tag = Ray version.",
        versions.WORKLOAD_IMAGE,
    )
    ray_gpu_image: str = _setting(
        versions.WORKLOAD_GPU_IMAGE,
        "Image of the GPU workers: repository:tag in the stack's registry; tag = Ray version.",
        versions.WORKLOAD_GPU_IMAGE,
    )
    ray_head_cpus: int = Field(
        default=2,
        ge=1,
        le=64,
        description="CPU request and limit of the Ray head (it runs no tasks).",
        json_schema_extra={"example": 2},
    )
    ray_head_memory_gi: int = Field(
        default=8, ge=2, le=512, description="Memory (GiB) of the Ray head.", json_schema_extra={"example": 8}
    )
    cpu_worker_cpus: int = Field(
        default=6,
        ge=1,
        le=256,
        description="CPUs of one CPU worker pod (one per node; leave room for daemons).",
        json_schema_extra={"example": 6},
    )
    cpu_worker_memory_gi: int = Field(
        default=24, ge=1, le=4096, description="Memory (GiB) of one CPU worker pod.", json_schema_extra={"example": 24}
    )
    gpu_worker_cpus: int = Field(
        default=20,
        ge=1,
        le=256,
        description="CPUs of one GPU worker pod (one per GPU node).",
        json_schema_extra={"example": 20},
    )
    gpu_worker_memory_gi: int = Field(
        default=160,
        ge=1,
        le=4096,
        description="Memory (GiB) of one GPU worker pod.",
        json_schema_extra={"example": 160},
    )
    autoscaler_idle_timeout_seconds: int = Field(
        default=300,
        ge=30,
        le=86400,
        description="Seconds an idle Ray worker lives before the autoscaler removes it.",
        json_schema_extra={"example": 600},
    )
    datasets_mount_path: str = _setting(
        "/mnt/datasets", "Where the datasets container is mounted in Ray pods.", "/mnt/datasets"
    )
    results_mount_path: str = _setting(
        "/mnt/results", "Where the results container is mounted in Ray pods.", "/mnt/results"
    )

    # --- Monitoring ------------------------------------------------------------------------------------
    monitoring: bool = _setting(
        True,
        "Azure Monitor managed Prometheus, Container Insights, Managed Grafana with Ray's and a GPU "
        "dashboard, the DCGM exporter and alert rules; false leaves all of it out.",
        True,
    )
    log_retention_days: int = Field(
        default=30,
        ge=30,
        le=730,
        description="Days the Log Analytics workspace keeps container logs, events and syslog (30 to 730).",
        json_schema_extra={"example": 90},
    )
    grafana_admin_group_object_ids: list[str] = _setting(
        [],
        "Entra ID group object ids that get the Grafana Admin role on the Managed Grafana instance.",
        ["00000000-0000-0000-0000-000000000000"],
    )
    grafana_viewer_group_object_ids: list[str] = _setting(
        [],
        "Entra ID group object ids that get the Grafana Viewer role on the Managed Grafana instance.",
        ["00000000-0000-0000-0000-000000000000"],
    )

    # --- Registry and sweep ----------------------------------------------------------------------------
    registry_name: str = _setting(
        "",
        "Container registry name (5-50 letters and digits, globally unique); empty: derived from the "
        "project, stack and subscription.",
        "rayaksdev042",
    )
    registry_sku: Literal["Basic", "Standard", "Premium"] = _setting(
        "Standard", "Container registry SKU (Standard: 100 GiB, room for both workload images).", "Premium"
    )
    sweep_on_up: bool = _setting(
        False,
        "Run the sweep as a KubeRay RayJob during `pulumi up` and wait for it to end (off: submit it "
        "yourself with the jobSubmitCommand output).",
        True,
    )
    sweep_args: list[str] = _setting(
        ["--name", "mnist-sweep"],
        "Flags of `python -m workloads.tune` for the declarative sweep "
        "(--data-dir and --storage-path come from the mount paths). A change runs a new sweep.",
        ["--name", "mnist-a100", "--num-samples", "32", "--gpus-per-trial", "0.25"],
    )
    sweep_deadline_seconds: int = Field(
        default=21600,
        ge=600,
        le=604800,
        description="activeDeadlineSeconds of the sweep's RayJob: KubeRay stops it and `pulumi up` fails after this.",
        json_schema_extra={"example": 43200},
    )

    # --- Validation of single fields -------------------------------------------------------------------
    @field_validator(
        "availability_zones",
        "extra_tags",
        "api_server_authorized_ip_ranges",
        "admin_group_object_ids",
        "storage_allowed_ip_ranges",
        "grafana_admin_group_object_ids",
        "grafana_viewer_group_object_ids",
        "sweep_args",
        mode="before",
    )
    @classmethod
    def _json_list(cls, value: Any) -> Any:
        # Pulumi hands arrays to the program as JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"{value!r} is not a JSON array") from None
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9]+", value):
            raise ValueError(f"{value!r} is not an Azure region name (lowercase, no spaces)")
        return value

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, value: str) -> str:
        if not re.fullmatch(r"1\.\d{1,2}(\.\d{1,3})?", value):
            raise ValueError(
                f"{value!r} is not a Kubernetes version like {versions.KUBERNETES_VERSION} or "
                f"{versions.KUBERNETES_VERSION}.2"
            )
        return value

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        bad = [zone for zone in value if zone not in ("1", "2", "3")]
        if bad or len(set(value)) != len(value):
            raise ValueError(f'{value!r}: zones are distinct values among "1", "2", "3"')
        return value

    @field_validator("extra_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.fullmatch(r"[^=<>%&\\?/]{1,512}=[^=]{0,256}", tag):
                raise ValueError(f"{tag!r} is not key=value (key without < > % & \\ ? /)")
        return value

    @field_validator("vnet_cidr", "node_subnet_cidr", "pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str, info: Any) -> str:
        network = _network(value, info.field_name)
        if not network.is_private:
            raise ValueError(f"{value!r} is not a private range (RFC 1918)")
        if network.prefixlen > 29:
            raise ValueError(f"{value!r} is too small (a /29 at most)")
        reserved = next((r for r in AKS_RESERVED_RANGES if network.overlaps(r)), None)
        if reserved is not None:
            raise ValueError(f"{value!r} overlaps {reserved}, which AKS reserves for itself")
        # Kubernetes' service range is limited to 20 host bits; AKS refuses a /12 or larger.
        if info.field_name == "service_cidr" and network.prefixlen <= 12:
            raise ValueError(f"{value!r} is too large for Kubernetes services (smaller than a /12, e.g. a /16)")
        return value

    @field_validator("dns_service_ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 address") from None
        return value

    @field_validator("api_server_authorized_ip_ranges")
    @classmethod
    def _authorized_ranges(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(
                "[] leaves the API server without an allow-list; give the CIDRs that run pulumi and kubectl"
            )
        if len(value) > MAX_AUTHORIZED_RANGES:
            raise ValueError(
                f"{len(value)} ranges are more than AKS accepts ({MAX_AUTHORIZED_RANGES}); merge them into wider CIDRs"
            )
        for cidr in value:
            network = _network(cidr if "/" in cidr else f"{cidr}/32", "")
            if network.prefixlen == 0:
                raise ValueError(f"{cidr!r} opens the API server to the whole internet")
            for kind, ranges in _NOT_AN_INTERNET_SOURCE.items():
                if any(network.overlaps(ipaddress.IPv4Network(r)) for r in ranges):
                    raise ValueError(
                        f"{cidr!r} is {kind}: no machine reaches the API server from there; "
                        "give the public IP that runs pulumi and kubectl (curl -s https://ifconfig.me)"
                    )
        return value

    @field_validator("storage_allowed_ip_ranges")
    @classmethod
    def _storage_ranges(cls, value: list[str]) -> list[str]:
        # Storage firewall rules take public IPv4 addresses or ranges up to /30 (no /31, /32, no private).
        for cidr in value:
            network = _network(cidr if "/" in cidr else f"{cidr}/32", "")
            if "/" in cidr and network.prefixlen > 30:
                raise ValueError(f"{cidr!r}: write a single address without a prefix, or a range up to /30")
            if any(network.overlaps(private) for private in _NON_PUBLIC):
                raise ValueError(f"{cidr!r} is not a public range; storage IP rules take public addresses only")
        return value

    @field_validator("admin_group_object_ids", "grafana_admin_group_object_ids", "grafana_viewer_group_object_ids")
    @classmethod
    def _uuids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not _UUID.fullmatch(item)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not an object id (a UUID)")
        return value

    @field_validator("system_vm_size", "cpu_vm_size", "gpu_vm_size")
    @classmethod
    def _vm_size(cls, value: str) -> str:
        if not parse_vm_size(value):
            raise ValueError(f"{value!r} is not an Azure VM size name like Standard_D8ds_v5")
        return value

    @field_validator("gpu_vm_size")
    @classmethod
    def _gpu_vm_size(cls, value: str) -> str:
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

    @field_validator("system_vm_size")
    @classmethod
    def _system_vm_size(cls, value: str) -> str:
        # AKS system pools need 4 vCPUs and 4 GB or more, and no B series (articles/aks/use-system-pools.md).
        match = parse_vm_size(value)
        if match and match["family"] == "B":
            raise ValueError(f"{value!r} is a B-series size, which AKS refuses for system pools")
        if match and int(match["vcpus"]) < 4:
            raise ValueError(f"{value!r} has {match['vcpus']} vCPUs; AKS system pools need at least 4")
        return value

    @field_validator("storage_account_name")
    @classmethod
    def _account_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9]{3,24}", value):
            raise ValueError(f"{value!r} breaks Azure's rule: 3-24 characters, lowercase letters and digits only")
        return value

    @field_validator("adopt_storage_account")
    @classmethod
    def _adopt_storage_account(cls, value: str) -> str:
        if value and names.parse_storage_account_id(value) is None:
            raise ValueError(
                f"{value!r} is not a storage account resource id (/subscriptions/<id>/resourceGroups/"
                "<group>/providers/Microsoft.Storage/storageAccounts/<name>)"
            )
        return value

    @model_validator(mode="after")
    def _storage_consistent(self) -> Settings:
        adopted = names.parse_storage_account_id(self.adopt_storage_account)
        if adopted and self.storage_account_name and self.storage_account_name != adopted[2]:
            raise SettingsError(
                _line(
                    "storage_account_name",
                    self.storage_account_name,
                    f"is not the account adoptStorageAccount names ({adopted[2]}); leave it empty",
                )
            )
        return self

    @field_validator("ray_namespace", "ray_service_account", "ray_worker_service_account")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.fullmatch(value):
            raise ValueError(f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)")
        return value

    @field_validator("ray_cluster_name")
    @classmethod
    def _ray_cluster_name(cls, value: str) -> str:
        # KubeRay's ValidateRayClusterMetadata: a DNS-1035 label of at most 53 characters.
        if len(value) > 53 or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", value):
            raise ValueError(
                f"{value!r} is not a DNS-1035 label (a lowercase letter first, then letters, "
                "digits or '-') of at most 53 characters, as KubeRay requires"
            )
        return value

    @field_validator("ray_image", "ray_gpu_image")
    @classmethod
    def _ray_image(cls, value: str) -> str:
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

    @field_validator("registry_name")
    @classmethod
    def _registry_name(cls, value: str) -> str:
        # ACR: 5-50 alphanumerics (learn.microsoft.com/azure/container-registry/container-registry-get-started-portal).
        if value and not re.fullmatch(r"[a-zA-Z0-9]{5,50}", value):
            raise ValueError(f"{value!r} breaks Azure's rule: 5-50 characters, letters and digits only")
        return value

    @field_validator("sweep_args")
    @classmethod
    def _sweep_args(cls, value: list[str]) -> list[str]:
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

    @field_validator("datasets_mount_path", "results_mount_path")
    @classmethod
    def _mount_path(cls, value: str) -> str:
        if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", value) or value.startswith(("/proc", "/sys", "/dev", "/tmp")):
            raise ValueError(f"{value!r} is not an absolute path outside /proc, /sys, /dev and /tmp")
        return value

    # --- Validation across fields ----------------------------------------------------------------------
    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        errors: list[tuple[str, Any, str]] = []
        for low, high in (("cpu_min_count", "cpu_max_count"), ("gpu_min_count", "gpu_max_count")):
            if getattr(self, low) > getattr(self, high):
                errors.append((low, getattr(self, low), f"is greater than {to_camel(high)} ({getattr(self, high)})"))

        vnet, subnet = _network(self.vnet_cidr, ""), _network(self.node_subnet_cidr, "")
        pods, services = _network(self.pod_cidr, ""), _network(self.service_cidr, "")
        if not subnet.subnet_of(vnet):
            errors.append(("node_subnet_cidr", self.node_subnet_cidr, f"is not inside vnetCidr ({self.vnet_cidr})"))
        for key, network in (("pod_cidr", pods), ("service_cidr", services)):
            if network.overlaps(vnet):
                errors.append((key, str(network), f"overlaps vnetCidr ({self.vnet_cidr})"))
        if pods.overlaps(services):
            errors.append(("service_cidr", self.service_cidr, f"overlaps podCidr ({self.pod_cidr})"))
        dns = ipaddress.IPv4Address(self.dns_service_ip)
        if dns not in services or dns in (services.network_address, services.network_address + 1):
            errors.append(
                (
                    "dns_service_ip",
                    self.dns_service_ip,
                    f"is not a usable address of serviceCidr ({self.service_cidr}), the .1 is the API's",
                )
            )

        if self.deployer_principal_type == "None" and not self.admin_group_object_ids:
            errors.append(
                (
                    "deployer_principal_type",
                    self.deployer_principal_type,
                    "leaves the cluster without any admin: set adminGroupObjectIds too",
                )
            )
        if self.upgrade_channel == "node-image" and self.node_os_upgrade_channel != "NodeImage":
            # articles/aks/auto-upgrade-node-os-image.md: with node-image, the node OS channel is NodeImage.
            errors.append(
                (
                    "node_os_upgrade_channel",
                    self.node_os_upgrade_channel,
                    "cannot be combined with upgradeChannel node-image, which requires NodeImage",
                )
            )

        known_gpus = GPUS_PER_VM_SIZE.get(self.gpu_vm_size)
        if known_gpus is not None and known_gpus != self.gpus_per_node:
            errors.append(("gpus_per_node", self.gpus_per_node, f"but {self.gpu_vm_size} has {known_gpus}"))
        for key, size in (
            ("cpu_worker_cpus", self.cpu_vm_size),
            ("gpu_worker_cpus", self.gpu_vm_size),
            ("ray_head_cpus", self.cpu_vm_size),
        ):
            vcpus = vm_vcpus(size)
            if vcpus is not None and getattr(self, key) >= vcpus:
                errors.append((key, getattr(self, key), f"does not fit on {size} ({vcpus} vCPUs, some for daemons)"))

        if (
            self.datasets_mount_path == self.results_mount_path
            or self.results_mount_path.startswith(self.datasets_mount_path + "/")
            or self.datasets_mount_path.startswith(self.results_mount_path + "/")
        ):
            errors.append(
                (
                    "results_mount_path",
                    self.results_mount_path,
                    f"overlaps datasetsMountPath ({self.datasets_mount_path})",
                )
            )
        if errors:
            raise SettingsError("\n".join(_line(key, value, why) for key, value, why in errors))
        return self

    @model_validator(mode="after")
    def _ray_pods_fit_their_nodes(self) -> Settings:
        """Each Ray pod's requests (the head's with the autoscaler sidecar) fit what a node of its pool
        leaves after AKS's reservations and DaemonSets (manifests/allocatable.py); the workers run as an
        account of their own."""
        from manifests import allocatable, raycluster

        errors: list[tuple[str, Any, str]] = []
        if self.ray_worker_service_account == self.ray_service_account:
            errors.append(
                (
                    "ray_worker_service_account",
                    self.ray_worker_service_account,
                    "is the head's rayServiceAccount, whose token may patch the RayCluster",
                )
            )
        for size, pod, keys in (
            (self.cpu_vm_size, raycluster.head_requests(self), ("ray_head_cpus", "ray_head_memory_gi")),
            (self.cpu_vm_size, raycluster.cpu_worker_requests(self), ("cpu_worker_cpus", "cpu_worker_memory_gi")),
            (self.gpu_vm_size, raycluster.gpu_worker_requests(self), ("gpu_worker_cpus", "gpu_worker_memory_gi")),
        ):
            room = allocatable.room(size, vm_vcpus(size))
            if room.memory_mi is None:
                warnings.warn(
                    f"{PROJECT}: {size} is not in manifests/allocatable.VM_SIZES; {to_camel(keys[1])} is "
                    "not checked against its memory",
                    stacklevel=2,
                )
            for resource, why in allocatable.shortfall(room, *pod).items():
                key = keys[0] if resource == "cpu" else keys[1]
                errors.append((key, getattr(self, key), why))
        if errors:
            raise SettingsError("\n".join(_line(key, value, why) for key, value, why in errors))
        return self

    # --- Derived values ------------------------------------------------------------------------------
    @property
    def storage_kind(self) -> str:
        return "BlockBlobStorage" if self.storage_sku.startswith("Premium") else "StorageV2"

    @property
    def adopted_storage(self) -> tuple[str, str, str] | None:
        """(subscription, resource group, account) of the kept account to adopt, or None to create one."""
        return names.parse_storage_account_id(self.adopt_storage_account)

    def tags(self, stack: str) -> dict[str, str]:
        base = {"project": PROJECT, "stack": stack, "managed-by": "pulumi"}
        return {**base, **dict(tag.split("=", 1) for tag in self.extra_tags)}

    @property
    def workload_subject(self) -> str:
        """The service account token subject that the federated credential trusts."""
        return f"system:serviceaccount:{self.ray_namespace}:{self.ray_service_account}"


def example(field: str) -> Any:
    extra = Settings.model_fields[field].json_schema_extra
    assert isinstance(extra, dict), field  # every field is declared through _setting()
    return extra["example"]


def _line(field: str, value: Any, why: str) -> str:
    key = to_camel(field)
    shown = json.dumps(example(field)) if not isinstance(example(field), str) else example(field)
    if isinstance(example(field), list):  # the CLI stores a JSON text as a string, refused by Pulumi.yaml's array type
        return f"{PROJECT}:{key} = {_show(value)} {why}. Valid example: pulumi config set --path '{PROJECT}:{key}[0]' '{example(field)[0]}'"
    return f"{PROJECT}:{key} = {_show(value)} {why}. Valid example: pulumi config set {PROJECT}:{key} '{shown}'"


def _show(value: Any) -> str:
    """A value as the user wrote it: JSON arrays as arrays, everything else quoted."""
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.dumps(json.loads(value), separators=(",", ":"))
        except json.JSONDecodeError:
            pass
    return json.dumps(value)


def _field_of(loc: tuple) -> str | None:
    by_alias = {to_camel(name): name for name in Settings.model_fields}
    for part in loc:
        if part in Settings.model_fields:
            return part
        if part in by_alias:
            return by_alias[part]
    return None


def _minor_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def kubernetes_support(version: str, today: date) -> tuple[Literal["error", "warning"], str] | None:
    """What AKS's support calendar (versions.AKS_END_OF_LIFE) says of `version` on `today`: an error for a
    version past its end of life or older than the calendar, a warning for one close to it or newer than
    the calendar; None when it is supported."""
    minor = ".".join(version.split(".")[:2])
    calendar = versions.AKS_END_OF_LIFE
    source = f"AKS support calendar, read {versions.AKS_CALENDAR_READ}: {versions.AKS_CALENDAR_SOURCE}"
    supported = sorted((v for v, end in calendar.items() if end >= today), key=_minor_key)
    use = f"use {supported[-1]}" if supported else "re-read the calendar and move versions.KUBERNETES_VERSION"
    end = calendar.get(minor)
    if end is None:
        if _minor_key(minor) < min(map(_minor_key, calendar)):
            return "error", f"is older than every version AKS supports; {use} ({source})"
        return "warning", (
            f"Kubernetes {version} is newer than the AKS support calendar kept in versions.py; "
            f"check that AKS offers it in your region ({source})"
        )
    if today > end:
        return "error", (f"reached end of life on {end}: AKS creates no clusters or node pools on it; {use} ({source})")
    if (end - today).days <= versions.AKS_EOL_WARNING_DAYS:
        return "warning", (
            f"Kubernetes {version} reaches end of life on {end}, in {(end - today).days} days: "
            f"plan the upgrade ({use}; {source})"
        )
    return None


def advisories(settings: Settings, today: date) -> list[str]:
    """Warnings for a valid configuration: a Kubernetes version close to its end of life, a single system node."""
    found = []
    support = kubernetes_support(settings.kubernetes_version, today)
    if support and support[0] == "warning":
        found.append(support[1])
    if settings.system_node_count == 1:
        found.append(
            f"{PROJECT}:systemNodeCount = 1: a single system node has no redundancy (AKS wants at least 2 "
            "for production: articles/aks/use-system-pools.md); CoreDNS and the add-ons stop with it"
        )
    return found


def parse(config: dict[str, Any], today: date | None = None) -> Settings:
    """Validate a stack's config (keys with or without the `ray-aks:` prefix; other namespaces ignored).
    With `today`, the Kubernetes version is also checked against AKS's support calendar."""
    ours: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.rpartition(":")
        if namespace in ("", PROJECT):
            ours[name] = value
    known = {to_camel(name) for name in Settings.model_fields}
    lines = []
    for name in sorted(set(ours) - known):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {PROJECT}:{close[0]}?" if close else "see Pulumi.yaml for the settings"
        lines.append(f"{PROJECT}:{name} = {_show(ours[name])} is not a setting of this project; {hint}")
    try:
        settings = Settings.model_validate({k: v for k, v in ours.items() if k in known})
    except SettingsError as err:
        lines.append(str(err))
        settings = None
    except ValidationError as err:
        settings = None
        for error in err.errors():
            field = _field_of(error["loc"])
            if error["type"] == "value_error" and isinstance(error.get("ctx", {}).get("error"), SettingsError):
                lines.append(str(error["ctx"]["error"]))
            elif field is None:
                lines.append(error["msg"])
            else:
                raw = ours.get(to_camel(field), error.get("input"))
                lines.append(_line(field, raw, _reason(error)))
    if settings is not None and today is not None:
        support = kubernetes_support(settings.kubernetes_version, today)
        if support and support[0] == "error":
            lines.append(_line("kubernetes_version", settings.kubernetes_version, support[1]))
    if lines or settings is None:
        raise SettingsError("Invalid configuration:\n  " + "\n  ".join(lines))
    return settings


def _reason(error: Mapping[str, Any]) -> str:
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return "is wrong: " + message[len(prefix) :]
    return f"is wrong: {message[0].lower()}{message[1:]}"


# Today's date for the support calendar; the tests pin it (tests/conftest.py) so the suite never depends on it.
CLOCK: Callable[[], date] = date.today


def from_pulumi_config(today: date | None = None) -> Settings:
    """Read and validate the running stack's config; stops the program with one readable message, and
    prints the advisories as warnings of the preview."""
    import pulumi

    from pulumi_internals import config_values

    today = today or CLOCK()
    try:
        loaded = parse(config_values(), today=today)
    except SettingsError as err:
        raise pulumi.RunError(str(err)) from None
    for warning in advisories(loaded, today):
        pulumi.log.warn(warning)
    return loaded
