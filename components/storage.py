"""Blob storage for datasets and results: keyless, firewalled, kept and protected when the stack is destroyed."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources, storage

from manifests import names
from settings import DATASETS_CONTAINER, RESULTS_CONTAINER, Settings


@dataclass(frozen=True)
class StorageArgs:
    settings: Settings
    """SKU, soft delete, retention, allowed IP ranges, account name, the kept account to adopt."""
    subnet_id: pulumi.Input[str]
    """The node subnet: the only network admitted besides the allowed IP ranges."""
    tags: dict[str, str]
    subscription_id: pulumi.Input[str] = ""
    """The deployment's subscription: part of the generated account name, so it is globally unlikely."""


class Storage(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    container_ids: dict[str, pulumi.Output[str]]
    """Container name → resource id, for role assignments scoped to one container."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:storage:Storage", name, None, opts)
        s = args.settings
        project, stack = pulumi.get_project(), pulumi.get_stack()
        adopted = s.adopted_storage
        # Names are derived, never autonamed, so a new cluster finds the kept data (manifests/names.py);
        # adoptStorageAccount names data a destroyed stack left behind.
        if adopted:
            _, group_name, account_name = adopted
            account_name_input: pulumi.Input[str] = account_name
        else:
            group_name = names.data_resource_group_name(project, stack)
            account_name_input = s.storage_account_name or pulumi.Output.from_input(args.subscription_id).apply(
                lambda subscription: names.storage_account_name(project, stack, subscription)
            )

        def kept(import_id: str | None = None, **more) -> pulumi.ResourceOptions:
            # retainOnDelete: a destroy leaves the data in Azure. protect: a plain `pulumi destroy` stops
            # before touching it (`pulumi destroy --exclude-protected` removes the rest; README: Destroying).
            # import_: azure-native refuses to create what exists (provider.go defaultCreate → CanCreate),
            # so kept data is adopted; the engine imports, then updates it to these inputs.
            return pulumi.ResourceOptions(
                parent=self, retain_on_delete=s.retain_data, protect=s.retain_data, import_=import_id, **more
            )

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=group_name,
            location=s.location,
            tags=args.tags,
            opts=kept(names.resource_group_id(adopted[0], group_name) if adopted else None),
        )
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=account_name_input,
            resource_group_name=group.name,
            location=s.location,
            # StorageV2 <-> BlockBlobStorage (Standard_* <-> Premium_*) is a new account: ARM cannot change
            # `kind` in place and azure-native does not force-new it (provider/pkg/gen/replacement.go).
            # replaceOnChanges plans the replacement; protected (retainData) Pulumi refuses it, unprotected
            # the account goes first since its name is fixed and global.
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
                # Always this stack's node subnet: a reattached account drops the deleted cluster's rule.
                "virtual_network_rules": [{"virtual_network_resource_id": args.subnet_id, "action": "Allow"}],
                "ip_rules": [{"i_p_address_or_range": ip, "action": "Allow"} for ip in s.storage_allowed_ip_ranges],
            },
            tags=args.tags,
            opts=kept(s.adopt_storage_account or None, replace_on_changes=["kind"], delete_before_replace=True),
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
            # A singleton ARM creates with the account: a PUT configures it, no import needed.
            opts=pulumi.ResourceOptions(parent=self, replace_with=[account]),
        )
        containers = {
            container: storage.BlobContainer(
                f"{name}-{container}",
                account_name=account.name,
                resource_group_name=group.name,
                container_name=container,
                public_access="None",
                opts=kept(
                    names.container_id(s.adopt_storage_account, container) if adopted else None, replace_with=[account]
                ),
            )
            for container in (DATASETS_CONTAINER, RESULTS_CONTAINER)
        }
        self.resource_group_name = group.name
        self.account_name = account.name
        self.account_id = account.id
        self.container_ids = {container: resource.id for container, resource in containers.items()}
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "account_name": self.account_name,
                "container_ids": self.container_ids,
            }
        )
