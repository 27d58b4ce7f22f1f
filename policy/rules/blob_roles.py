"""The stack rule: every BlobFuse volume's identity holds a Storage Blob Data role on that volume's container."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource

from policy.resource_types import (
    BLOB_CONTAINER,
    IDENTITY,
    PERSISTENT_VOLUME,
    ROLE_ASSIGNMENT,
)
from policy.rules.keys import BLOB_DRIVER
from policy.values import UNKNOWN, is_unknown, lookup, lower_keys, plain

# Storage Blob Data Contributor, Reader and Owner (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BLOB_DATA_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack as a stack rule sees it: plain props and the URNs it depends on."""

    type: str
    urn: str
    props: Mapping[str, Any]
    dependencies: frozenset[str] = frozenset()
    property_dependencies: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, resource: PolicyResource) -> StackResource:
        return cls(
            resource.resource_type,
            resource.urn,
            plain(resource.props),
            frozenset(d.urn for d in resource.dependencies),
            {k: frozenset(d.urn for d in v) for k, v in resource.property_dependencies.items()},
        )

    def depends_on(self, other: StackResource, prop: str | None = None) -> bool:
        return other.urn in (self.property_dependencies.get(prop, frozenset()) if prop else self.dependencies)


def blob_volume_identities_hold_data_roles(resources: Sequence[StackResource]) -> list[tuple[str, str]]:
    """Every BlobFuse PV names a clientID whose managed identity in this stack holds a Storage Blob Data role
    on exactly that PV's container. Returns (message, urn) pairs.

    Preview knows few ids, so identities, principals and scopes match by value where both sides are known,
    else by the dependency that produced the value (the PV's spec came from the identity's clientId output,
    the role's scope from the container's id)."""
    identities = [r for r in resources if r.type == IDENTITY]
    roles = [r for r in resources if r.type == ROLE_ASSIGNMENT]
    containers = [r for r in resources if r.type == BLOB_CONTAINER]
    violations = []
    for pv in resources:
        if pv.type != PERSISTENT_VOLUME or lookup(pv.props, "spec.csi.driver") != BLOB_DRIVER:
            continue
        attributes = lower_keys(lookup(pv.props, "spec.csi.volumeAttributes"))
        if str(attributes.get("protocol", "")).lower() == "nfs":
            continue
        name = lookup(pv.props, "metadata.name") or pv.urn.rsplit("::", 1)[-1]
        client_id, container = attributes.get("clientid"), attributes.get("containername")
        account = attributes.get("storageaccount")
        if client_id is None:
            violations.append(
                (
                    f"PersistentVolume {name!r} names no clientID: BlobFuse must mount as a managed "
                    "identity (volumeAttributes.clientID + mountWithWorkloadIdentityToken).",
                    pv.urn,
                )
            )
            continue
        owners = [
            i
            for i in identities
            if _same(lookup(i.props, "clientId"), client_id)
            or ((is_unknown(client_id) or is_unknown(lookup(i.props, "clientId"))) and pv.depends_on(i, "spec"))
        ]
        if not owners:
            if not is_unknown(client_id):
                violations.append(
                    (
                        f"PersistentVolume {name!r}: no UserAssignedIdentity in this stack has clientId {client_id!r}.",
                        pv.urn,
                    )
                )
            continue
        granted = [
            role
            for role in roles
            for owner in owners
            if (
                _same(lookup(role.props, "principalId"), lookup(owner.props, "principalId"))
                or role.depends_on(owner, "principalId")
            )
            and _is_blob_data_role(lookup(role.props, "roleDefinitionId"))
        ]
        if not granted:
            violations.append(
                (
                    f"PersistentVolume {name!r}: identity {client_id!r} holds no Storage Blob Data role "
                    f"(e.g. Contributor, {next(iter(BLOB_DATA_ROLES))}).",
                    pv.urn,
                )
            )
            continue
        if not any(_scoped_to(role, container, account, containers) for role in granted):
            scopes = [lookup(role.props, "scope") for role in granted]
            violations.append(
                (
                    f"PersistentVolume {name!r}: identity {client_id!r} holds Storage Blob Data roles on "
                    f"{scopes}, none on container {container!r} alone.",
                    pv.urn,
                )
            )
    return violations


def _same(a: Any, b: Any) -> bool:
    return a is not None and not is_unknown(a) and not is_unknown(b) and str(a).lower() == str(b).lower()


def _is_blob_data_role(role_definition_id: Any) -> bool:
    return is_unknown(role_definition_id) or str(role_definition_id).lower().rsplit("/", 1)[-1] in BLOB_DATA_ROLES


def _scoped_to(role: StackResource, container: Any, account: Any, containers: Sequence[StackResource]) -> bool:
    scope = lookup(role.props, "scope")
    if isinstance(scope, str) and not is_unknown(scope):
        # An ARM id: .../storageAccounts/<account>/blobServices/default/containers/<container>
        match = re.search(r"/storageAccounts/([^/]+)/blobServices/default/containers/([^/]+)$", scope, re.IGNORECASE)
        if match:
            return _same(match[2], container) and (is_unknown(account) or _same(match[1], account))
    # Otherwise the scope is (or will be) the id of a container resource of this stack.
    for resource in containers:
        if role.depends_on(resource, "scope"):
            name, parent = lookup(resource.props, "containerName"), lookup(resource.props, "accountName")
            return (is_unknown(name) or _same(name, container)) and (
                is_unknown(parent) or is_unknown(account) or _same(parent, account)
            )
    return scope is UNKNOWN or is_unknown(scope)
