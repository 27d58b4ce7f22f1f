"""The AKS cluster: hardened control plane, system / CPU / GPU pools, and an Entra ID kubeconfig."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerservice, managedidentity

from manifests import azure, pools
from manifests.kubeconfig import kubelogin_kubeconfig
from settings import Settings


@dataclass(frozen=True)
class ClusterArgs:
    settings: Settings
    """The stack's validated settings (pools, network ranges, access, upgrades)."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the cluster (deleted with the stack)."""
    subnet_id: pulumi.Input[str]
    """Node subnet of every pool."""
    client_config: pulumi.Output[authorization.GetClientConfigResult]
    """Who runs `pulumi up`: becomes cluster admin."""
    tags: dict[str, str]
    monitoring: dict | None = None
    """ManagedCluster keyword arguments for managed Prometheus and Container Insights
    (Monitoring.cluster_profile, from manifests/monitoring.py); None leaves both off."""


class Cluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    """Object id of the identity the kubelet pulls images with (AKS creates it: identityProfile.kubeletidentity)."""
    kubeconfig: pulumi.Output[str]
    """Secret. A kubeconfig whose exec plugin is kubelogin in the configured login mode."""
    cpu_pool: containerservice.AgentPool
    gpu_pool: containerservice.AgentPool

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:cluster:Cluster", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subscription = args.client_config.subscription_id

        # A control-plane identity of our own, so it can be granted the subnet before the cluster exists.
        control_plane = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane", resource_group_name=args.resource_group_name, location=s.location,
            tags=args.tags, opts=child,
        )
        subnet_join = authorization.RoleAssignment(
            f"{name}-subnet-join",
            principal_id=control_plane.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=subscription.apply(lambda sub: azure.role_definition_id(sub, azure.NETWORK_CONTRIBUTOR)),
            scope=args.subnet_id,
            opts=child,
        )

        zones = s.availability_zones or None
        aks = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_group_name=args.resource_group_name,
            location=s.location,
            dns_prefix=f"{pulumi.get_project()}-{pulumi.get_stack()}"[:54],
            kubernetes_version=s.kubernetes_version,
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
            agent_pool_profiles=[{
                "name": "system",
                "mode": "System",
                "vm_size": s.system_vm_size,
                "count": s.system_node_count,
                "availability_zones": zones,
                "vnet_subnet_id": args.subnet_id,
                "os_type": "Linux",
                "type": "VirtualMachineScaleSets",
                "node_taints": [pools.taint_string(pools.SYSTEM_TAINT)],
            }],
            tags=args.tags,
            **(args.monitoring or {}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[subnet_join]),
        )

        # What both user pools share. The autoscaler owns node counts after creation: Pulumi must not reset
        # them on every `pulumi up`, so `count` is ignored once the pool exists.
        user_pool = dict(
            resource_group_name=args.resource_group_name,
            resource_name_=aks.name,
            mode="User",
            enable_auto_scaling=True,
            availability_zones=zones,
            vnet_subnet_id=args.subnet_id,
            os_type="Linux",
            type="VirtualMachineScaleSets",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["count"]),
        )
        self.cpu_pool = containerservice.AgentPool(
            f"{name}-cpu",
            agent_pool_name="cpu",
            vm_size=s.cpu_vm_size,
            count=s.cpu_min_count,
            min_count=s.cpu_min_count,
            max_count=s.cpu_max_count,
            node_labels=pools.cpu_labels(),
            **user_pool,
        )
        self.gpu_pool = containerservice.AgentPool(
            f"{name}-gpu",
            agent_pool_name="gpu",
            vm_size=s.gpu_vm_size,
            count=s.gpu_min_count,
            min_count=s.gpu_min_count,
            max_count=s.gpu_max_count,
            gpu_profile={"driver": "Install"},
            node_labels=pools.gpu_labels(),
            node_taints=[pools.taint_string(t) for t in pools.gpu_taints(s.gpu_spot)],
            **({"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}
               if s.gpu_spot else {"scale_set_priority": "Regular"}),
            **user_pool,
        )

        # Whoever runs `pulumi up` administers the cluster through Azure RBAC (local accounts are off).
        admin = authorization.RoleAssignment(
            f"{name}-admin",
            principal_id=args.client_config.object_id,
            role_definition_id=subscription.apply(lambda sub: azure.role_definition_id(sub, azure.AKS_RBAC_CLUSTER_ADMIN)),
            scope=aks.id,
            opts=child,
        )

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name, resource_name=aks.name,
        )
        # Tied to the admin role assignment so nothing talks to the API server before it may.
        user_kubeconfig = credentials.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(user_kubeconfig, admin.id).apply(
            lambda values: kubelogin_kubeconfig(values[0], s.kubelogin_mode)
        ))
        self.cluster_name = aks.name
        self.cluster_id = aks.id
        self.oidc_issuer_url = aks.oidc_issuer_profile.apply(lambda profile: profile.issuer_url)
        self.kubelet_object_id = aks.identity_profile.apply(lambda profile: profile["kubeletidentity"].object_id)
        self.register_outputs({
            "cluster_name": self.cluster_name, "cluster_id": self.cluster_id,
            "oidc_issuer_url": self.oidc_issuer_url, "kubelet_object_id": self.kubelet_object_id,
            "kubeconfig": self.kubeconfig,
        })
