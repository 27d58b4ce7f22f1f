"""The ray-aks-baseline rules: what every stack of this program must keep, checked on every preview and up.

Each rule is a plain function over a resource's type and properties (wire names, camelCase: what the
provider receives), returning one message per violation, so tests call it without Pulumi. `POLICIES`
wraps them as pulumi-policy policies; `__main__.py` serves them as a pack.

Unknown values: during `pulumi preview`, a property computed from another resource's outputs (an id, a
client id, a generated name) is unknown; pulumi-policy gives it as a sentinel string. A rule never fails on
an unknown value (it can't be judged yet; `pulumi up` runs the pack again once it is known), but it does
fail on a value that is missing or wrong, since the program sets those as literals.

Descriptions name the rule each policy mirrors: Checkov check ids (bridgecrewio/checkov,
checkov/{arm,terraform,kubernetes}/checks) and Azure Policy built-in definitions (Azure/azure-policy,
built-in-policies/policyDefinitions), checked against those sources. "Related" means same intent, not the
same test.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (  # the sentinels and proxies pulumi-policy wraps props in
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    _DictProxy,
    _ListProxy,
)

# --- Resource types ----------------------------------------------------------------------------------
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
PERSISTENT_VOLUME = "kubernetes:core/v1:PersistentVolume"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
RAY_JOB = "kubernetes:ray.io/v1:RayJob"
RAY_SERVICE = "kubernetes:ray.io/v1:RayService"

# Azure resource types that take `tags`, from the azure-native SDK (tests/policy checks this list against
# the SDK for every type the program creates). Any other Azure type with a `location` is a tracked ARM
# resource, and tracked resources take tags.
TAGGED_TYPES = frozenset({
    "azure-native:resources:ResourceGroup",
    "azure-native:network:VirtualNetwork",
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:network:PublicIPAddress",
    MANAGED_CLUSTER,
    AGENT_POOL,
    STORAGE_ACCOUNT,
    IDENTITY,
})

# --- Unknown values ------------------------------------------------------------------------------------
_UNKNOWNS = frozenset({
    UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE,
})


class _Unknown:
    """What `lookup` returns for a value, or a parent of it, that preview can't know yet."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()
_MISSING = object()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _UNKNOWNS)


