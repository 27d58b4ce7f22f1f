"""Derived names: the kept data's storage account and resource group, the registry, Managed Grafana.

azure-native autonames an unnamed resource as its logical name plus 8 random hex characters and sanitises
nothing (pulumi-azure-native provider/pkg/provider/provider.go getDefaultName; #3665), which gives
`storage-account1a2b3c4d`, an invalid account name, and a data group nobody can find again after a
destroy. Container registry and Managed Grafana autonames break their rules too (a hyphen in an ACR name;
more than Grafana's length). These pure functions give names that are the same on every `pulumi up` of a stack, so a new
cluster can find the kept data, and valid under Azure's rules (tools/arm_names.py has the rules with their
ARM spec sources; tests/unit/test_names.py checks them).
"""

from __future__ import annotations

import hashlib
import re

# Microsoft.Storage 2024-01-01 storage.json, parameter StorageAccountName: ^[a-z0-9]+$, 3 to 24 characters,
# unique across Azure.
ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
# Characters of a global name that come from a hash: 40 bits, so two stacks collide with odds of one in a
# trillion; the rest is a readable prefix.
_HASH_CHARS = 10
# Microsoft.ContainerRegistry 2023-01-01-preview containerregistry.json, RegistryNameParameter: ^[a-zA-Z0-9]*$,
# 5 to 50 characters; <name>.azurecr.io, so unique across Azure.
_REGISTRY_MAX = 50
# Microsoft.Dashboard 2024-10-01 grafana.json, WorkspaceNameParameter: ^[a-zA-Z][a-z0-9A-Z-]{0,28}[a-z0-9A-Z]$
# (2-30). terraform-provider-azurerm's azurerm_dashboard_grafana validator allows only 2-23; keeping to 23 fits both.
_GRAFANA_MAX = 23
# Microsoft.Resources 2024-03-01 resources.json, ResourceGroups_CreateOrUpdate: ^[-\w\._\(\)]+$, 1 to 90,
# and not ending in a period.
RESOURCE_GROUP_NAME = re.compile(r"^[-\w._()]{1,90}$")

# /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>, as
# `pulumi stack output storageAccountId` and `az storage account show --query id` print it.
_ACCOUNT_ID = re.compile(
    r"^/subscriptions/(?P<subscription>[0-9a-fA-F-]{36})/resourceGroups/(?P<group>[-\w._()]{1,90})"
    r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[a-z0-9]{3,24})$",
    re.IGNORECASE,
)


def _global_name(project: str, stack: str, subscription_id: str, max_length: int) -> str:
    """Lowercase letters and digits: the project and stack as far as they fit, then a hash of project, stack
    and subscription, so the same stack always gets the same (globally unlikely) name."""
    digest = hashlib.sha256(f"{project}\n{stack}\n{subscription_id.lower()}".encode()).hexdigest()
    prefix = re.sub(r"[^a-z0-9]", "", f"{project}{stack}".lower())[: max_length - _HASH_CHARS]
    return prefix + digest[:_HASH_CHARS]


def storage_account_name(project: str, stack: str, subscription_id: str) -> str:
    """3-24 lowercase letters and digits, unique across Azure as account names must be."""
    return _global_name(project, stack, subscription_id, 24)


def registry_name(project: str, stack: str, subscription_id: str) -> str:
    """10-50 lowercase letters and digits, unique across Azure as registry names must be."""
    return _global_name(project, stack, subscription_id, _REGISTRY_MAX)


def grafana_name(project: str, stack: str) -> str:
    """`<project>-<stack>` in lowercase letters, digits and single hyphens, a letter first and none last,
    2-23 characters. Unique within its resource group only, which is the stack's own: no hash needed."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower()).strip("-")
    if not cleaned[:1].isalpha() or len(cleaned) < 2:
        cleaned = f"grafana-{cleaned}".rstrip("-")
    return cleaned[:_GRAFANA_MAX].rstrip("-")


def data_resource_group_name(project: str, stack: str) -> str:
    """The kept data's own resource group: `<project>-<stack>-data`, within Azure's group rule."""
    cleaned = re.sub(r"[^-\w.()]", "-", f"{project}-{stack}", flags=re.ASCII)[: 90 - len("-data")]
    return f"{cleaned}-data"


def parse_storage_account_id(account_id: str) -> tuple[str, str, str] | None:
    """(subscription, resource group, account) of a storage account's resource id; None if it is not one."""
    match = _ACCOUNT_ID.fullmatch(account_id)
    return (match["subscription"], match["group"], match["account"]) if match else None


def container_id(account_id: str, container: str) -> str:
    """A blob container's resource id (Microsoft.Storage blob.json: .../blobServices/default/containers/{name})."""
    return f"{account_id}/blobServices/default/containers/{container}"


def resource_group_id(subscription_id: str, group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}"
