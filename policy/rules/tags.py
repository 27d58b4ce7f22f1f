"""Required tags on every Azure resource that takes tags."""

from __future__ import annotations

from collections.abc import Mapping

from policy.resource_types import (
    AGENT_POOL,
    IDENTITY,
    MANAGED_CLUSTER,
    STORAGE_ACCOUNT,
)
from policy.values import UNKNOWN, is_unknown, lookup

# Azure resource types that take `tags`, from the azure-native SDK (tests/policy checks this list against
# the SDK for every type the program creates). Any other Azure type with a `location` is a tracked ARM
# resource, and tracked resources take tags.
TAGGED_TYPES = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PublicIPAddress",
        MANAGED_CLUSTER,
        AGENT_POOL,
        STORAGE_ACCOUNT,
        IDENTITY,
    }
)

DEFAULT_REQUIRED_TAGS = ("project", "stack", "managed-by")


def takes_tags(resource_type: str, props: Mapping) -> bool:
    return resource_type.startswith("azure-native:") and (resource_type in TAGGED_TYPES or "location" in props)


def required_tags(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    if not takes_tags(resource_type, props):
        return []
    tags = lookup(props, "tags", {})
    if tags is UNKNOWN:
        return []
    required = config.get("requiredTags", DEFAULT_REQUIRED_TAGS)
    missing = [
        key
        for key in required
        if not isinstance(tags, Mapping)
        or key not in tags
        or (not is_unknown(tags[key]) and not str(tags[key]).strip())
    ]
    return [f"tags lack {missing} (required: {list(required)}); pass settings.tags(stack) as tags."] if missing else []
