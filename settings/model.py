"""The Settings model: every field a stack can change, declared with its type, default, description and
a valid example.

Every field is declared once more in Pulumi.yaml (type, default, description); tests/unit/test_settings.py
checks that the two agree. A field's own rule is its type (settings/types.py); rules across fields are in
settings/rules.py and run after the fields, in one model validator.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

import versions
from manifests import names
from settings import rules
from settings.constants import PROJECT
from settings.errors import SettingsError, line
from settings.networks import EXAMPLE_PUBLIC_CIDR
from settings.types import (
    AuthorizedRanges,
    AzureRegion,
    DnsLabel,
    GpuVmSize,
    Ipv4Address,
    KubernetesVersion,
    MountPath,
    ObjectIds,
    PrivateCidr,
    RayClusterName,
    RayImage,
    RegistryName,
    ServiceCidr,
    StorageAccountId,
    StorageAccountName,
    StorageIpRules,
    SweepArgs,
    SystemVmSize,
    Tags,
    VmSize,
    Zones,
)


def _setting(default: Any, description: str, example: Any, *, ge: int | None = None, le: int | None = None) -> Any:
    """A field: its default, what it does, a valid example for messages, and for numbers their range."""
    return Field(default=default, description=description, json_schema_extra={"example": example}, ge=ge, le=le)


class Settings(BaseModel):
    """What a stack can change. Field names are snake_case; config keys are their camelCase aliases."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )

    # --- Azure placement -------------------------------------------------------------------------------
    location: AzureRegion = _setting("eastus2", "Azure region for every resource.", "westeurope")
    kubernetes_version: KubernetesVersion = _setting(
        versions.KUBERNETES_VERSION,
        "AKS Kubernetes version (major.minor or major.minor.patch); checked against AKS's support calendar. "
        "With an upgradeChannel other than none, AKS moves it and Pulumi leaves it to AKS after creation.",
        versions.KUBERNETES_VERSION,
    )
    availability_zones: Zones = _setting(
        [], "Availability zones of the node pools; empty for regions or sizes without zones.", ["1", "2", "3"]
    )
    extra_tags: Tags = _setting(
        [],
        "Tags added to every Azure resource, as key=value (project, stack and managed-by are always set).",
        ["owner=ml-platform"],
    )

    # --- Network ---------------------------------------------------------------------------------------
    vnet_cidr: PrivateCidr = _setting("10.10.0.0/16", "Address space of the virtual network.", "10.10.0.0/15")
    # Changing pod/service ranges, the DNS address or the policy engine replaces the whole cluster
    # (azure-native force-news them: provider/pkg/gen/replacement.go); Pulumi.yaml says so per key.
    node_subnet_cidr: PrivateCidr = _setting(
        "10.10.0.0/22", "Node subnet, inside vnetCidr (Azure CNI overlay: nodes only).", "10.10.4.0/22"
    )
    pod_cidr: PrivateCidr = _setting(
        "192.168.0.0/16",
        "Overlay pod CIDR; must not overlap the VNet or the service CIDR. Changing it replaces the cluster.",
        "192.168.0.0/16",
    )
    service_cidr: ServiceCidr = _setting(
        "172.16.0.0/16",
        "Kubernetes service CIDR (smaller than a /12); must not overlap the VNet or the pod CIDR. Changing it "
        "replaces the cluster.",
        "172.16.0.0/16",
    )
    dns_service_ip: Ipv4Address = _setting(
        "172.16.0.10", "Cluster DNS address, inside serviceCidr. Changing it replaces the cluster.", "172.16.0.10"
    )
    network_policy: Literal["cilium", "calico", "azure"] = _setting(
        "cilium",
        "Network policy engine enforcing Kubernetes NetworkPolicies (cilium: Azure CNI powered by Cilium). "
        "Changing it replaces the cluster.",
        "calico",
    )

    # --- Cluster access and upgrades -------------------------------------------------------------------
    api_server_authorized_ip_ranges: AuthorizedRanges = _setting(
        [],
        "Public CIDRs allowed to reach the Kubernetes API server: the machines that run `pulumi up` and kubectl "
        "(the API server is never open to the internet, so this must be set; at most 200; no private or "
        "documentation ranges).",
        [EXAMPLE_PUBLIC_CIDR],
    )
    admin_group_object_ids: ObjectIds = _setting(
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
    maintenance_start_hour: int = _setting(2, "Hour (UTC, 0-23) the weekly maintenance window starts.", 22, ge=0, le=23)
    maintenance_duration_hours: int = _setting(
        4, "Length of the weekly maintenance window in hours (AKS: 4 to 24).", 6, ge=4, le=24
    )

    # --- Node pools ------------------------------------------------------------------------------------
    system_vm_size: SystemVmSize = _setting(
        "Standard_D4ds_v5",
        "VM size of the system pool (4 vCPUs or more, no B series); fixed once the cluster exists.",
        "Standard_D4ds_v5",
    )
    system_node_count: int = _setting(
        2,
        "Nodes in the system pool: AKS wants at least 2 for production; 1 is accepted with a warning.",
        2,
        ge=1,
        le=10,
    )
    cpu_vm_size: VmSize = _setting(
        "Standard_D8ds_v5", "VM size of the CPU user pool (Ray head, CPU workers).", "Standard_D16ds_v5"
    )
    cpu_min_count: int = _setting(
        1, "Minimum nodes of the CPU pool (the Ray head and operator live there).", 1, ge=1, le=100
    )
    cpu_max_count: int = _setting(4, "Maximum nodes of the CPU pool.", 4, ge=1, le=100)
    gpu_vm_size: GpuVmSize = _setting(
        "Standard_NC24ads_A100_v4", "VM size of the GPU pool (an NC, ND or NV size).", "Standard_NC4as_T4_v3"
    )
    gpus_per_node: int = _setting(1, "GPUs in one node of gpuVmSize.", 1, ge=1, le=16)
    gpu_min_count: int = _setting(0, "Minimum GPU nodes; 0 lets the pool scale to zero when idle.", 0, ge=0, le=100)
    gpu_max_count: int = _setting(2, "Maximum GPU nodes.", 2, ge=1, le=100)
    gpu_spot: bool = _setting(False, "Run the GPU pool on Spot VMs (evicted nodes are deleted).", True)

    # --- Blob storage ----------------------------------------------------------------------------------
    storage_account_name: StorageAccountName = _setting(
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
    soft_delete_days: int = _setting(7, "Days deleted blobs and containers are kept.", 14, ge=1, le=365)
    retain_data: bool = _setting(
        True,
        "Protect the storage account, its containers and their resource group, and keep them when the "
        "stack is destroyed (pulumi destroy --exclude-protected).",
        True,
    )
    storage_allowed_ip_ranges: StorageIpRules = _setting(
        [],
        "Public IPs or CIDRs (up to /30) allowed to reach the storage account besides the node subnet.",
        ["203.0.113.0/24"],
    )
    adopt_storage_account: StorageAccountId = _setting(
        "",
        "Resource id of a storage account kept by an earlier destroy (retainData) to adopt, with its resource "
        "group and containers, instead of creating one (README: Destroying); empty: create the stack's own.",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ray-aks-dev-data/providers/"
        "Microsoft.Storage/storageAccounts/rayaksdev0123456789",
    )

    # --- Ray -------------------------------------------------------------------------------------------
    ray_namespace: DnsLabel = _setting("ray", "Kubernetes namespace of the Ray cluster.", "ray")
    ray_service_account: DnsLabel = _setting(
        "ray-workload",
        "Service account of the Ray head (federated with the managed identity; the autoscaler's Role is bound to it).",
        "ray-workload",
    )
    ray_worker_service_account: DnsLabel = _setting(
        "ray-worker",
        "Service account of the Ray workers: federated with the same managed identity, no "
        "Kubernetes API token (only the head's autoscaler may change the cluster).",
        "ray-worker",
    )
    ray_cluster_name: RayClusterName = _setting("ray-tune", "Name of the RayCluster resource.", "ray-tune")
    ray_image: RayImage = _setting(
        versions.WORKLOAD_IMAGE,
        "Image of the Ray head, CPU workers and the data seed job: repository:tag in the stack's registry "
        "(built by the imageBuildCommand output); tag = Ray version.",
        versions.WORKLOAD_IMAGE,
    )
    ray_gpu_image: RayImage = _setting(
        versions.WORKLOAD_GPU_IMAGE,
        "Image of the GPU workers: repository:tag in the stack's registry; tag = Ray version.",
        versions.WORKLOAD_GPU_IMAGE,
    )
    ray_head_cpus: int = _setting(2, "CPU request and limit of the Ray head (it runs no tasks).", 2, ge=1, le=64)
    ray_head_memory_gi: int = _setting(8, "Memory (GiB) of the Ray head.", 8, ge=2, le=512)
    cpu_worker_cpus: int = _setting(
        6, "CPUs of one CPU worker pod (one per node; leave room for daemons).", 6, ge=1, le=256
    )
    cpu_worker_memory_gi: int = _setting(24, "Memory (GiB) of one CPU worker pod.", 24, ge=1, le=4096)
    gpu_worker_cpus: int = _setting(20, "CPUs of one GPU worker pod (one per GPU node).", 20, ge=1, le=256)
    gpu_worker_memory_gi: int = _setting(160, "Memory (GiB) of one GPU worker pod.", 160, ge=1, le=4096)
    autoscaler_idle_timeout_seconds: int = _setting(
        300, "Seconds an idle Ray worker lives before the autoscaler removes it.", 600, ge=30, le=86400
    )
    datasets_mount_path: MountPath = _setting(
        "/mnt/datasets", "Where the datasets container is mounted in Ray pods.", "/mnt/datasets"
    )
    results_mount_path: MountPath = _setting(
        "/mnt/results", "Where the results container is mounted in Ray pods.", "/mnt/results"
    )

    # --- Monitoring ------------------------------------------------------------------------------------
    monitoring: bool = _setting(
        True,
        "Azure Monitor managed Prometheus, Container Insights, Managed Grafana with Ray's and a GPU "
        "dashboard, the DCGM exporter and alert rules; false leaves all of it out.",
        True,
    )
    log_retention_days: int = _setting(
        30, "Days the Log Analytics workspace keeps container logs, events and syslog (30 to 730).", 90, ge=30, le=730
    )
    grafana_admin_group_object_ids: ObjectIds = _setting(
        [],
        "Entra ID group object ids that get the Grafana Admin role on the Managed Grafana instance.",
        ["00000000-0000-0000-0000-000000000000"],
    )
    grafana_viewer_group_object_ids: ObjectIds = _setting(
        [],
        "Entra ID group object ids that get the Grafana Viewer role on the Managed Grafana instance.",
        ["00000000-0000-0000-0000-000000000000"],
    )

    # --- Registry and sweep ----------------------------------------------------------------------------
    registry_name: RegistryName = _setting(
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
    sweep_args: SweepArgs = _setting(
        ["--name", "mnist-sweep"],
        "Flags of `python -m workloads.tune` for the declarative sweep "
        "(--data-dir and --storage-path come from the mount paths). A change runs a new sweep.",
        ["--name", "mnist-a100", "--num-samples", "32", "--gpus-per-trial", "0.25"],
    )
    sweep_deadline_seconds: int = _setting(
        21600,
        "activeDeadlineSeconds of the sweep's RayJob: KubeRay stops it and `pulumi up` fails after this.",
        43200,
        ge=600,
        le=604800,
    )

    # --- Validation across fields ----------------------------------------------------------------------
    @model_validator(mode="after")
    def _rules(self) -> Settings:
        for stage in rules.STAGES:
            problems = [problem for rule in stage for problem in rule(self)]
            if problems:
                raise SettingsError(
                    "\n".join(line(field, value, why, example(field)) for field, value, why in problems)
                )
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
    """The valid example of a field (snake_case), as messages show it."""
    extra = Settings.model_fields[field].json_schema_extra
    assert isinstance(extra, dict), field  # every field is declared through _setting()
    return extra["example"]
