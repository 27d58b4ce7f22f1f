"""Run the real Pulumi program offline, under Pulumi's own mocks, and record everything it registers.

Pulumi documents unit tests with `pulumi.runtime.set_mocks`; its MockMonitor keeps only type, name and
state. `RecordingMonitor` extends it to keep what a review needs: each resource's inputs (wire names, as
the provider would get them), parent, dependencies, provider and resource options, plus the stack's
outputs. The tests, the offline plan (`python -m tools.plan`) and the policy tests all use `run_program`.

`AzureMocks` behaves as azure-native does where a defect would otherwise hide: it names every resource the
program leaves unnamed as the provider does (logical name + 8 random lowercase hex, GUIDs for role
assignments), refuses any name that breaks the resource type's ARM naming rule (tools/arm_names.py, with
the spec each rule comes from), gives resources their real ARM ids, and refuses to create a resource whose
id already exists, as azure-native's Create does (provider/pkg/provider/provider.go defaultCreate, CanCreate:
"cannot create already existing resource"). A `Cloud` and the previous run's `StackState` carry over
between runs, so a test can run `up`, `destroy` and `up` again: resources still in the state are updated
(and keep their names), protected ones refuse replacement, `import_` adopts what exists.
"""

from __future__ import annotations

import base64
import json
import random
import runpy
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

import settings
from pulumi_internals import (
    ROOT,
    SETTINGS,
    Stack,
    finish_stack,
    get_root_resource,
    is_secret,
    pulumi_mocks,
    rpc,
    run_pulumi_func,
)
from pulumi_internals import sync_await as _sync_await
from tools import arm_names

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ray-aks"

# What the mocked Azure calls return: a fixed tenant and subscription, a caller that runs `pulumi up`.
TENANT_ID = "11111111-1111-1111-1111-111111111111"
SUBSCRIPTION_ID = "22222222-2222-2222-2222-222222222222"
CALLER_OBJECT_ID = "33333333-3333-3333-3333-333333333333"

# The kubeconfig that listManagedClusterUserCredentials returns for an Entra ID cluster with local
# accounts off: an exec plugin asking for interactive device-code login (FACTS.md, AKS section).
USER_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "mock-aks",
            "cluster": {"server": "https://mock-aks.hcp.eastus2.azmk8s.io:443", "certificate-authority-data": "Y2E="},
        }
    ],
    "contexts": [{"name": "mock-aks", "context": {"cluster": "mock-aks", "user": "clusterUser_rg_mock-aks"}}],
    "current-context": "mock-aks",
    "users": [
        {
            "name": "clusterUser_rg_mock-aks",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "kubelogin",
                    "args": [
                        "get-token",
                        "--environment",
                        "AzurePublicCloud",
                        "--server-id",
                        "6dae42f8-4368-4678-94ff-3960e28e3630",
                        "--client-id",
                        "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
                        "--tenant-id",
                        TENANT_ID,
                        "--login",
                        "devicecode",
                    ],
                    "env": None,
                    "installHint": "kubelogin is not installed",
                    "interactiveMode": "IfNeeded",
                    "provideClusterInfo": False,
                }
            },
        }
    ],
}


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


