"""The Ray cluster: its two service accounts (the managed identity's Kubernetes faces: the head's, which
KubeRay gives the autoscaler's Role, and the workers', without an API token), the Blob volumes, the
NetworkPolicies, the head's PodDisruptionBudget and the RayCluster itself, which Pulumi waits on until the
head is ready."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import fields
from manifests import network_policy, raycluster, registry, volumes, workload_identity
from settings import Settings


@dataclass(frozen=True)
class RayClusterArgs:
    settings: Settings
    """Ray namespace, service accounts, cluster name, images, sizes, scaling, mount paths."""
    namespace: pulumi.Resource
    """The Ray namespace (KubeRay.ray_namespace_resource): everything namespaced here waits for it."""
    operator: pulumi.Resource
    """The KubeRay chart (CRDs and a ready operator): the RayCluster waits for it."""
    operator_namespace: str
    """Where the operator runs (KubeRay.operator_namespace): the only namespace let in to heads' dashboards."""
    gpu_pool: pulumi.Resource
    """The GPU node pool GPU workers are scheduled on."""
    device_plugin: pulumi.Resource
    """The NVIDIA device plugin chart: without it GPU workers never find `nvidia.com/gpu`."""
    storage_resource_group: pulumi.Input[str]
    """Resource group of the storage account."""
    storage_account: pulumi.Input[str]
    """Storage account holding the datasets and results containers."""
    identity_client_id: pulumi.Input[str]
    """Client id of the managed identity federated with both service accounts and granted the containers."""
    tenant_id: pulumi.Input[str]
    """Entra ID tenant of that identity."""
    image_registry: pulumi.Input[str]
    """The stack's registry login server: every Ray container's image is pulled from there."""
    registry: pulumi.Resource
    """The registry component (its kubelet AcrPull role): Ray pods start only once nodes may pull."""


class RayCluster(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    head_service: pulumi.Output[str]
    """The head's Service, ClusterIP only: reach it with `kubectl port-forward`."""
    auth_secret: pulumi.Output[str]
    """The Secret KubeRay keeps the auth token in (key `auth_token`)."""

    def __init__(self, name: str, args: RayClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:ray:RayCluster", name, None, opts)
        s = args.settings
        ns = s.ray_namespace
        manifest = raycluster.raycluster_manifest(s)
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[args.namespace])

        ids = pulumi.Output.all(args.identity_client_id, args.tenant_id)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            **fields(
                ids.apply(lambda i: workload_identity.service_account(s.ray_service_account, ns, *i)), ("metadata",)
            ),
            opts=in_namespace,
        )
        worker_account = k8s.core.v1.ServiceAccount(
            f"{name}-worker-service-account",
            **fields(
                ids.apply(
                    lambda i: workload_identity.service_account(
                        s.ray_worker_service_account, ns, *i, automount_token=False
                    )
                ),
                ("metadata", "automountServiceAccountToken"),
            ),
            opts=in_namespace,
        )

        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-storage-class", **fields(volumes.storage_class()), opts=pulumi.ResourceOptions(parent=self)
        )
        azure_ids = pulumi.Output.all(
            resource_group=args.storage_resource_group, account=args.storage_account, client_id=args.identity_client_id
        )
        claims = []
        for volume in volumes.blob_volumes(s):
            pv = k8s.core.v1.PersistentVolume(
                f"{name}-{volume.container}-pv",
                **fields(
                    azure_ids.apply(functools.partial(_persistent_volume, volume, ns)),
                    ("metadata", "spec"),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[storage_class]),
            )
            claims.append(
                k8s.core.v1.PersistentVolumeClaim(
                    f"{name}-{volume.container}-pvc",
                    **fields(volumes.persistent_volume_claim(volume, ns)),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespace, pv]),
                )
            )

        policies = [
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", **fields(policy), opts=in_namespace)
            for policy in network_policy.ray_network_policies(ns, args.operator_namespace)
        ]
        disruption = raycluster.head_disruption_budget(s)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-head-disruption-budget", **fields(disruption), opts=in_namespace)

        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=pulumi.Output.from_input(args.image_registry).apply(
                lambda server: registry.in_registry(manifest, server)["spec"]
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    args.operator,
                    args.gpu_pool,
                    args.device_plugin,
                    account,
                    worker_account,
                    *claims,
                    *policies,
                    args.registry,
                ],
            ),
        )
        # Names from settings, known at preview; KubeRay derives the Service's and the Secret's from them.
        self.namespace = pulumi.Output.from_input(ns)
        self.cluster_name = pulumi.Output.from_input(manifest["metadata"]["name"])
        self.head_service = self.cluster_name.apply(raycluster.head_service_name)
        self.auth_secret = self.cluster_name.apply(raycluster.auth_secret_name)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "cluster_name": self.cluster_name,
                "head_service": self.head_service,
                "auth_secret": self.auth_secret,
            }
        )


def _persistent_volume(volume: volumes.BlobVolume, namespace: str, ids: dict[str, Any]) -> dict:
    return volumes.persistent_volume(volume, namespace=namespace, **ids)
