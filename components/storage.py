"""Blob storage for datasets and results: keyless, firewalled, and kept when the stack is destroyed."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources, storage

from settings import DATASETS_CONTAINER, RESULTS_CONTAINER, Settings


@dataclass(frozen=True)
class StorageArgs:
    settings: Settings
    """SKU, soft delete, retention, allowed IP ranges, account name."""
    subnet_id: pulumi.Input[str]
    """The node subnet: the only network admitted besides the allowed IP ranges."""
    tags: dict[str, str]


class Storage(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    container_ids: dict[str, pulumi.Output[str]]
    """Container name → resource id, for role assignments scoped to one container."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:storage:Storage", name, None, opts)
        s = args.settings
        # retainOnDelete: `pulumi destroy` forgets these but leaves them in Azure (README: deleting data).
        # The data has its own resource group, since deleting the cluster's group would take the account along.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=s.retain_data)

        group = resources.ResourceGroup(f"{name}-rg", location=s.location, tags=args.tags, opts=kept)
        account = storage.StorageAccount(
            f"{name}-account",
            **({"account_name": s.storage_account_name} if s.storage_account_name else {}),
            resource_group_name=group.name,
            location=s.location,
            kind=s.storage_kind,
            sku={"name": s.storage_sku},
            # No keys: every client (BlobFuse included) authenticates with Entra ID.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            network_rule_set={
                "default_action": "Deny",
                "bypass": "AzureServices",
                "virtual_network_rules": [{"virtual_network_resource_id": args.subnet_id, "action": "Allow"}],
                "ip_rules": [{"i_p_address_or_range": ip, "action": "Allow"} for ip in s.storage_allowed_ip_ranges],
            },
            tags=args.tags,
            opts=kept,
        )
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=group.name,
            blob_services_name="default",
            delete_retention_policy={"enabled": True, "days": s.soft_delete_days},
            container_delete_retention_policy={"enabled": True, "days": s.soft_delete_days},
            # Versioning stays off: every BlobFuse flush of a checkpoint would become a billed version.
            is_versioning_enabled=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        containers = {
            container: storage.BlobContainer(
                f"{name}-{container}",
                account_name=account.name,
                resource_group_name=group.name,
                container_name=container,
                public_access="None",
                opts=kept,
            )
            for container in (DATASETS_CONTAINER, RESULTS_CONTAINER)
        }
        self.resource_group_name = group.name
        self.account_name = account.name
        self.account_id = account.id
        self.container_ids = {container: resource.id for container, resource in containers.items()}
        self.register_outputs({
            "resource_group_name": self.resource_group_name, "account_name": self.account_name,
            "container_ids": self.container_ids,
        })
