"""Storage accounts and Blob services: keyless, TLS 1.2+, HTTPS only, firewalled, soft delete."""

from __future__ import annotations

from collections.abc import Mapping

from policy.values import require


def storage_no_shared_key(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(
        props,
        "allowSharedKeyAccess",
        [False],
        "Clients, BlobFuse included, authenticate with Entra ID; an account key is a password that never expires.",
    )


def storage_no_public_blob_access(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(props, "allowBlobPublicAccess", [False], "No container may ever be made anonymous-readable.")


def storage_tls(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(props, "minimumTlsVersion", ["TLS1_2", "TLS1_3"], "Older TLS versions are refused.")


def storage_https_only(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(props, "enableHttpsTrafficOnly", [True], "Plain HTTP is refused.")


def storage_firewall(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return require(
        props,
        "networkRuleSet.defaultAction",
        ["Deny"],
        "Admit the node subnet (virtualNetworkRules) and named IP ranges (ipRules) only.",
    )


def blob_soft_delete(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return [
        *require(props, "deleteRetentionPolicy.enabled", [True], "Deleted blobs must be recoverable for a while."),
        *require(
            props,
            "containerDeleteRetentionPolicy.enabled",
            [True],
            "Deleted containers must be recoverable for a while.",
        ),
    ]
