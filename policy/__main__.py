"""The ray-aks-baseline policy pack. `pulumi preview --policy-pack policy` (and `up`) runs it; every policy is
mandatory: a violation fails the preview or stops the update. docs/pull-requests.md lists the policies."""

import sys
from pathlib import Path

# The pack's modules import the project's (policy.*, manifests.vm_sizes, pulumi_internals): the repository
# root, this folder's parent, is their import root, as it is for the program and the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy import policies

PolicyPack(
    name="ray-aks-baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies.POLICIES,
)