class AzureMocks(pulumi.runtime.Mocks):
    """Outputs an Azure deployment would produce: names, ids, identities' ids, the cluster's OIDC issuer."""

    def __init__(self, cloud: Cloud | None = None, state: StackState | None = None, seed: int = 0) -> None:
        self.invokes: list[tuple[str, dict]] = []
        self.cloud = cloud if cloud is not None else Cloud()
        self.state = state if state is not None else StackState()
        # azure-native draws autonames from a per-deployment random seed; a seed per run keeps the plan stable.
        self.random = random.Random(seed)
        self.operations: dict[tuple[str, str], str] = {}

    def _autoname(self, rule: arm_names.NameRule, logical_name: str) -> str:
        if rule.autoname == "uuid":
            return str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        return f"{logical_name}{self.random.getrandbits(32):08x}"

    def _azure(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        rule = arm_names.rule(args.typ)
        outputs = dict(args.inputs)
        old = self.state.find(args.typ, args.name)
        if rule.name_param not in outputs:
            # getDefaultName keeps the name a resource already has; only a new resource gets a new one.
            outputs[rule.name_param] = old.outputs[rule.name_param] if old else self._autoname(rule, args.name)
        errors = arm_names.name_errors(args.typ, args.name, outputs)
        if errors:
            raise ValueError("Azure would refuse this name:\n  " + "\n  ".join(errors))
        resource_id = arm_names.arm_id(args.typ, outputs, SUBSCRIPTION_ID)
        singleton = bool(rule.allowed) and len(rule.allowed) == 1
        if old is not None and old.id == resource_id:
            # Already in the state: an import_ option is a no-op and this is a normal update.
            # RecordingMonitor marks it "replace" first when a replaceOnChanges input changed.
            operation = self.operations.get((args.typ, args.name), "update")
        elif args.resource_id:
            if args.resource_id.lower() != resource_id.lower():
                raise ValueError(
                    f"{args.typ} {args.name!r}: import id {args.resource_id} is not the resource "
                    f"its inputs name ({resource_id})"
                )
            if resource_id not in self.cloud.resources:
                raise ValueError(f"{args.typ} {args.name!r}: cannot import {resource_id}: it does not exist")
            # The engine imports, then updates the resource to the program's inputs (pulumi/docs#18198).
            outputs = {**self.cloud.resources[resource_id], **outputs}
            operation = "import"
        elif resource_id in self.cloud.resources and not singleton:
            raise ValueError(
                f"cannot create already existing resource '{resource_id}' "
                f"({args.typ} {args.name!r}; azure-native refuses to adopt it: import it instead)"
            )
        elif rule.global_name and any(
            other.lower().endswith("/" + outputs[rule.name_param]) and other.split("/")[-2] == rule.path.split("/")[-2]
            for other in self.cloud.resources
        ):
            raise ValueError(
                f"{args.typ} {args.name!r}: the name {outputs[rule.name_param]!r} is already taken "
                f"in Azure ({rule.note})"
            )
        else:
            operation = "create"
        self.operations[(args.typ, args.name)] = operation
        outputs["name"] = outputs[rule.name_param]
        self.cloud.resources[resource_id] = outputs
        return resource_id, outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ.startswith("azure-native:"):
            resource_id, outputs = self._azure(args)
        else:
            outputs = dict(args.inputs)
            resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/mock/{args.typ.replace(':', '/')}/{args.name}"
        name = outputs.get("name", args.name)
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs.update(
                clientId=_uuid("client", args.name), principalId=_uuid("principal", args.name), tenantId=TENANT_ID
            )
        elif args.typ == "azure-native:containerservice:ManagedCluster":
            outputs["oidcIssuerProfile"] = {
                **args.inputs.get("oidcIssuerProfile", {}),
                "issuerURL": f"https://eastus2.oic.prod-aks.azure.com/{TENANT_ID}/{args.name}/",
            }
            outputs["fqdn"] = f"{args.name}.hcp.eastus2.azmk8s.io"
            # The API takes user-assigned identities as a list of ids and answers with a map.
            identity = dict(args.inputs.get("identity", {}))
            if isinstance(identity.get("userAssignedIdentities"), list):
                identity["userAssignedIdentities"] = {
                    i: {"clientId": _uuid("client", i), "principalId": _uuid("principal", i)}
                    for i in identity["userAssignedIdentities"]
                }
            outputs["identity"] = identity
            # AKS makes the kubelet identity itself when the cluster names none.
            outputs["identityProfile"] = {
                "kubeletidentity": {
                    "objectId": _uuid("principal", f"{args.name}-kubelet"),
                    "clientId": _uuid("client", f"{args.name}-kubelet"),
                    "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/mock/kubelet/{args.name}",
                }
            }
        if args.inputs.get("identity", {}).get("type") == "SystemAssigned":
            outputs["identity"] = {
                **args.inputs["identity"],
                "principalId": _uuid("principal", args.name),
                "tenantId": TENANT_ID,
            }
        if args.typ == "azure-native:dashboard:Grafana":
            outputs["properties"] = {
                **args.inputs.get("properties", {}),
                "endpoint": f"https://{args.name}-mock.eus2.grafana.azure.com",
            }
        elif args.typ == "azure-native:operationalinsights:Workspace":
            outputs["customerId"] = _uuid("workspace", args.name)
        elif args.typ == "azure-native:containerregistry:Registry":
            name = args.inputs.get("registryName", name)
            outputs["loginServer"] = f"{name.lower()}.azurecr.io"
        outputs.setdefault("name", name)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": _uuid("client", "caller"),
                "objectId": CALLER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }, []
        if args.token == "azure-native:authorization:getClientToken":
            return {"token": f"mock-token-for-{args.args.get('endpoint') or 'arm'}"}, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            value = base64.b64encode(yaml.safe_dump(USER_KUBECONFIG).encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        return {}, []


def _uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{name}"))


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
            self.secret_outputs = {k for k, v in outputs.items() if _is_secret(v)}
            self.stack_outputs = _plain(outputs)
        return super().RegisterResourceOutputs(request)


_is_secret = is_secret


def _plain(value: Any) -> Any:
    """Secrets and unknowns as plain values, so tests and the plan can read them."""
    if isinstance(value, dict):
        if _is_secret(value):
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is rpc.UNKNOWN or type(value).__name__ == "Unknown":
        return "<unknown>"
    return value


def stack_config(
    stack: str = "dev", overrides: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
) -> dict[str, str]:
    """A stack's config as the Pulumi CLI hands it to the program: Pulumi.yaml defaults (and the offline
    API allow-list), then Pulumi.<stack>.yaml, then overrides; every value as text (structured values as JSON)."""
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, spec in project.get("config", {}).items():
        if "default" in spec:
            config[key if ":" in key else f"{PROJECT}:{key}"] = spec["default"]
    # Pulumi.dev.yaml ships no API allow-list (each user sets their own public IP; placeholders are
    # refused): offline runs stand in a valid public example unless the stack file sets one.
    config[f"{PROJECT}:apiServerAuthorizedIpRanges"] = [settings.EXAMPLE_PUBLIC_CIDR]
    stack_file = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        config.update((yaml.safe_load(stack_file.read_text()) or {}).get("config", {}) or {})
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"{PROJECT}:{key}"] = value
    for key in remove:
        config.pop(key if ":" in key else f"{PROJECT}:{key}", None)
    return {key: _as_text(value) for key, value in config.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def run_program(
    config: dict[str, str] | None = None,
    stack: str = "dev",
    preview: bool = False,
    cloud: Cloud | None = None,
    state: StackState | None = None,
    seed: int = 0,
    mocks: AzureMocks | None = None,
) -> Recording:
    """Run __main__.py under mocks with the given config (default: the stack's) and return the recording.

    `cloud` and `state` carry what exists in Azure and in the stack's state from an earlier run (see
    `destroy`); `seed` draws the autonames (use a new one for each later run, as each deployment does).
    Errors the program raises (bad settings included) propagate unchanged. `mocks`: an AzureMocks
    subclass that answers some resources differently (e.g. a RayJob's final status).
    """
    mocks = mocks or AzureMocks(cloud, state, seed)
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config if config is not None else stack_config(stack))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    # set_mocks registers its root stack's (empty) outputs at once; a stack of our own keeps the exports.
    ROOT.set(None)
    Stack()
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))

    def program() -> None:
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        finally:
            root = get_root_resource()
            if root is not None:
                finish_stack(root)

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as err:
        # What was registered before the failure, for tests that prove nothing was.
        err.recording = _recording(monitor, mocks)  # type: ignore[attr-defined]  # read by tests, as caught.value.recording
        raise
    return _recording(monitor, mocks)


def _recording(monitor: RecordingMonitor, mocks: AzureMocks) -> Recording:
    operations = {
        urn: mocks.operations[(r.type, r.name)]
        for urn, r in monitor.registrations.items()
        if (r.type, r.name) in mocks.operations
    }
    return Recording(monitor.registrations, monitor.stack_outputs, mocks.invokes, monitor.secret_outputs, operations)


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