def plain(value: Any) -> Any:
    """pulumi-policy's props (proxies that raise on unknown values) as plain dicts and lists, unknown
    values kept as their sentinels, so a rule can look at everything it can know."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def lookup(props: Any, path: str, default: Any = None) -> Any:
    """`props["a"]["b"]` for path "a.b": `default` when missing, UNKNOWN when it or a parent is unknown."""
    value = props
    for key in path.split("."):
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return UNKNOWN if is_unknown(value) else value


def _require(props: Mapping, path: str, allowed: Iterable[Any], fix: str, at: str = "") -> list[str]:
    """One message if `path` is set to none of `allowed` (missing counts as wrong; unknown passes); `at`
    is where `props` sits in the resource, for the message."""
    allowed = tuple(allowed)
    value = lookup(props, path, _MISSING)
    if value is UNKNOWN or any(_equal(value, a) for a in allowed):
        return []
    shown = "not set" if value is _MISSING else f"{value!r}"
    wanted = " or ".join(repr(a) for a in allowed)
    return [f"{at + '.' if at else ''}{path} is {shown}; it must be {wanted}. {fix}"]


def _equal(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a boolean setting must be the boolean itself.
    return value is expected if isinstance(expected, bool) else value == expected


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _show(value: Any) -> str:
    # Numbers arrive as floats over the wire (protobuf Struct): show 12.0 as 12.
    number = _number(value)
    return str(int(number)) if number is not None and number.is_integer() else repr(value)


# --- Storage -------------------------------------------------------------------------------------------
def storage_no_shared_key(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "allowSharedKeyAccess", [False], "Clients, BlobFuse included, authenticate with Entra ID; "
                    "an account key is a password that never expires.")


def storage_no_public_blob_access(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "allowBlobPublicAccess", [False], "No container may ever be made anonymous-readable.")


def storage_tls(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "minimumTlsVersion", ["TLS1_2", "TLS1_3"], "Older TLS versions are refused.")


def storage_https_only(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "enableHttpsTrafficOnly", [True], "Plain HTTP is refused.")


def storage_firewall(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "networkRuleSet.defaultAction", ["Deny"],
                    "Admit the node subnet (virtualNetworkRules) and named IP ranges (ipRules) only.")


def blob_soft_delete(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return [
        *_require(props, "deleteRetentionPolicy.enabled", [True], "Deleted blobs must be recoverable for a while."),
        *_require(props, "containerDeleteRetentionPolicy.enabled", [True],
                  "Deleted containers must be recoverable for a while."),
    ]


# --- AKS -----------------------------------------------------------------------------------------------
def aks_workload_identity(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    why = "Ray pods reach Blob storage as a managed identity through the cluster's OIDC issuer and the Blob CSI driver."
    return [
        *_require(props, "oidcIssuerProfile.enabled", [True], why),
        *_require(props, "securityProfile.workloadIdentity.enabled", [True], why),
        *_require(props, "storageProfile.blobCSIDriver.enabled", [True], why),
    ]


def aks_entra_id_only(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    why = "Cluster access goes through Entra ID and Azure RBAC only; local accounts are shared static credentials."
    messages = [
        *_require(props, "disableLocalAccounts", [True], why),
        *_require(props, "aadProfile.managed", [True], why),
        *_require(props, "aadProfile.enableAzureRBAC", [True], why),
    ]
    if lookup(props, "enableRBAC") is False:
        messages.append("enableRBAC is False; Kubernetes RBAC must stay on.")
    return messages


_NETWORK_POLICY_ENGINES = ("azure", "calico", "cilium")


def aks_network_policy(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return _require(props, "networkProfile.networkPolicy", _NETWORK_POLICY_ENGINES,
                    "Without an engine, the Ray namespace's NetworkPolicies are not enforced "
                    "(ray-aks: pulumi config set ray-aks:networkPolicy cilium).")


def aks_auto_upgrade(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    channel = lookup(props, "autoUpgradeProfile.upgradeChannel", _MISSING)
    messages = []
    if channel is _MISSING or channel == "none":
        messages.append(
            f"autoUpgradeProfile.upgradeChannel is {'not set' if channel is _MISSING else repr(channel)}; choose "
            "'patch', 'stable', 'rapid' or 'node-image' so the cluster gets security fixes "
            "(ray-aks: pulumi config set ray-aks:upgradeChannel patch).")
    if channel != "node-image":  # node-image already upgrades the node OS
        messages += _require(props, "autoUpgradeProfile.nodeOSUpgradeChannel", ["NodeImage", "SecurityPatch"],
                             "Nodes must get OS security patches "
                             "(ray-aks: pulumi config set ray-aks:nodeOsUpgradeChannel NodeImage).")
    return messages


def aks_api_server_restricted(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    if lookup(props, "apiServerAccessProfile.enablePrivateCluster") in (True, UNKNOWN):
        return []
    ranges = lookup(props, "apiServerAccessProfile.authorizedIPRanges")
    if ranges is UNKNOWN:
        return []
    fix = ("Set apiServerAccessProfile.authorizedIPRanges to the CIDRs that run pulumi and kubectl, or make the "
           "cluster private (ray-aks: pulumi config set --path 'ray-aks:apiServerAuthorizedIpRanges[0]' "
           "\"$(curl -s https://ifconfig.me)/32\").")
    if not ranges:
        return [f"The API server is reachable from the whole internet (no authorized IP ranges). {fix}"]
    open_ranges = [cidr for cidr in ranges if not is_unknown(cidr) and _is_whole_internet(str(cidr))]
    if open_ranges:
        return [f"apiServerAccessProfile.authorizedIPRanges contains {open_ranges}, the whole internet. {fix}"]
    return []


def _is_whole_internet(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


# --- GPU pools -----------------------------------------------------------------------------------------
# Azure's VM size names (learn.microsoft.com/azure/virtual-machines/vm-naming-conventions); the GPU
# families are NC, ND, NV and the confidential NCC. Same rule as settings.is_gpu_vm_size (a test checks).
_VM_SIZE = re.compile(r"^Standard_(?P<family>[A-Z]+)\d+(-\d+)?[a-z]*(_[A-Z][A-Za-z0-9]*)?(_v\d+)?$")
_GPU_FAMILIES = ("NC", "ND", "NV", "NCC")
DEFAULT_MAX_GPU_NODES = 8


def is_gpu_vm_size(size: str) -> bool:
    match = _VM_SIZE.match(size)
    return bool(match) and match["family"] in _GPU_FAMILIES


def gpu_pool_autoscales_from_zero(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    max_nodes = config.get("maxNodes", DEFAULT_MAX_GPU_NODES)
    if resource_type == MANAGED_CLUSTER:
        pools = lookup(props, "agentPoolProfiles", [])
        if pools is UNKNOWN:
            return []
        return [f"agentPoolProfiles[{pool.get('name', i)!r}]: {message}"
                for i, pool in enumerate(pools) if isinstance(pool, Mapping)
                for message in _gpu_pool(pool, max_nodes)]
    return _gpu_pool(props, max_nodes)


def _gpu_pool(pool: Mapping, max_nodes: int) -> list[str]:
    size = lookup(pool, "vmSize")
    if not isinstance(size, str) or not is_gpu_vm_size(size):
        return []
    messages = []
    if lookup(pool, "mode") == "System":
        messages.append(f"{size} is a GPU size in a System pool, which can't scale to zero; "
                        "put GPUs in a User pool.")
    messages += _require(pool, "enableAutoScaling", [True], f"A {size} pool must scale with demand.")
    minimum, maximum = lookup(pool, "minCount"), lookup(pool, "maxCount")
    if minimum is not UNKNOWN and _number(minimum) != 0:
        messages.append(f"minCount is {_show(minimum)}; a {size} pool must scale to 0 when idle "
                        "(ray-aks: pulumi config set ray-aks:gpuMinCount 0).")
    if maximum is not UNKNOWN and (_number(maximum) is None or _number(maximum) > max_nodes):
        messages.append(f"maxCount is {_show(maximum)}; at most {_show(max_nodes)} GPU nodes are allowed (policy "
                        f"config maxNodes; ray-aks: pulumi config set ray-aks:gpuMaxCount {_show(min(2, max_nodes))}).")
    return messages


# --- Ray on Kubernetes ---------------------------------------------------------------------------------
# Ports of the Ray head under KubeRay's names (manifests/raycluster.py): GCS, dashboard / Jobs API, client.
RAY_PORTS = {6379: "gcs-server", 8265: "dashboard", 10001: "client"}
# Labels KubeRay puts on every pod it creates (ray-operator/controllers/ray/utils/constant.go).
RAY_POD_LABELS = ("ray.io/cluster", "ray.io/node-type", "ray.io/group", "ray.io/is-ray-node")
_PUBLIC_SERVICE_TYPES = ("LoadBalancer", "NodePort")


_CLUSTER_SPEC_PATHS = {RAY_CLUSTER: "spec", RAY_JOB: "spec.rayClusterSpec", RAY_SERVICE: "spec.rayClusterConfig"}


def ray_cluster_specs(resource_type: str, props: Mapping) -> list[tuple[str, Mapping]]:
    """(path, RayCluster spec) of a RayCluster, or of the cluster a RayJob or RayService creates."""
    path = _CLUSTER_SPEC_PATHS.get(resource_type)
    spec = lookup(props, path) if path else None
    return [(path, spec)] if isinstance(spec, Mapping) else []


def ray_not_exposed(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    """Ray's dashboard, Jobs API, client and GCS stay inside the cluster: reach them with a port-forward."""
    fix = "Reach Ray through `kubectl port-forward` (ray-aks: the dashboardCommand output)."
    if resource_type == SERVICE:
        kind = lookup(props, "spec.type", "ClusterIP")
        if kind not in _PUBLIC_SERVICE_TYPES:
            return []
        selector = lookup(props, "spec.selector") or {}
        ray_labels = [k for k in selector if k in RAY_POD_LABELS] if isinstance(selector, Mapping) else []
        ray_ports = _ray_ports(lookup(props, "spec.ports") or [], ("port", "targetPort", "name"))
        if ray_labels or ray_ports:
            what = f"selects Ray pods ({', '.join(ray_labels)})" if ray_labels else f"exposes Ray ports {ray_ports}"
            return [f"A Service of type {kind} {what}. {fix}"]
        return []
    if resource_type == INGRESS:
        backends = [lookup(props, "spec.defaultBackend.service")]
        for rule in lookup(props, "spec.rules") or []:
            for item in lookup(rule, "http.paths") or []:
                backends.append(lookup(item, "backend.service"))
        hits = [f"{b.get('name')}:{lookup(b, 'port.number') or lookup(b, 'port.name')}"
                for b in backends if isinstance(b, Mapping)
                and (str(b.get("name", "")).endswith("-head-svc")
                     or _ray_ports([b.get("port") or {}], ("number", "name")))]
        return [f"An Ingress routes to the Ray head ({', '.join(hits)}). {fix}"] if hits else []
    messages = []
    for path, spec in ray_cluster_specs(resource_type, props):
        kind = lookup(spec, "headGroupSpec.serviceType")
        if kind in _PUBLIC_SERVICE_TYPES:
            messages.append(f"{path}.headGroupSpec.serviceType is {kind!r}; it must be 'ClusterIP'. {fix}")
        kind = lookup(spec, "headGroupSpec.headService.spec.type")
        if kind in _PUBLIC_SERVICE_TYPES:
            messages.append(f"{path}.headGroupSpec.headService.spec.type is {kind!r}; it must be 'ClusterIP'. {fix}")
    return messages


