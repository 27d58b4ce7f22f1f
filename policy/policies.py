"""The ray-aks-baseline pack's policies: what every stack of this program must keep, checked on every
preview and up.

Each rule is a plain function over a resource's type and properties (wire names, camelCase: what the
provider receives), returning one message per violation, so tests call it without Pulumi:
policy/rules/ holds them by resource family, policy/values.py reads properties (unknown values included),
policy/catalogue.py names and describes every policy. `POLICIES` wraps them as pulumi-policy policies;
`__main__.py` serves them as a pack.
"""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, StackValidationArgs, StackValidationPolicy

from manifests.vm_sizes import is_gpu_vm_size
from policy.catalogue import BLOB_ROLE_POLICY_DESCRIPTION, BLOB_ROLE_POLICY_NAME, RULES
from policy.resource_types import *  # noqa: F403  (the type names tests and tools use)
from policy.rule import ResourceRule
from policy.rules.blob_roles import BLOB_DATA_ROLES, StackResource, blob_volume_identities_hold_data_roles
from policy.rules.tags import TAGGED_TYPES, takes_tags
from policy.values import UNKNOWN, is_unknown, lookup, plain


def _validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message, urn in blob_volume_identities_hold_data_roles([StackResource.of(r) for r in args.resources]):
        report_violation(message, urn)


BLOB_ROLE_POLICY = StackValidationPolicy(
    name=BLOB_ROLE_POLICY_NAME, description=BLOB_ROLE_POLICY_DESCRIPTION, validate=_validate_stack
)

POLICIES: list[Policy] = [*(rule.policy() for rule in RULES), BLOB_ROLE_POLICY]

__all__ = [
    "BLOB_DATA_ROLES",
    "BLOB_ROLE_POLICY",
    "BLOB_ROLE_POLICY_NAME",
    "POLICIES",
    "RULES",
    "TAGGED_TYPES",
    "UNKNOWN",
    "ResourceRule",
    "StackResource",
    "blob_volume_identities_hold_data_roles",
    "is_gpu_vm_size",
    "is_unknown",
    "lookup",
    "plain",
    "takes_tags",
]
