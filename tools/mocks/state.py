"""What outlives a run: the mocked Azure subscription and the stack's Pulumi state.

A `Cloud` and the previous run's `StackState` carry over between runs, so a test can run `up`, `destroy`
and `up` again: resources still in the state are updated (and keep their names), protected ones refuse
replacement, `import_` adopts what exists (tools/mocks/azure.py answers each run from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.mocks.recording import Recording, Registration


@dataclass
class Cloud:
    """What exists in the mocked Azure subscription, by resource id; it outlives a run (and a destroy)."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StackState:
    """What the stack's Pulumi state holds after a run: the registrations that are still managed."""

    resources: dict[str, Registration] = field(default_factory=dict)

    def find(self, type_: str, name: str) -> Registration | None:
        return next((r for r in self.resources.values() if (r.type, r.name) == (type_, name)), None)


def state_of(recording: Recording) -> StackState:
    """The stack's state after a successful `pulumi up` that registered `recording`."""
    return StackState(dict(recording.resources))


def destroy(state: StackState, cloud: Cloud, exclude_protected: bool = False) -> StackState:
    """`pulumi destroy [--exclude-protected]`: what is left in the stack's state; `cloud` loses what is deleted.

    Protected resources stop a plain destroy (the engine refuses to delete them); with --exclude-protected
    they stay, in Azure and in the state. A retainOnDelete resource leaves the state but stays in Azure.
    """
    protected = [r for r in state.resources.values() if r.options.get("protect")]
    if protected and not exclude_protected:
        raise ValueError("refusing to delete protected resources: " + ", ".join(r.urn for r in protected))
    for registration in state.resources.values():
        if registration.options.get("protect") or registration.options.get("retainOnDelete"):
            continue
        cloud.resources.pop(registration.id, None)
    return StackState({urn: r for urn, r in state.resources.items() if r.options.get("protect")})
