"""AKS: Entra ID only, workload identity, network policies, auto-upgrade, a restricted API server, and GPU
pools that scale to zero."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from manifests.vm_sizes import is_gpu_vm_size
from policy.resource_types import (
    MANAGED_CLUSTER,
)
from policy.values import MISSING, UNKNOWN, is_unknown, lookup, number, require, show


def aks_workload_identity(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    why = "Ray pods reach Blob storage as a managed identity through the cluster's OIDC issuer and the Blob CSI driver."
    return [
        *require(props, "oidcIssuerProfile.enabled", [True], why),
        *require(props, "securityProfile.workloadIdentity.enabled", [True], why),
        *require(props, "storageProfile.blobCSIDriver.enabled", [True], why),
    ]


def aks_entra_id_only(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    why = "Cluster access goes through Entra ID and Azure RBAC only; local accounts are shared static credentials."
    messages = [
        *require(props, "disableLocalAccounts", [True], why),
        *require(props, "aadProfile.managed", [True], why),
        *require(props, "aadProfile.enableAzureRBAC", [True], why),
    ]
    if lookup(props, "enableRBAC") is False:
        messages.append("enableRBAC is False; Kubernetes RBAC must stay on.")
    return messages


_NETWORK_POLICY_ENGINES = ("azure", "calico", "cilium")


def aks_network_policy(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(
        props,
        "networkProfile.networkPolicy",
        _NETWORK_POLICY_ENGINES,
        "Without an engine, the Ray namespace's NetworkPolicies are not enforced "
        "(ray-aks: pulumi config set ray-aks:networkPolicy cilium).",
    )


def aks_auto_upgrade(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    channel = lookup(props, "autoUpgradeProfile.upgradeChannel", MISSING)
    messages = []
    if channel is MISSING or channel == "none":
        messages.append(
            f"autoUpgradeProfile.upgradeChannel is {'not set' if channel is MISSING else repr(channel)}; choose "
            "'patch', 'stable', 'rapid' or 'node-image' so the cluster gets security fixes "
            "(ray-aks: pulumi config set ray-aks:upgradeChannel patch)."
        )
    if channel != "node-image":  # node-image already upgrades the node OS
        messages += require(
            props,
            "autoUpgradeProfile.nodeOSUpgradeChannel",
            ["NodeImage", "SecurityPatch"],
            "Nodes must get OS security patches (ray-aks: pulumi config set ray-aks:nodeOsUpgradeChannel NodeImage).",
        )
    return messages


def aks_api_server_restricted(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    if lookup(props, "apiServerAccessProfile.enablePrivateCluster") in (True, UNKNOWN):
        return []
    ranges = lookup(props, "apiServerAccessProfile.authorizedIPRanges")
    if ranges is UNKNOWN:
        return []
    fix = (
        "Set apiServerAccessProfile.authorizedIPRanges to the CIDRs that run pulumi and kubectl, or make the "
        "cluster private (ray-aks: pulumi config set --path 'ray-aks:apiServerAuthorizedIpRanges[0]' "
        '"$(curl -s https://ifconfig.me)/32").'
    )
    if not ranges:
        return [f"The API server is reachable from the whole internet (no authorized IP ranges). {fix}"]
    open_ranges = [cidr for cidr in ranges if not is_unknown(cidr) and _is_whole_internet(str(cidr))]
    if open_ranges:
        return [f"apiServerAccessProfile.authorizedIPRanges contains {open_ranges}, the whole internet. {fix}"]
    return []


def _is_whole_internet(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


# --- GPU pools (the GPU size rule is manifests/vm_sizes.py, shared with the settings) -------------------
DEFAULT_MAX_GPU_NODES = 8


def gpu_pool_autoscales_from_zero(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    max_nodes = config.get("maxNodes", DEFAULT_MAX_GPU_NODES)
    if resource_type == MANAGED_CLUSTER:
        pools = lookup(props, "agentPoolProfiles", [])
        if pools is UNKNOWN:
            return []
        return [
            f"agentPoolProfiles[{pool.get('name', i)!r}]: {message}"
            for i, pool in enumerate(pools)
            if isinstance(pool, Mapping)
            for message in _gpu_pool(pool, max_nodes)
        ]
    return _gpu_pool(props, max_nodes)


def _gpu_pool(pool: Mapping, max_nodes: int) -> list[str]:
    size = lookup(pool, "vmSize")
    if not isinstance(size, str) or not is_gpu_vm_size(size):
        return []
    messages = []
    if lookup(pool, "mode") == "System":
        messages.append(f"{size} is a GPU size in a System pool, which can't scale to zero; put GPUs in a User pool.")
    messages += require(pool, "enableAutoScaling", [True], f"A {size} pool must scale with demand.")
    minimum, maximum = lookup(pool, "minCount"), lookup(pool, "maxCount")
    if minimum is not UNKNOWN and number(minimum) != 0:
        messages.append(
            f"minCount is {show(minimum)}; a {size} pool must scale to 0 when idle "
            "(ray-aks: pulumi config set ray-aks:gpuMinCount 0)."
        )
    highest = number(maximum)
    if maximum is not UNKNOWN and (highest is None or highest > max_nodes):
        messages.append(
            f"maxCount is {show(maximum)}; at most {show(max_nodes)} GPU nodes are allowed (policy "
            f"config maxNodes; ray-aks: pulumi config set ray-aks:gpuMaxCount {show(min(2, max_nodes))})."
        )
    return messages
