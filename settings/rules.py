"""Rules across several settings: each a small function of the whole Settings that returns its problems.

A problem is (field, value, why): the snake_case field to blame, its value, and why, worded to follow
the value (settings/errors.py makes the line). The model runs STAGES in order: the problems of one
stage are listed together, and a stage runs only when the ones before it found none, so a pod that is
too big is told once, by the vCPU rule, before the allocatable memory and CPU rule.
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic.alias_generators import to_camel

from manifests import names
from manifests.vm_sizes import GPUS_PER_VM_SIZE, vm_vcpus
from settings.constants import PROJECT
from settings.networks import network

if TYPE_CHECKING:
    from settings.model import Settings

Problem = tuple[str, Any, str]
Rule = Callable[["Settings"], list[Problem]]


# --- Storage ------------------------------------------------------------------------------------------
def adopted_account_keeps_its_name(s: Settings) -> list[Problem]:
    adopted = names.parse_storage_account_id(s.adopt_storage_account)
    if adopted and s.storage_account_name and s.storage_account_name != adopted[2]:
        why = f"is not the account adoptStorageAccount names ({adopted[2]}); leave it empty"
        return [("storage_account_name", s.storage_account_name, why)]
    return []


# --- Node pools ---------------------------------------------------------------------------------------
def pool_minimums_within_maximums(s: Settings) -> list[Problem]:
    return [
        (low, getattr(s, low), f"is greater than {to_camel(high)} ({getattr(s, high)})")
        for low, high in (("cpu_min_count", "cpu_max_count"), ("gpu_min_count", "gpu_max_count"))
        if getattr(s, low) > getattr(s, high)
    ]


# --- Network ------------------------------------------------------------------------------------------
def node_subnet_inside_vnet(s: Settings) -> list[Problem]:
    if network(s.node_subnet_cidr).subnet_of(network(s.vnet_cidr)):
        return []
    return [("node_subnet_cidr", s.node_subnet_cidr, f"is not inside vnetCidr ({s.vnet_cidr})")]


def overlay_ranges_outside_vnet(s: Settings) -> list[Problem]:
    """Pods and services get addresses of their own (Azure CNI overlay), never the VNet's."""
    vnet, problems = network(s.vnet_cidr), []
    for key in ("pod_cidr", "service_cidr"):
        overlay = network(getattr(s, key))
        if overlay.overlaps(vnet):
            problems.append((key, str(overlay), f"overlaps vnetCidr ({s.vnet_cidr})"))
    return problems


def pod_and_service_ranges_apart(s: Settings) -> list[Problem]:
    if network(s.pod_cidr).overlaps(network(s.service_cidr)):
        return [("service_cidr", s.service_cidr, f"overlaps podCidr ({s.pod_cidr})")]
    return []


def dns_address_in_service_range(s: Settings) -> list[Problem]:
    services, dns = network(s.service_cidr), ipaddress.IPv4Address(s.dns_service_ip)
    if dns in services and dns not in (services.network_address, services.network_address + 1):
        return []
    why = f"is not a usable address of serviceCidr ({s.service_cidr}), the .1 is the API's"
    return [("dns_service_ip", s.dns_service_ip, why)]


# --- Access and upgrades ------------------------------------------------------------------------------
def someone_administers(s: Settings) -> list[Problem]:
    if s.deployer_principal_type == "None" and not s.admin_group_object_ids:
        why = "leaves the cluster without any admin: set adminGroupObjectIds too"
        return [("deployer_principal_type", s.deployer_principal_type, why)]
    return []


def node_image_upgrades_keep_the_node_image_channel(s: Settings) -> list[Problem]:
    # articles/aks/auto-upgrade-node-os-image.md: with node-image, the node OS channel is NodeImage.
    if s.upgrade_channel == "node-image" and s.node_os_upgrade_channel != "NodeImage":
        why = "cannot be combined with upgradeChannel node-image, which requires NodeImage"
        return [("node_os_upgrade_channel", s.node_os_upgrade_channel, why)]
    return []


# --- Ray pods on their nodes --------------------------------------------------------------------------
def gpus_per_node_match_the_size(s: Settings) -> list[Problem]:
    known = GPUS_PER_VM_SIZE.get(s.gpu_vm_size)
    if known is not None and known != s.gpus_per_node:
        return [("gpus_per_node", s.gpus_per_node, f"but {s.gpu_vm_size} has {known}")]
    return []


def ray_cpus_below_the_vcpus(s: Settings) -> list[Problem]:
    problems = []
    for key, size in (
        ("cpu_worker_cpus", s.cpu_vm_size),
        ("gpu_worker_cpus", s.gpu_vm_size),
        ("ray_head_cpus", s.cpu_vm_size),
    ):
        vcpus = vm_vcpus(size)
        if vcpus is not None and getattr(s, key) >= vcpus:
            problems.append((key, getattr(s, key), f"does not fit on {size} ({vcpus} vCPUs, some for daemons)"))
    return problems


def mount_paths_apart(s: Settings) -> list[Problem]:
    datasets, results = s.datasets_mount_path, s.results_mount_path
    if datasets == results or results.startswith(datasets + "/") or datasets.startswith(results + "/"):
        return [("results_mount_path", results, f"overlaps datasetsMountPath ({datasets})")]
    return []


def workers_have_their_own_account(s: Settings) -> list[Problem]:
    """The workers run as an account of their own: the head's token may change the cluster."""
    if s.ray_worker_service_account == s.ray_service_account:
        why = "is the head's rayServiceAccount, whose token may patch the RayCluster"
        return [("ray_worker_service_account", s.ray_worker_service_account, why)]
    return []


def ray_pods_fit_their_nodes(s: Settings) -> list[Problem]:
    """Each Ray pod's requests (the head's with the autoscaler sidecar) fit what a node of its pool
    leaves after AKS's reservations and DaemonSets (manifests/allocatable.py)."""
    from manifests import allocatable, raycluster  # they build on Settings

    problems = []
    for size, pod, keys in (
        (s.cpu_vm_size, raycluster.head_requests(s), ("ray_head_cpus", "ray_head_memory_gi")),
        (s.cpu_vm_size, raycluster.cpu_worker_requests(s), ("cpu_worker_cpus", "cpu_worker_memory_gi")),
        (s.gpu_vm_size, raycluster.gpu_worker_requests(s), ("gpu_worker_cpus", "gpu_worker_memory_gi")),
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
            problems.append((key, getattr(s, key), why))
    return problems


STAGES: tuple[tuple[Rule, ...], ...] = (
    (adopted_account_keeps_its_name,),
    (
        pool_minimums_within_maximums,
        node_subnet_inside_vnet,
        overlay_ranges_outside_vnet,
        pod_and_service_ranges_apart,
        dns_address_in_service_range,
        someone_administers,
        node_image_upgrades_keep_the_node_image_channel,
        gpus_per_node_match_the_size,
        ray_cpus_below_the_vcpus,
        mount_paths_apart,
    ),
    (workers_have_their_own_account, ray_pods_fit_their_nodes),
)