def _ray_ports(ports: Any, keys: tuple[str, ...]) -> list[Any]:
    found = []
    for port in ports if isinstance(ports, list) else []:
        for key in keys:
            value = lookup(port, key) if isinstance(port, Mapping) else None
            if (_number(value) is not None and int(value) in RAY_PORTS) or value in RAY_PORTS.values():
                found.append(int(value) if _number(value) is not None else value)
                break
    return found


def ray_token_auth(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return [message for path, spec in ray_cluster_specs(resource_type, props)
            for message in _require(spec, "authOptions.mode", ["token"],
                                    "Without it, anyone who reaches the dashboard or Jobs API runs code in the cluster "
                                    "as the Ray pods' identity.", at=path)]


def ray_pods_unprivileged(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    messages = []
    for path, spec in ray_cluster_specs(resource_type, props):
        templates = [(f"{path}.headGroupSpec.template", lookup(spec, "headGroupSpec.template"))]
        for i, group in enumerate(lookup(spec, "workerGroupSpecs") or []):
            name = lookup(group, "groupName") if isinstance(group, Mapping) else None
            templates.append((f"{path}.workerGroupSpecs[{name or i}].template", lookup(group, "template")))
        for where, template in templates:
            pod_context = lookup(template, "spec.securityContext") if isinstance(template, Mapping) else None
            for kind in ("initContainers", "containers"):
                containers = lookup(template, f"spec.{kind}") if isinstance(template, Mapping) else None
                for container in containers if isinstance(containers, list) else []:
                    if not isinstance(container, Mapping):
                        continue
                    at = f"{where}.spec.{kind}[{container.get('name')!r}].securityContext"
                    if lookup(container, "securityContext.privileged") is True:
                        messages.append(f"{at}.privileged is True; Ray containers must not be privileged.")
                    if lookup(container, "securityContext.allowPrivilegeEscalation") is True:
                        messages.append(f"{at}.allowPrivilegeEscalation is True; it must be False or unset.")
            if isinstance(pod_context, Mapping) and lookup(pod_context, "privileged") is True:
                messages.append(f"{where}.spec.securityContext.privileged is True; Ray pods must not be privileged.")
    return messages


# --- Keys ----------------------------------------------------------------------------------------------
BLOB_DRIVER = "blob.csi.azure.com"
# Secret keys the Blob CSI driver reads account keys or SAS tokens from (blob-csi-driver docs/driver-parameters.md).
_KEY_SECRET_KEYS = ("azurestorageaccountkey", "azurestorageaccountsastoken")
# PV volumeAttributes / StorageClass parameters that make the driver read or store an account key.
_KEY_PARAMETERS = ("secretname", "secretnamespace", "storeaccountkey", "getlatestaccountkey", "keyvaulturl",
                   "keyvaultsecretname")
_SECRET_REFS = ("nodeStageSecretRef", "nodePublishSecretRef", "controllerPublishSecretRef",
                "controllerExpandSecretRef", "nodeExpandSecretRef")


def _lower_keys(value: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _key_parameters(parameters: dict[str, Any]) -> list[str]:
    found = [k for k in parameters
             if k in _KEY_PARAMETERS and not (k == "storeaccountkey" and parameters[k] == "false")]
    found += [k for k in parameters if k.startswith("csi.storage.k8s.io/") and k.endswith("secret-name")]
    if str(parameters.get("azurestorageauthtype", "")).lower() in ("key", "sas"):
        found.append(f"azurestorageauthtype={parameters['azurestorageauthtype']}")
    return sorted(set(found))


def blob_volumes_keyless(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    """Nothing mounts Blob storage with an account key: the account refuses them, and a key is a secret
    that never expires."""
    if resource_type == SECRET:
        keys = sorted({k for section in ("data", "stringData") for k in _lower_keys(lookup(props, section))
                       if k in _KEY_SECRET_KEYS})
        if not keys:
            return []
        return [f"This Secret holds a storage credential ({', '.join(keys)}); use workload identity instead."]
    if resource_type == STORAGE_CLASS:
        if lookup(props, "provisioner") != BLOB_DRIVER:
            return []
        found = _key_parameters(_lower_keys(lookup(props, "parameters")))
        return [f"parameters {found} make the Blob CSI driver read or store an account key."] if found else []
    if resource_type != PERSISTENT_VOLUME or lookup(props, "spec.csi.driver") != BLOB_DRIVER:
        return []
    csi = lookup(props, "spec.csi")
    messages = [f"spec.csi.{ref} names a Secret with storage credentials; use workload identity instead."
                for ref in _SECRET_REFS if lookup(csi, ref) not in (None, UNKNOWN)]
    if lookup(csi, "volumeAttributes") is UNKNOWN:
        return messages
    attributes = _lower_keys(lookup(csi, "volumeAttributes"))
    found = _key_parameters(attributes)
    if found:
        messages.append(f"spec.csi.volumeAttributes {found} make the Blob CSI driver read an account key.")
    if str(attributes.get("protocol", "")).lower() != "nfs" and not messages:
        token = attributes.get("mountwithworkloadidentitytoken")
        if not is_unknown(token) and token != "true":
            messages.append(
                f"spec.csi.volumeAttributes.mountWithWorkloadIdentityToken is {token!r}; set it to \"true\" (a string) "
                "with clientID, or the driver fetches the account key to mount BlobFuse.")
    return messages


# --- Tags ----------------------------------------------------------------------------------------------
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
    missing = [key for key in required if not isinstance(tags, Mapping) or key not in tags
               or (not is_unknown(tags[key]) and not str(tags[key]).strip())]
    return [f"tags lack {missing} (required: {list(required)}); pass settings.tags(stack) as tags."] if missing else []


# --- The stack: BlobFuse volumes and their identity ----------------------------------------------------
# Storage Blob Data Contributor, Reader and Owner (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BLOB_DATA_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack as a stack rule sees it: plain props and the URNs it depends on."""

    type: str
    urn: str
    props: Mapping[str, Any]
    dependencies: frozenset[str] = frozenset()
    property_dependencies: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, resource: PolicyResource) -> "StackResource":
        return cls(resource.resource_type, resource.urn, plain(resource.props),
                   frozenset(d.urn for d in resource.dependencies),
                   {k: frozenset(d.urn for d in v) for k, v in resource.property_dependencies.items()})

    def depends_on(self, other: "StackResource", prop: str | None = None) -> bool:
        return other.urn in (self.property_dependencies.get(prop, frozenset()) if prop else self.dependencies)


def blob_volume_identities_hold_data_roles(resources: Sequence[StackResource]) -> list[tuple[str, str]]:
    """Every BlobFuse PV names a clientID whose managed identity in this stack holds a Storage Blob Data role
    on exactly that PV's container. Returns (message, urn) pairs.

    Preview knows few ids, so identities, principals and scopes match by value where both sides are known,
    else by the dependency that produced the value (the PV's spec came from the identity's clientId output,
    the role's scope from the container's id)."""
    identities = [r for r in resources if r.type == IDENTITY]
    roles = [r for r in resources if r.type == ROLE_ASSIGNMENT]
    containers = [r for r in resources if r.type == BLOB_CONTAINER]
    violations = []
    for pv in resources:
        if pv.type != PERSISTENT_VOLUME or lookup(pv.props, "spec.csi.driver") != BLOB_DRIVER:
            continue
        attributes = _lower_keys(lookup(pv.props, "spec.csi.volumeAttributes"))
        if str(attributes.get("protocol", "")).lower() == "nfs":
            continue
        name = lookup(pv.props, "metadata.name") or pv.urn.rsplit("::", 1)[-1]
        client_id, container = attributes.get("clientid"), attributes.get("containername")
        account = attributes.get("storageaccount")
        if client_id is None:
            violations.append((f"PersistentVolume {name!r} names no clientID: BlobFuse must mount as a managed "
                               "identity (volumeAttributes.clientID + mountWithWorkloadIdentityToken).", pv.urn))
            continue
        owners = [i for i in identities if _same(lookup(i.props, "clientId"), client_id)
                  or ((is_unknown(client_id) or is_unknown(lookup(i.props, "clientId"))) and pv.depends_on(i, "spec"))]
        if not owners:
            if not is_unknown(client_id):
                violations.append((f"PersistentVolume {name!r}: no UserAssignedIdentity in this stack has clientId "
                                   f"{client_id!r}.", pv.urn))
            continue
        granted = [role for role in roles for owner in owners
                   if (_same(lookup(role.props, "principalId"), lookup(owner.props, "principalId"))
                       or role.depends_on(owner, "principalId"))
                   and _is_blob_data_role(lookup(role.props, "roleDefinitionId"))]
        if not granted:
            violations.append((f"PersistentVolume {name!r}: identity {client_id!r} holds no Storage Blob Data role "
                               f"(e.g. Contributor, {next(iter(BLOB_DATA_ROLES))}).", pv.urn))
            continue
        if not any(_scoped_to(role, container, account, containers) for role in granted):
            scopes = [lookup(role.props, "scope") for role in granted]
            violations.append((f"PersistentVolume {name!r}: identity {client_id!r} holds Storage Blob Data roles on "
                               f"{scopes}, none on container {container!r} alone.", pv.urn))
    return violations


def _same(a: Any, b: Any) -> bool:
    return a is not None and not is_unknown(a) and not is_unknown(b) and str(a).lower() == str(b).lower()


def _is_blob_data_role(role_definition_id: Any) -> bool:
    return is_unknown(role_definition_id) or str(role_definition_id).lower().rsplit("/", 1)[-1] in BLOB_DATA_ROLES


def _scoped_to(role: StackResource, container: Any, account: Any, containers: Sequence[StackResource]) -> bool:
    scope = lookup(role.props, "scope")
    if isinstance(scope, str) and not is_unknown(scope):
        # An ARM id: .../storageAccounts/<account>/blobServices/default/containers/<container>
        match = re.search(r"/storageAccounts/([^/]+)/blobServices/default/containers/([^/]+)$", scope, re.IGNORECASE)
        if match:
            return _same(match[2], container) and (is_unknown(account) or _same(match[1], account))
    # Otherwise the scope is (or will be) the id of a container resource of this stack.
    for resource in containers:
        if role.depends_on(resource, "scope"):
            name, parent = lookup(resource.props, "containerName"), lookup(resource.props, "accountName")
            return (is_unknown(name) or _same(name, container)) and (
                is_unknown(parent) or is_unknown(account) or _same(parent, account))
    return scope is UNKNOWN or is_unknown(scope)


# --- The pack ------------------------------------------------------------------------------------------
ResourceCheck = Callable[[str, Mapping, Mapping], list[str]]


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    types: tuple[str, ...] | None
    """The resource types the rule looks at; None: every type."""
    check: ResourceCheck
    config: Mapping[str, tuple[dict, Any]] = field(default_factory=dict)
    """Policy config key → (JSON schema, default)."""

    def defaults(self) -> dict[str, Any]:
        return {key: default for key, (_, default) in self.config.items()}

    def violations(self, resource_type: str, props: Any, config: Mapping | None = None) -> list[str]:
        if self.types is not None and resource_type not in self.types:
            return []
        return self.check(resource_type, plain(props), {**self.defaults(), **(config or {})})

    def policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in self.violations(args.resource_type, args.props, args.get_config()):
                report_violation(message, None)

        schema = None
        if self.config:
            schema = PolicyConfigSchema({key: {**spec, "default": default}
                                         for key, (spec, default) in self.config.items()})
        return ResourceValidationPolicy(name=self.name, description=self.description, validate=validate,
                                        config_schema=schema)


RULES = (
    ResourceRule("storage-account-no-shared-key",
                 "Storage accounts refuse shared keys (allowSharedKeyAccess false). Mirrors CKV2_AZURE_40 and Azure "
                 "Policy 8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54 'Storage accounts should prevent shared key access'.",
                 (STORAGE_ACCOUNT,), storage_no_shared_key),
    ResourceRule("storage-account-no-public-blob-access",
                 "Storage accounts forbid anonymous blob access (allowBlobPublicAccess false). Mirrors CKV_AZURE_190 "
                 "and Azure Policy 4fa4b6c0-31ca-4c0d-b10d-24b96f62a751 'Storage account public access should be "
                 "disallowed'.",
                 (STORAGE_ACCOUNT,), storage_no_public_blob_access),
    ResourceRule("storage-account-tls-1-2",
                 "Storage accounts require TLS 1.2 or newer (minimumTlsVersion). Mirrors CKV_AZURE_44 and Azure "
                 "Policy fe83a0eb-a853-422d-aac2-1bffd182c5d0 'Storage accounts should have the specified minimum TLS "
                 "version'.",
                 (STORAGE_ACCOUNT,), storage_tls),
    ResourceRule("storage-account-https-only",
                 "Storage accounts accept HTTPS only (enableHttpsTrafficOnly true). Mirrors CKV_AZURE_3 and Azure "
                 "Policy 404c3081-a854-4457-ae30-26a93ef643f9 'Secure transfer to storage accounts should be enabled'.",
                 (STORAGE_ACCOUNT,), storage_https_only),
    ResourceRule("storage-account-firewall-deny",
                 "Storage account firewalls deny by default (networkRuleSet.defaultAction Deny). Mirrors CKV_AZURE_35 "
                 "and Azure Policy 34c877ad-507e-4c82-993e-3452a6e0ad3c 'Storage accounts should restrict network "
                 "access'.",
                 (STORAGE_ACCOUNT,), storage_firewall),
    ResourceRule("blob-soft-delete",
                 "Blob services keep deleted blobs and containers (delete and container delete retention on). Mirrors "
                 "CKV2_AZURE_38 (blobs) and the settings of Azure Policy 9fbd64e3-67b8-489b-98e5-fa0007d17e76 "
                 "'Configure soft delete for blobs and containers on Storage Accounts'.",
                 (BLOB_SERVICE,), blob_soft_delete),
    ResourceRule("aks-workload-identity",
                 "AKS runs the OIDC issuer, workload identity and the Blob CSI driver. Mirrors Azure Policy "
                 "2cc2e023-0dac-4046-875b-178f683929d5 'Azure Kubernetes Service Clusters should enable workload "
                 "identity'.",
                 (MANAGED_CLUSTER,), aks_workload_identity),
    ResourceRule("aks-entra-id-only",
                 "AKS takes Entra ID logins only: local accounts off, managed Entra ID with Azure RBAC, Kubernetes "
                 "RBAC on. Mirrors CKV_AZURE_141, CKV_AZURE_5 and Azure Policies 993c2fcd-2b29-49d2-9eb0-df2c3a730c32 "
                 "'Azure Kubernetes Service Clusters should have local authentication methods disabled' and "
                 "450d2877-ebea-41e8-b00c-e286317d21bf '... should enable Microsoft Entra ID integration'.",
                 (MANAGED_CLUSTER,), aks_entra_id_only),
    ResourceRule("aks-network-policy",
                 "AKS enforces NetworkPolicies (networkProfile.networkPolicy azure, calico or cilium). "
                 "Mirrors CKV_AZURE_7.",
                 (MANAGED_CLUSTER,), aks_network_policy),
    ResourceRule("aks-auto-upgrade",
                 "AKS upgrades itself (autoUpgradeProfile.upgradeChannel set, not none) and patches node OS images "
                 "(nodeOSUpgradeChannel NodeImage or SecurityPatch). Mirrors CKV_AZURE_171 and Azure Policy "
                 "04408ca5-aa10-42ce-8536-98955cdddd4c 'Azure Kubernetes Service Clusters should enable node os "
                 "auto-upgrade'; related to 5c345cdf-2049-47e0-b8fe-b0e96bc2df35 (which also refuses node-image).",
                 (MANAGED_CLUSTER,), aks_auto_upgrade),
    ResourceRule("aks-api-server-restricted",
                 "The AKS API server is private or limited to authorized IP ranges, none of them 0.0.0.0/0. Mirrors "
                 "CKV_AZURE_6 / CKV_AZURE_115 (either passes) and Azure Policy 0e246bcf-5f6f-4f87-bc6f-775d4712c7ea "
                 "'Authorized IP ranges should be defined on Kubernetes Services'.",
                 (MANAGED_CLUSTER,), aks_api_server_restricted),
    ResourceRule("gpu-pool-autoscales-from-zero",
                 "GPU node pools (NC, ND, NV sizes) autoscale from zero to a bounded maximum (policy config maxNodes, "
                 "default 8): an idle GPU costs dollars an hour. A cost rule of this project; no external id.",
                 (AGENT_POOL, MANAGED_CLUSTER), gpu_pool_autoscales_from_zero,
                 {"maxNodes": ({"type": "integer", "minimum": 1}, DEFAULT_MAX_GPU_NODES)}),
    ResourceRule("ray-not-exposed",
                 "Ray's dashboard, Jobs API, client and GCS ports are never exposed outside the cluster: no "
                 "LoadBalancer or NodePort Service, no Ingress, no public head service type. Related to Azure Policy "
                 "3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e 'Kubernetes clusters should use internal load balancers' "
                 "(stricter: no load balancer at all).",
                 (SERVICE, INGRESS, RAY_CLUSTER, RAY_JOB, RAY_SERVICE), ray_not_exposed),
    ResourceRule("ray-token-auth",
                 "Ray clusters require token authentication (spec.authOptions.mode token, KubeRay >= 1.5, "
                 "Ray >= 2.52). A rule of this project; no external id.",
                 (RAY_CLUSTER, RAY_JOB, RAY_SERVICE), ray_token_auth),
    ResourceRule("ray-pods-unprivileged",
                 "Ray head and worker containers are not privileged and never allow privilege escalation. Mirrors "
                 "CKV_K8S_16 and Azure Policy 95edb821-ddaf-4404-9732-666045e056b4 'Kubernetes cluster should not "
                 "allow privileged containers'; related to CKV_K8S_20 and 1c6e92c9-99f0-4e55-9cf2-0c234dc48f99 (which "
                 "also want allowPrivilegeEscalation set to false explicitly).",
                 (RAY_CLUSTER, RAY_JOB, RAY_SERVICE), ray_pods_unprivileged),
    ResourceRule("blob-volumes-keyless",
                 "Nothing mounts Blob storage with an account key or SAS token: no key-bearing Secret, no secret "
                 "reference or key parameter on Blob CSI PersistentVolumes and StorageClasses, and BlobFuse PVs mount "
                 "with the workload identity token. Extends CKV2_AZURE_40 to the cluster side.",
                 (SECRET, PERSISTENT_VOLUME, STORAGE_CLASS), blob_volumes_keyless),
    ResourceRule("azure-required-tags",
                 "Azure resources that take tags carry the required tags (policy config requiredTags, default "
                 "project, stack, managed-by). Mirrors Azure Policy 871b6d14-10aa-478d-b590-94f262ecfa99 'Require a "
                 "tag on resources', once per tag.",
                 None, required_tags,
                 {"requiredTags": ({"type": "array", "items": {"type": "string"}}, list(DEFAULT_REQUIRED_TAGS))}),
)

BLOB_ROLE_POLICY_NAME = "blob-volume-identity-has-data-role"


def _validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message, urn in blob_volume_identities_hold_data_roles([StackResource.of(r) for r in args.resources]):
        report_violation(message, urn)


BLOB_ROLE_POLICY = StackValidationPolicy(
    name=BLOB_ROLE_POLICY_NAME,
    description="Every BlobFuse PersistentVolume mounts as a managed identity of this stack "
                "(volumeAttributes.clientID) that holds a Storage Blob Data role scoped to that volume's container, "
                "and no wider. A least-privilege rule of this project; no external id.",
    validate=_validate_stack,
)

POLICIES = [rule.policy() for rule in RULES] + [BLOB_ROLE_POLICY]
