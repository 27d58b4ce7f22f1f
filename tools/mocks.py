"""Run the real Pulumi program offline, under Pulumi's own mocks, and record everything it registers.

Pulumi documents unit tests with `pulumi.runtime.set_mocks`; its MockMonitor keeps only type, name and
state. `RecordingMonitor` extends it to keep what a review needs: each resource's inputs (wire names, as
the provider would get them), parent, dependencies, provider and resource options, plus the stack's
outputs. The tests, the offline plan (`python -m tools.plan`) and the policy tests all use `run_program`.
"""

from __future__ import annotations

import base64
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

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
    "clusters": [{"name": "mock-aks", "cluster": {"server": "https://mock-aks.hcp.eastus2.azmk8s.io:443",
                                                 "certificate-authority-data": "Y2E="}}],
    "contexts": [{"name": "mock-aks", "context": {"cluster": "mock-aks", "user": "clusterUser_rg_mock-aks"}}],
    "current-context": "mock-aks",
    "users": [{"name": "clusterUser_rg_mock-aks", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "kubelogin",
        "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id",
                 "6dae42f8-4368-4678-94ff-3960e28e3630", "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
                 "--tenant-id", TENANT_ID, "--login", "devicecode"],
        "env": None, "installHint": "kubelogin is not installed", "interactiveMode": "IfNeeded",
        "provideClusterInfo": False}}}],
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


class AzureMocks(pulumi.runtime.Mocks):
    """Outputs an Azure deployment would produce: ids, identities' ids, the cluster's OIDC issuer."""

    def __init__(self) -> None:
        self.invokes: list[tuple[str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        outputs = dict(args.inputs)
        name = args.inputs.get("resourceName") or args.inputs.get("name") or args.name
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/mock/{args.typ.replace(':', '/')}/{args.name}"
        if args.typ == "azure-native:resources:ResourceGroup":
            name = args.inputs.get("resourceGroupName", args.name)
            resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{name}"
        elif args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs.update(clientId=_uuid("client", args.name), principalId=_uuid("principal", args.name),
                           tenantId=TENANT_ID)
        elif args.typ == "azure-native:containerservice:ManagedCluster":
            outputs["oidcIssuerProfile"] = {**args.inputs.get("oidcIssuerProfile", {}),
                                            "issuerURL": f"https://eastus2.oic.prod-aks.azure.com/{TENANT_ID}/{args.name}/"}
            outputs["fqdn"] = f"{args.name}.hcp.eastus2.azmk8s.io"
            # The API takes user-assigned identities as a list of ids and answers with a map.
            identity = dict(args.inputs.get("identity", {}))
            if isinstance(identity.get("userAssignedIdentities"), list):
                identity["userAssignedIdentities"] = {
                    i: {"clientId": _uuid("client", i), "principalId": _uuid("principal", i)}
                    for i in identity["userAssignedIdentities"]}
            outputs["identity"] = identity
        outputs.setdefault("name", name)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return {"clientId": _uuid("client", "caller"), "objectId": CALLER_OBJECT_ID,
                    "subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID}, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            value = base64.b64encode(yaml.safe_dump(USER_KUBECONFIG).encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        return {}, []


def _uuid(kind: str, name: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{name}"))


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's MockMonitor, also keeping parent, dependencies, provider and options of each resource."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.secret_outputs: set[str] = set()

    def RegisterResource(self, request):
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
                "customTimeouts": {"create": request.customTimeouts.create, "update": request.customTimeouts.update,
                                   "delete": request.customTimeouts.delete},
                "aliases": [str(alias) for alias in request.aliases],
            },
            id=response.id,
            outputs=_plain(self.resources[response.urn].state),
        )
        self.registrations[response.urn] = registration
        return response

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


def stack_config(stack: str = "dev", overrides: dict[str, Any] | None = None,
                 remove: tuple[str, ...] = ()) -> dict[str, str]:
    """A stack's config as the Pulumi CLI hands it to the program: Pulumi.yaml defaults, then
    Pulumi.<stack>.yaml, then overrides; every value as text (structured values as JSON)."""
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, spec in project.get("config", {}).items():
        if "default" in spec:
            config[key if ":" in key else f"{PROJECT}:{key}"] = spec["default"]
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


def run_program(config: dict[str, str] | None = None, stack: str = "dev", preview: bool = False) -> Recording:
    """Run __main__.py under mocks with the given config (default: the stack's) and return the recording.

    Errors the program raises (bad settings included) propagate unchanged.
    """
    mocks = AzureMocks()
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
        err.recording = Recording(monitor.registrations, monitor.stack_outputs, mocks.invokes, monitor.secret_outputs)
        raise
    return Recording(monitor.registrations, monitor.stack_outputs, mocks.invokes, monitor.secret_outputs)
