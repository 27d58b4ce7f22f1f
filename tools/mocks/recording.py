"""What the program registered, as a review needs it, and the monitor that records it.

Pulumi documents unit tests with `pulumi.runtime.set_mocks`; its MockMonitor keeps only type, name and
state. `RecordingMonitor` extends it to keep each resource's inputs (wire names, as the provider would get
them), parent, dependencies, provider and resource options, plus the stack's outputs; a `Recording` holds
them for the tests, the offline plan (`python -m tools.plan`) and the policy tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pulumi_internals import is_secret, pulumi_mocks, rpc

if TYPE_CHECKING:  # the mocks import the state, which imports Registration from here
    from tools.mocks.azure import AzureMocks


@dataclass
class Registration:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    options: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass
class Recording:
    resources: dict[str, Registration]
    stack_outputs: dict[str, Any]
    invokes: list[tuple[str, dict]]
    secret_outputs: set[str] = field(default_factory=set)
    """Names of the stack outputs Pulumi would store encrypted."""
    operations: dict[str, str] = field(default_factory=dict)
    """URN → what `pulumi up` would do to it: create, update, replace or import."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources.values() if r.type == type_]

    def one(self, type_: str, name_suffix: str = "") -> Registration:
        found = [r for r in self.of_type(type_) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} named *{name_suffix}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return self.resources[urn]

    def provider_of(self, resource: Registration) -> Registration | None:
        """The explicit provider resource a resource uses (None: the default provider)."""
        if not resource.provider:
            return None
        urn = resource.provider.rsplit("::", 1)[0]
        return self.resources.get(urn)

    def ancestors(self, resource: Registration) -> list[Registration]:
        chain, parent = [], resource.parent
        while parent in self.resources:
            chain.append(self.resources[parent])
            parent = self.resources[parent].parent
        return chain


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's MockMonitor, also keeping parent, dependencies, provider and options of each resource."""

    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.mocks: AzureMocks = mocks
        self.registrations: dict[str, Registration] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.secret_outputs: set[str] = set()

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            self._refuse_protected_replacement(request)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            inputs=_plain(rpc.deserialize_properties(request.object, keep_unknowns=True)),
            parent=request.parent,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            options={
                "protect": request.protect if request.HasField("protect") else None,
                "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else None,
                "ignoreChanges": list(request.ignoreChanges),
                "deleteBeforeReplace": request.deleteBeforeReplace,
                "additionalSecretOutputs": list(request.additionalSecretOutputs),
                "replaceOnChanges": list(request.replaceOnChanges),
                "replaceWith": list(request.replace_with),
                "customTimeouts": {
                    "create": request.customTimeouts.create,
                    "update": request.customTimeouts.update,
                    "delete": request.customTimeouts.delete,
                },
                "aliases": [str(alias) for alias in request.aliases],
            },
            id=response.id,
            outputs=_plain(self.resources[response.urn].state),
        )
        self.registrations[response.urn] = registration
        return response

    def _refuse_protected_replacement(self, request) -> None:
        """The engine's side of replaceOnChanges: a changed listed input replaces the resource, and a
        protected resource is never replaced ("unable to replace ... marked for protection")."""
        old = self.mocks.state.find(request.type, request.name)
        if old is None:
            return
        inputs = _plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
        changed = sorted(
            key for key in request.replaceOnChanges if key in inputs and inputs.get(key) != old.inputs.get(key)
        )
        if not changed:
            return
        if old.options.get("protect"):
            raise ValueError(
                f"unable to replace resource {old.urn} as it is currently marked for protection "
                f"(replaceOnChanges: {', '.join(changed)} changed from "
                f"{', '.join(repr(old.inputs.get(k)) for k in changed)})"
            )
        self.mocks.operations[(request.type, request.name)] = "replace"

    def RegisterResourceOutputs(self, request):
        if "::pulumi:pulumi:Stack::" in request.urn:
            outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            self.secret_outputs = {k for k, v in outputs.items() if is_secret(v)}
            self.stack_outputs = _plain(outputs)
        return super().RegisterResourceOutputs(request)


def _plain(value: Any) -> Any:
    """Secrets and unknowns as plain values, so tests and the plan can read them."""
    if isinstance(value, dict):
        if is_secret(value):
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is rpc.UNKNOWN or type(value).__name__ == "Unknown":
        return "<unknown>"
    return value
