"""The ray-aks-baseline policy pack. `pulumi preview --policy-pack policy` (and `up`) runs it; every policy is
mandatory: a violation fails the preview or stops the update. docs/pull-requests.md lists the policies."""

from pulumi_policy import EnforcementLevel, PolicyPack

import monitoring
import policies

PolicyPack(
    name="ray-aks-baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies.POLICIES + monitoring.POLICIES,
)
