"""The Ray pods' identity: a managed identity federated with the Ray head's and the Ray workers' service
accounts, allowed onto each Blob container and nothing wider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from manifests import azure, workload_identity
from settings import Settings


@dataclass(frozen=True)
class IdentityArgs:
    settings: Settings
    """Ray namespace and the two service accounts (the federated subjects)."""
    resource_group_name: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    """The AKS OIDC issuer that signs the service account's tokens."""
    container_ids: dict[str, pulumi.Output[str]]
    """Containers the Ray pods read and write."""
    subscription_id: pulumi.Input[str]
    tags: dict[str, str]


class Identity(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:identity:Identity", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-ray", resource_group_name=args.resource_group_name, location=s.location, tags=args.tags,
            opts=child,
        )
        head_federation = managedidentity.FederatedIdentityCredential(
            f"{name}-ray-federation",
            resource_group_name=args.resource_group_name,
            resource_name_=identity.name,
            issuer=args.oidc_issuer_url,
            subject=s.workload_subject,
            audiences=[azure.WORKLOAD_IDENTITY_AUDIENCE],
            opts=child,
        )
        # Azure writes one identity's federated credentials one at a time: a second written concurrently
        # fails with a conflict (learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations,
        # "Concurrent updates aren't supported"), so the workers' waits for the head's.
        managedidentity.FederatedIdentityCredential(
            f"{name}-ray-worker-federation",
            resource_group_name=args.resource_group_name,
            resource_name_=identity.name,
            issuer=args.oidc_issuer_url,
            subject=workload_identity.subject(s.ray_namespace, s.ray_worker_service_account),
            audiences=[azure.WORKLOAD_IDENTITY_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[head_federation]),
        )
        role = pulumi.Output.from_input(args.subscription_id).apply(
            lambda sub: azure.role_definition_id(sub, azure.STORAGE_BLOB_DATA_CONTRIBUTOR))
        for container, container_id in args.container_ids.items():
            authorization.RoleAssignment(
                f"{name}-{container}-data",
                principal_id=identity.principal_id,
                # A new identity may not have replicated yet; the type lets Azure skip the lookup.
                principal_type="ServicePrincipal",
                role_definition_id=role,
                scope=container_id,
                opts=child,
            )
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.register_outputs({"client_id": self.client_id, "principal_id": self.principal_id})
