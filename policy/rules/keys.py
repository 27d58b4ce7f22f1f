"""Blob volumes mount with workload identity, never with an account key or SAS token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.resource_types import (
    PERSISTENT_VOLUME,
    SECRET,
    STORAGE_CLASS,
)
from policy.values import UNKNOWN, is_unknown, lookup, lower_keys

BLOB_DRIVER = "blob.csi.azure.com"
# Secret keys the Blob CSI driver reads account keys or SAS tokens from (blob-csi-driver docs/driver-parameters.md).
_KEY_SECRET_KEYS = ("azurestorageaccountkey", "azurestorageaccountsastoken")
# PV volumeAttributes / StorageClass parameters that make the driver read or store an account key.
_KEY_PARAMETERS = (
    "secretname",
    "secretnamespace",
    "storeaccountkey",
    "getlatestaccountkey",
    "keyvaulturl",
    "keyvaultsecretname",
)
_SECRET_REFS = (
    "nodeStageSecretRef",
    "nodePublishSecretRef",
    "controllerPublishSecretRef",
    "controllerExpandSecretRef",
    "nodeExpandSecretRef",
)


def _key_parameters(parameters: dict[str, Any]) -> list[str]:
    found = [
        k for k in parameters if k in _KEY_PARAMETERS and not (k == "storeaccountkey" and parameters[k] == "false")
    ]
    found += [k for k in parameters if k.startswith("csi.storage.k8s.io/") and k.endswith("secret-name")]
    if str(parameters.get("azurestorageauthtype", "")).lower() in ("key", "sas"):
        found.append(f"azurestorageauthtype={parameters['azurestorageauthtype']}")
    return sorted(set(found))


def blob_volumes_keyless(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    """Nothing mounts Blob storage with an account key: the account refuses them, and a key is a secret
    that never expires."""
    if resource_type == SECRET:
        keys = sorted(
            {
                k
                for section in ("data", "stringData")
                for k in lower_keys(lookup(props, section))
                if k in _KEY_SECRET_KEYS
            }
        )
        if not keys:
            return []
        return [f"This Secret holds a storage credential ({', '.join(keys)}); use workload identity instead."]
    if resource_type == STORAGE_CLASS:
        if lookup(props, "provisioner") != BLOB_DRIVER:
            return []
        found = _key_parameters(lower_keys(lookup(props, "parameters")))
        return [f"parameters {found} make the Blob CSI driver read or store an account key."] if found else []
    if resource_type != PERSISTENT_VOLUME or lookup(props, "spec.csi.driver") != BLOB_DRIVER:
        return []
    csi = lookup(props, "spec.csi")
    messages = [
        f"spec.csi.{ref} names a Secret with storage credentials; use workload identity instead."
        for ref in _SECRET_REFS
        if lookup(csi, ref) not in (None, UNKNOWN)
    ]
    if lookup(csi, "volumeAttributes") is UNKNOWN:
        return messages
    attributes = lower_keys(lookup(csi, "volumeAttributes"))
    found = _key_parameters(attributes)
    if found:
        messages.append(f"spec.csi.volumeAttributes {found} make the Blob CSI driver read an account key.")
    if str(attributes.get("protocol", "")).lower() != "nfs" and not messages:
        token = attributes.get("mountwithworkloadidentitytoken")
        if not is_unknown(token) and token != "true":
            messages.append(
                f'spec.csi.volumeAttributes.mountWithWorkloadIdentityToken is {token!r}; set it to "true" (a string) '
                "with clientID, or the driver fetches the account key to mount BlobFuse."
            )
    return messages
