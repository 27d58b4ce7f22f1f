"""Properties Azure sets once, at creation, and what a change of their setting does.

AKS and ARM refuse an in-place update of these; azure-native force-news only a few of them
(pulumi/pulumi-azure-native provider/pkg/gen/replacement.go: ManagedCluster dnsPrefix, location,
networkProfile; AgentPool vmSize, gpuInstanceProfile). Each entry says how the program handles a change:

- ``replace-pool``: the AgentPool is planned for replacement (``replace_on_changes``), deleted before it is
  re-created because its name is fixed by the cluster (``delete_before_replace``).
- ``replace-cluster``: the whole cluster is planned for replacement; the preview also warns in words
  (``live_conflicts``), since every pool and every Kubernetes object on it goes with it.
- ``refuse``: the inline system pool, which Pulumi stops diffing once the cluster exists (the cluster's
  ``agentPoolProfiles`` are ignored after creation, see components/cluster.py): the preview stops with a
  message saying what the change takes.

tests/program/test_create_only.py changes each setting between two runs of the program and checks that
the change is one of the three.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic.alias_generators import to_camel

PROJECT = "ray-aks"


@dataclass(frozen=True)
class CreateOnly:
    resource: Literal["AgentPool", "ManagedCluster", "StorageAccount"]
    properties: tuple[str, ...]
    """Wire property paths, as `replace_on_changes` takes them."""
    settings: tuple[str, ...]
    """Settings fields whose change changes them (empty: fixed in the program)."""
    handling: Literal["replace-pool", "replace-cluster", "refuse"]
    source: str


TABLE: tuple[CreateOnly, ...] = (
    CreateOnly(
        "AgentPool",
        ("vmSize",),
        ("cpu_vm_size", "gpu_vm_size"),
        "replace-pool",
        "azure-native replacement.go (AgentPool vmSize); azure-aks-docs articles/aks/resize-node-pool.md",
    ),
    CreateOnly(
        "AgentPool",
        ("scaleSetPriority", "scaleSetEvictionPolicy", "spotMaxPrice"),
        ("gpu_spot",),
        "replace-pool",
        "azure-aks-docs articles/aks/spot-node-pool.md: \"You can't change ScaleSetPriority or "
        'SpotMaxPrice after creation"',
    ),
    CreateOnly(
        "AgentPool",
        ("availabilityZones",),
        ("availability_zones",),
        "replace-pool",
        "azure-aks-docs articles/aks/reliability-availability-zones-configure.md: zones can't change "
        "after a node pool is created",
    ),
    CreateOnly(
        "AgentPool",
        ("gpuProfile",),
        (),
        "replace-pool",
        "azure-aks-docs articles/aks/aks-managed-gpu-nodes.md: gpuProfile driver is immutable after node pool creation",
    ),
    CreateOnly(
        "AgentPool",
        ("osDiskType", "osDiskSizeGB"),
        ("cpu_vm_size", "gpu_vm_size"),
        "replace-pool",
        "azure-aks-docs articles/aks/concepts-storage.md: the OS disk can't change after creation",
    ),
    CreateOnly(
        "ManagedCluster",
        ("networkProfile.networkPolicy", "networkProfile.networkDataplane"),
        ("network_policy",),
        "replace-cluster",
        "azure-native replacement.go (networkProfile)",
    ),
    CreateOnly(
        "ManagedCluster",
        ("networkProfile.podCidr",),
        ("pod_cidr",),
        "replace-cluster",
        "azure-native replacement.go (networkProfile)",
    ),
    CreateOnly(
        "ManagedCluster",
        ("networkProfile.serviceCidr",),
        ("service_cidr",),
        "replace-cluster",
        "azure-native replacement.go (networkProfile); no update path in the AKS API",
    ),
    CreateOnly(
        "ManagedCluster",
        ("networkProfile.dnsServiceIP",),
        ("dns_service_ip",),
        "replace-cluster",
        "azure-native replacement.go (networkProfile); no update path in the AKS API",
    ),
    CreateOnly(
        "ManagedCluster",
        ("location",),
        ("location",),
        "replace-cluster",
        "azure-native replacement.go (ManagedCluster, ResourceGroup location)",
    ),
    CreateOnly(
        "ManagedCluster",
        ("dnsPrefix",),
        (),
        "replace-cluster",
        "azure-native replacement.go (ManagedCluster dnsPrefix); it is derived from the stack name",
    ),
    CreateOnly(
        "ManagedCluster",
        ("agentPoolProfiles[0].vmSize",),
        ("system_vm_size",),
        "refuse",
        "azure-aks-docs articles/aks/resize-node-pool.md: a pool's VM size can't change; a new system "
        "pool takes its place",
    ),
    CreateOnly(
        "ManagedCluster",
        ("agentPoolProfiles[0].availabilityZones",),
        ("availability_zones",),
        "refuse",
        "azure-aks-docs articles/aks/reliability-availability-zones-configure.md",
    ),
    CreateOnly(
        "ManagedCluster",
        ("agentPoolProfiles[0].count",),
        ("system_node_count",),
        "refuse",
        "not create-only in AKS, but ignored by Pulumi once the cluster exists (pulumi-azure-native#1532, "
        "#4264): scale it with az aks nodepool scale",
    ),
    # StorageAccount `kind` (Standard <-> Premium storageSku): handled with the storage component; its entry
    # belongs here.
)


def replace_on_changes(resource: str, handling: str) -> list[str]:
    """Every property path of `resource` handled by replacement, for its `replace_on_changes` option."""
    return [p for entry in TABLE if entry.resource == resource and entry.handling == handling for p in entry.properties]


def _line(field: str, value: Any, why: str) -> str:
    return f"{PROJECT}:{to_camel(field)} = {value!r} {why}"


def _minor(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def live_conflicts(settings: Any, live: dict) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the settings against the cluster as it runs (`live`: the ARM view of a
    ManagedCluster, camelCase, as AKS's GET returns it; empty when it does not exist yet)."""
    errors: list[str] = []
    warnings: list[str] = []
    pools = {p.get("name"): p for p in live.get("agentPoolProfiles") or []}
    system = pools.get("system")
    if system:
        if system.get("vmSize") and system["vmSize"] != settings.system_vm_size:
            errors.append(
                _line(
                    "system_vm_size",
                    settings.system_vm_size,
                    f"cannot be applied: the system pool runs {system['vmSize']} and AKS cannot resize a pool. It takes "
                    "a new system pool (az aks nodepool add --mode System --node-vm-size <size>, then az aks nodepool "
                    f"delete --name system), or the old value back: pulumi config set ray-aks:systemVmSize "
                    f"{system['vmSize']}",
                )
            )
        zones = sorted(system.get("availabilityZones") or [])
        if zones != sorted(settings.availability_zones):
            errors.append(
                _line(
                    "availability_zones",
                    settings.availability_zones,
                    f"cannot be applied to the system pool, which runs in zones {zones}: AKS fixes a pool's zones at "
                    "creation. It takes a new cluster (destroy and up), or the old value back",
                )
            )
        if system.get("count") is not None and system["count"] != settings.system_node_count:
            errors.append(
                _line(
                    "system_node_count",
                    settings.system_node_count,
                    f"is not applied by Pulumi once the cluster exists (the system pool has {system['count']}): run "
                    f"az aks nodepool scale --name system --node-count {settings.system_node_count}, then keep this "
                    "value",
                )
            )
    network = live.get("networkProfile") or {}
    for field, wire in (
        ("network_policy", "networkPolicy"),
        ("pod_cidr", "podCidr"),
        ("service_cidr", "serviceCidr"),
        ("dns_service_ip", "dnsServiceIP"),
    ):
        running = network.get(wire)
        if running is not None and running != getattr(settings, field):
            warnings.append(
                _line(
                    field,
                    getattr(settings, field),
                    f"differs from the running cluster ({running!r}): this REPLACES the AKS cluster, with every node "
                    "pool and every Kubernetes object on it (the Blob data stays). Set it back to keep the cluster",
                )
            )
    if live.get("location") and live["location"] != settings.location:
        warnings.append(
            _line(
                "location",
                settings.location,
                f"differs from the running cluster ({live['location']!r}): this REPLACES the cluster",
            )
        )
    running, wanted = _minor(live.get("currentKubernetesVersion")), _minor(settings.kubernetes_version)
    if running and wanted and running != wanted:
        if wanted < running:
            warnings.append(
                _line(
                    "kubernetes_version",
                    settings.kubernetes_version,
                    f"is older than the cluster's {live['currentKubernetesVersion']}; AKS never "
                    "downgrades. Set it to the running minor",
                )
            )
        elif settings.upgrade_channel not in ("none", "node-image"):
            warnings.append(
                _line(
                    "kubernetes_version",
                    settings.kubernetes_version,
                    f"is left to AKS while upgradeChannel is {settings.upgrade_channel} (the cluster "
                    f"runs {live['currentKubernetesVersion']}): upgrade with az aks upgrade "
                    f"--kubernetes-version {settings.kubernetes_version}",
                )
            )
    return errors, warnings
