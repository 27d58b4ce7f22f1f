"""The AKS cluster: hardened control plane, system / CPU / GPU pools, maintenance windows, the admin
grants, and an Entra ID kubeconfig.

Ordering is what makes the first `pulumi up` work without a rerun:
- Every admin grant (Azure Kubernetes Service RBAC Cluster Admin) is made on the cluster's resource group
  before the cluster exists, and the cluster waits for it: AKS says new Azure RBAC assignments take up to
  five minutes to be effective (azure-aks-docs articles/aks/entra-id-authorization.md), and creating the
  cluster takes longer than that. The kubeconfig, and so every Kubernetes resource, waits for the cluster.
- The control plane's Network Contributor on the subnet and the Ray identity's data roles also precede
  the cluster (`before`).
- AKS runs one agent-pool operation per cluster at a time (409 OperationNotAllowed): the GPU pool waits for
  the CPU pool, and the maintenance configurations for the GPU pool, on create and on every update.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import authorization, containerservice, managedidentity

from manifests import azure, create_only, pools
from manifests.kubeconfig import kubelogin_kubeconfig
from settings import Settings

# Channels that move the Kubernetes version itself; under them the version is AKS's after creation, or the
# next PUT would ask for the version it had (a downgrade, which AKS refuses).
_VERSION_MOVING_CHANNELS = ("patch", "stable", "rapid")


@dataclass(frozen=True)
class ClusterArgs:
    settings: Settings
    """The stack's validated settings (pools, network ranges, access, upgrades)."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the cluster (deleted with the stack)."""
    resource_group_id: pulumi.Input[str]
    """Scope of the admin grants: it exists before the cluster, so they can propagate while it is created."""
    subnet_id: pulumi.Input[str]
    """Node subnet of every pool."""
    client_config: Any
    """Who runs `pulumi up` (authorization.get_client_config(): plain values, known at preview)."""
    tags: dict[str, str]
    before: list[pulumi.Resource] = field(default_factory=list)
    """Grants the cluster waits for, so they have its creation time to propagate (the Ray identity's)."""
    monitoring: dict | None = None
    """ManagedCluster keyword arguments for managed Prometheus and Container Insights
    (Monitoring.cluster_profile, from manifests/monitoring.py); None leaves both off."""


def live_view(cluster: Any) -> dict:
    """The ARM view (camelCase) of what getManagedCluster returns, for manifests.create_only.live_conflicts."""
    if cluster is None or not getattr(cluster, "id", None):
        return {}
    network = cluster.network_profile
    return {
        "location": cluster.location,
        "currentKubernetesVersion": cluster.current_kubernetes_version,
        "agentPoolProfiles": [
            {
                "name": p.name,
                "vmSize": p.vm_size,
                "count": p.count,
                "availabilityZones": list(p.availability_zones or []),
            }
            for p in cluster.agent_pool_profiles or []
        ],
        "networkProfile": {}
        if network is None
        else {
            "networkPolicy": network.network_policy,
            "podCidr": network.pod_cidr,
            "serviceCidr": network.service_cidr,
            "dnsServiceIP": network.dns_service_ip,
        },
    }


def _checked(settings: Settings, live: dict) -> dict:
    """Stops the preview on a change AKS would refuse; warns of one that replaces the cluster."""
    errors, warnings = create_only.live_conflicts(settings, live)
    for warning in warnings:
        pulumi.log.warn(warning)
    if errors:
        raise pulumi.RunError("Configuration the running cluster cannot take:\n  " + "\n  ".join(errors))
    return live


def _live_count(live: dict, pool: str) -> int | None:
    return next((p["count"] for p in live.get("agentPoolProfiles", []) if p["name"] == pool), None)


class Cluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    """Object id of the identity the kubelet pulls images with (AKS creates it: identityProfile.kubeletidentity)."""
    kubeconfig: pulumi.Output[str]
    """Secret. A kubeconfig whose exec plugin is kubelogin in the configured login mode."""
    admin_grants: list[authorization.RoleAssignment]
    cpu_pool: containerservice.AgentPool
    gpu_pool: containerservice.AgentPool

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:cluster:Cluster", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subscription = args.client_config.subscription_id

        # A control-plane identity of our own, so it can be granted the subnet before the cluster exists.
        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_group_name=args.resource_group_name,
            location=s.location,
            tags=args.tags,
            opts=child,
        )
        subnet_join = authorization.RoleAssignment(
            f"{name}-subnet-join",
            principal_id=control_plane.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=azure.role_definition_id(subscription, azure.NETWORK_CONTRIBUTOR),
            scope=args.subnet_id,
            opts=child,
        )

        # Cluster admins through Azure RBAC (local accounts are off), on the resource group: groups (the
        # recommended way) and, unless deployerPrincipalType is None, the identity running `pulumi up`.
        # Each principal has a grant of its own, named after it: principalId is force-new, so one grant
        # following "whoever runs up" would revoke the previous admin on every change of caller. A
        # deployer's grant is retained when another identity runs `up` (Pulumi forgets it, Azure keeps it).
        admin_role = azure.role_definition_id(subscription, azure.AKS_RBAC_CLUSTER_ADMIN)
        admins = [(group, "Group", False) for group in s.admin_group_object_ids]
        if s.deployer_principal_type != "None":
            admins.append((args.client_config.object_id, s.deployer_principal_type, True))
        self.admin_grants = [
            authorization.RoleAssignment(
                f"{name}-admin-{principal}",
                principal_id=principal,
                principal_type=principal_type,
                role_definition_id=admin_role,
                scope=args.resource_group_id,
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retained),
            )
            for principal, principal_type, retained in admins
        ]

        zones = s.availability_zones or None
        aks = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_group_name=args.resource_group_name,
            location=s.location,
            dns_prefix=azure.dns_prefix(pulumi.get_project(), pulumi.get_stack()),
            kubernetes_version=s.kubernetes_version,
            sku={"name": "Base", "tier": s.cluster_sku_tier},
            # Premium includes long-term support, which AKS wants named (articles/aks/long-term-support.md).
            support_plan="AKSLongTermSupport" if s.cluster_sku_tier == "Premium" else "KubernetesOfficial",
            identity={"type": "UserAssigned", "user_assigned_identities": [control_plane.id]},
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile={
                "managed": True,
                "enable_azure_rbac": True,
                "tenant_id": args.client_config.tenant_id,
                "admin_group_object_ids": s.admin_group_object_ids,
            },
            api_server_access_profile={"authorized_ip_ranges": s.api_server_authorized_ip_ranges},
            auto_upgrade_profile={
                "upgrade_channel": s.upgrade_channel,
                "node_os_upgrade_channel": s.node_os_upgrade_channel,
            },
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            storage_profile={"blob_csi_driver": {"enabled": True}},
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                # Cilium enforces NetworkPolicies only as the dataplane (Azure CNI powered by Cilium).
                "network_dataplane": "cilium" if s.network_policy == "cilium" else "azure",
                "network_policy": s.network_policy,
                "pod_cidr": s.pod_cidr,
                "service_cidr": s.service_cidr,
                "dns_service_ip": s.dns_service_ip,
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            # AKS needs one system pool inline at creation; afterwards AKS's GET lists every pool here and a
            # refresh copies them into the inputs (pulumi-azure-native#1532, #4264), so the property is
            # ignored once the cluster exists and the system pool's fixed settings are checked against the
            # running cluster instead (manifests/create_only.py).
            agent_pool_profiles=[
                {
                    "name": "system",
                    "mode": "System",
                    "vm_size": s.system_vm_size,
                    "count": s.system_node_count,
                    "availability_zones": zones,
                    "vnet_subnet_id": args.subnet_id,
                    "os_type": "Linux",
                    "type": "VirtualMachineScaleSets",
                    "node_taints": [pools.taint_string(pools.SYSTEM_TAINT)],
                    **pools.os_disk(s.system_vm_size),
                }
            ],
            tags=args.tags,
            **(args.monitoring or {}),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[subnet_join, *self.admin_grants, *args.before],
                ignore_changes=[
                    "agentPoolProfiles",
                    *(["kubernetesVersion"] if s.upgrade_channel in _VERSION_MOVING_CHANNELS else []),
                ],
                replace_on_changes=create_only.replace_on_changes("ManagedCluster", "replace-cluster"),
            ),
        )

        # The cluster as it runs (nothing before it exists): the settings AKS would refuse stop the preview
        # here, and the pools' counts follow the live ones.
        live = containerservice.get_managed_cluster_output(
            resource_group_name=args.resource_group_name,
            resource_name=aks.name,
        ).apply(lambda cluster: _checked(s, live_view(cluster)))

        def user_pool(pool: str, vm_size: str, low: int, high: int, after: list[pulumi.Resource]) -> dict:
            return dict(
                resource_group_name=args.resource_group_name,
                resource_name_=aks.name,
                agent_pool_name=pool,
                mode="User",
                vm_size=vm_size,
                enable_auto_scaling=True,
                min_count=low,
                max_count=high,
                # The autoscaler owns the node count; a count frozen at creation would make AKS refuse a
                # later change of the bounds, so the live one is sent, kept inside them.
                count=live.apply(lambda view: pools.autoscaled_count(_live_count(view, pool), low, high)),
                availability_zones=zones,
                vnet_subnet_id=args.subnet_id,
                os_type="Linux",
                type="VirtualMachineScaleSets",
                **pools.os_disk(vm_size),
                tags=args.tags,
                # A pool's name is fixed within the cluster: a replacement deletes the old pool first.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=after,
                    delete_before_replace=True,
                    replace_on_changes=create_only.replace_on_changes("AgentPool", "replace-pool"),
                ),
            )

        self.cpu_pool = containerservice.AgentPool(
            f"{name}-cpu",
            node_labels=pools.cpu_labels(),
            **user_pool("cpu", s.cpu_vm_size, s.cpu_min_count, s.cpu_max_count, []),
        )
        self.gpu_pool = containerservice.AgentPool(
            f"{name}-gpu",
            gpu_profile={"driver": "Install"},
            node_labels=pools.gpu_labels(),
            node_taints=[pools.taint_string(t) for t in pools.gpu_taints(s.gpu_spot)],
            **(
                {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}
                if s.gpu_spot
                else {"scale_set_priority": "Regular"}
            ),
            **user_pool("gpu", s.gpu_vm_size, s.gpu_min_count, s.gpu_max_count, [self.cpu_pool]),
        )

        # Maintenance windows: AKS upgrades the cluster and node images only inside them, so an upgrade
        # draining the Ray head happens at a known time (articles/aks/planned-maintenance.md).
        window = azure.maintenance_window(s.maintenance_day, s.maintenance_start_hour, s.maintenance_duration_hours)
        schedules = []
        if s.upgrade_channel != "none":
            schedules.append(("auto-upgrade-window", azure.AUTO_UPGRADE_SCHEDULE))
        if s.node_os_upgrade_channel in ("NodeImage", "SecurityPatch"):
            schedules.append(("node-os-window", azure.NODE_OS_UPGRADE_SCHEDULE))
        previous: pulumi.Resource = self.gpu_pool
        for suffix, config_name in schedules:
            previous = containerservice.MaintenanceConfiguration(
                f"{name}-{suffix}",
                resource_group_name=args.resource_group_name,
                resource_name_=aks.name,
                config_name=config_name,
                maintenance_window=window,
                # After the pools, so AKS never sees two operations on the cluster at once.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
            )

        # format=exec: the kubelogin exec plugin, rewritten below to log in without a person at the keyboard.
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=aks.name,
            format="exec",
        )
        user_kubeconfig = credentials.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())
        # Tied to the admin grants too, so nothing talks to the API server before it may.
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(user_kubeconfig, *[grant.id for grant in self.admin_grants]).apply(
                lambda values: kubelogin_kubeconfig(values[0], s.kubelogin_mode)
            )
        )
        self.cluster_name = aks.name
        self.cluster_id = aks.id
        self.oidc_issuer_url = aks.oidc_issuer_profile.apply(lambda profile: profile.issuer_url)
        self.kubelet_object_id = aks.identity_profile.apply(lambda profile: profile["kubeletidentity"].object_id)
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "oidc_issuer_url": self.oidc_issuer_url,
                "kubelet_object_id": self.kubelet_object_id,
                "kubeconfig": self.kubeconfig,
            }
        )
