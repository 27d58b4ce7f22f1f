"""Pulumi mocks that behave as azure-native does where a defect would otherwise hide.

`AzureMocks` names every resource the program leaves unnamed as the provider does (logical name + 8 random
lowercase hex, GUIDs for role assignments), refuses any name that breaks the resource type's ARM naming rule
(tools/arm_names.py, with the spec each rule comes from), gives resources their real ARM ids, and refuses to
create a resource whose id already exists, as azure-native's Create does (provider/pkg/provider/provider.go
defaultCreate, CanCreate: "cannot create already existing resource"). What exists and what the stack's
state holds come from tools/mocks/state.py.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

import pulumi
import yaml

from tools import arm_names
from tools.mocks.state import Cloud, StackState

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


class AzureMocks(pulumi.runtime.Mocks):
    """Outputs an Azure deployment would produce: names, ids, identities' ids, the cluster's OIDC issuer."""

    def __init__(self, cloud: Cloud | None = None, state: StackState | None = None, seed: int = 0) -> None:
        self.invokes: list[tuple[str, dict]] = []
        self.cloud = cloud if cloud is not None else Cloud()
        self.state = state if state is not None else StackState()
        # azure-native draws autonames at random; here they are drawn from the run's seed, the resource's
        # type and its logical name, so a seed gives the same plan whatever order resources register in.
        self.seed = seed
        self.operations: dict[tuple[str, str], str] = {}

    def _autoname(self, rule: arm_names.NameRule, resource_type: str, logical_name: str) -> str:
        drawn = int.from_bytes(hashlib.sha256(f"{self.seed}|{resource_type}|{logical_name}".encode()).digest()[:16])
        if rule.autoname == "uuid":
            return str(uuid.UUID(int=drawn, version=4))
        return f"{logical_name}{drawn & 0xFFFFFFFF:08x}"

    def _azure(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        rule = arm_names.rule(args.typ)
        outputs = dict(args.inputs)
        old = self.state.find(args.typ, args.name)
        if rule.name_param not in outputs:
            # getDefaultName keeps the name a resource already has; only a new resource gets a new one.
            outputs[rule.name_param] = (
                old.outputs[rule.name_param] if old else self._autoname(rule, args.typ, args.name)
            )
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
