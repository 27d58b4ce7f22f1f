"""The Ray pods' identity: a managed identity allowed onto each Blob container and nothing wider, and its
federation with the Ray service account.

Two components, because they belong at two points of the graph. `Identity` (the identity and its data
roles) needs nothing from the cluster, so the cluster waits for it: Azure RBAC data-plane grants take
minutes to be effective, and the cluster's creation (several minutes) passes before anything mounts a
container. `WorkloadFederation` needs the cluster's OIDC issuer; its `client_id` is the one Ray pods
use, and resolves only once the federated credential and every data role exist, so no pod can be
created with an identity it cannot use yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from manifests import azure, workload_identity
from settings import Settings


@dataclass(frozen=True)
class IdentityArgs:
    settings: Settings
    """Location of the identity."""
    resource_group_name: pulumi.Input[str]
    container_ids: dict[str, pulumi.Output[str]]
    """Containers the Ray pods read and write."""
    subscription_id: pulumi.Input[str]
    tags: dict[str, str]


class Identity(pulumi.ComponentResource):
    identity_name: pulumi.Output[str]
    client_id: pulumi.Output[str]
    """The identity's client id as soon as it exists (not yet usable by pods: see WorkloadFederation)."""
    principal_id: pulumi.Output[str]
    grants: list[authorization.RoleAssignment]
    """The data roles; the cluster is created after them."""

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:identity:Identity", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-ray",
            resource_group_name=args.resource_group_name,
            location=s.location,
            tags=args.tags,
            opts=child,
        )
        role = pulumi.Output.from_input(args.subscription_id).apply(
            lambda sub: azure.role_definition_id(sub, azure.STORAGE_BLOB_DATA_CONTRIBUTOR)
        )
        self.grants = [
            authorization.RoleAssignment(
                f"{name}-{container}-data",
                principal_id=identity.principal_id,
                # A new identity may not have replicated yet; the type lets Azure skip the lookup.
                principal_type="ServicePrincipal",
                role_definition_id=role,
                scope=container_id,
                opts=child,
            )
            for container, container_id in args.container_ids.items()
        ]
        self.identity_name = identity.name
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.register_outputs(
            {"identity_name": self.identity_name, "client_id": self.client_id, "principal_id": self.principal_id}
        )


@dataclass(frozen=True)
class WorkloadFederationArgs:
    settings: Settings
    """Ray namespace and service account (the federated subject)."""
    resource_group_name: pulumi.Input[str]
    identity: Identity
    """The identity the Ray service account's tokens are exchanged for."""
    oidc_issuer_url: pulumi.Input[str]
    """The AKS OIDC issuer that signs the service account's tokens."""


class WorkloadFederation(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    """The identity's client id, resolved once the federated credential and the data roles exist."""

    def __init__(self, name: str, args: WorkloadFederationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:identity:WorkloadFederation", name, None, opts)
        federation = managedidentity.FederatedIdentityCredential(
            f"{name}-ray",
            resource_group_name=args.resource_group_name,
            resource_name_=args.identity.identity_name,
            issuer=args.oidc_issuer_url,
            subject=args.settings.workload_subject,
            audiences=[azure.WORKLOAD_IDENTITY_AUDIENCE],
            # It lived in the Identity component before the cluster had to wait for the data roles.
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name="identity-ray-federation", parent=args.identity)]
            ),
        )
        # Azure writes one identity's federated credentials one at a time: a second written concurrently
        # fails with a conflict (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations,
        # "Concurrent updates aren't supported"), so the workers' waits for the head's.
        worker_federation = managedidentity.FederatedIdentityCredential(
            f"{name}-ray-worker",
            resource_group_name=args.resource_group_name,
            resource_name_=args.identity.identity_name,
            issuer=args.oidc_issuer_url,
            subject=workload_identity.subject(args.settings.ray_namespace, args.settings.ray_worker_service_account),
            audiences=[azure.WORKLOAD_IDENTITY_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[federation]),
        )
        self.client_id = pulumi.Output.all(
            args.identity.client_id, federation.id, worker_federation.id, *[grant.id for grant in args.identity.grants]
        ).apply(lambda values: values[0])
        self.register_outputs({"client_id": self.client_id})
