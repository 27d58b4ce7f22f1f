"""Each resource policy of the pack, called the way pulumi-policy calls it (ResourceValidationArgs with the
unknown-checking proxy): one case that passes, one or more that violate, and unknown values at preview."""

from __future__ import annotations

from typing import Any

import pytest

import versions
from policy import policies as p
from pulumi_internals import UNKNOWN_ARRAY_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE
from tests.policy.analyzer import POLICIES, check

STORAGE: dict[str, Any] = {
    "allowSharedKeyAccess": False,
    "allowBlobPublicAccess": False,
    "minimumTlsVersion": "TLS1_2",
    "enableHttpsTrafficOnly": True,
    "networkRuleSet": {"defaultAction": "Deny", "bypass": "AzureServices"},
    "location": "eastus2",
    "tags": {"project": "ray-aks", "stack": "dev", "managed-by": "pulumi"},
}
BLOB_SERVICE = {
    "deleteRetentionPolicy": {"enabled": True, "days": 7},
    "containerDeleteRetentionPolicy": {"enabled": True, "days": 7},
}
AKS = {
    "oidcIssuerProfile": {"enabled": True},
    "securityProfile": {"workloadIdentity": {"enabled": True}},
    "storageProfile": {"blobCSIDriver": {"enabled": True}},
    "disableLocalAccounts": True,
    "enableRBAC": True,
    "aadProfile": {"managed": True, "enableAzureRBAC": True},
    "networkProfile": {"networkPlugin": "azure", "networkPolicy": "cilium"},
    "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"},
    "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.7/32"]},
    "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4ds_v5", "count": 2}],
}
GPU_POOL = {
    "vmSize": "Standard_NC8as_T4_v3",
    "mode": "User",
    "enableAutoScaling": True,
    "minCount": 0,
    "maxCount": 2,
    "count": 0,
}


def ray_cluster(
    head_service_type: str = "ClusterIP",
    auth: dict | None = None,
    head_security: dict | None = None,
    worker_security: dict | None = None,
) -> dict:
    def template(name: str, security: dict | None) -> dict:
        container: dict = {"name": name, "image": versions.RAY_IMAGE}
        if security is not None:
            container["securityContext"] = security
        return {"spec": {"containers": [container]}}

    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "ray-tune"},
        "spec": {
            **({"authOptions": auth} if auth is not None else {}),
            "headGroupSpec": {"serviceType": head_service_type, "template": template("ray-head", head_security)},
            "workerGroupSpecs": [{"groupName": "gpu", "template": template("ray-worker", worker_security)}],
        },
    }


RAY = ray_cluster(auth={"mode": "token"})


def blob_pv(**attributes) -> dict:
    return {
        "metadata": {"name": "ray-datasets"},
        "spec": {
            "csi": {
                "driver": "blob.csi.azure.com",
                "volumeHandle": "acct_datasets",
                "volumeAttributes": {
                    "storageAccount": "acct",
                    "containerName": "datasets",
                    "protocol": "fuse2",
                    "clientID": "3c20d8e3-fdee-5025-ae42-1579eb9bc801",
                    "mountWithWorkloadIdentityToken": "true",
                    **attributes,
                },
            }
        },
    }


def service(kind: str, selector: dict, port: int = 80) -> dict:
    return {"spec": {"type": kind, "selector": selector, "ports": [{"port": port, "targetPort": port}]}}


# (policy, type, props, config, expected fragment of the one message; None: no violation)
CASES = {
    # Storage
    "a hardened storage account passes": ("storage-account-no-shared-key", p.STORAGE_ACCOUNT, STORAGE, None, None),
    "shared key access on is refused": (
        "storage-account-no-shared-key",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "allowSharedKeyAccess": True},
        None,
        "allowSharedKeyAccess is True",
    ),
    "shared key access left unset is refused (Azure's default is on)": (
        "storage-account-no-shared-key",
        p.STORAGE_ACCOUNT,
        {k: v for k, v in STORAGE.items() if k != "allowSharedKeyAccess"},
        None,
        "allowSharedKeyAccess is not set",
    ),
    "anonymous blob access off passes": (
        "storage-account-no-public-blob-access",
        p.STORAGE_ACCOUNT,
        STORAGE,
        None,
        None,
    ),
    "anonymous blob access on is refused": (
        "storage-account-no-public-blob-access",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "allowBlobPublicAccess": True},
        None,
        "allowBlobPublicAccess is True",
    ),
    "TLS 1.3 passes": (
        "storage-account-tls-1-2",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "minimumTlsVersion": "TLS1_3"},
        None,
        None,
    ),
    "TLS 1.0 is refused": (
        "storage-account-tls-1-2",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "minimumTlsVersion": "TLS1_0"},
        None,
        "minimumTlsVersion is 'TLS1_0'",
    ),
    "HTTPS only passes": ("storage-account-https-only", p.STORAGE_ACCOUNT, STORAGE, None, None),
    "plain HTTP is refused": (
        "storage-account-https-only",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "enableHttpsTrafficOnly": False},
        None,
        "enableHttpsTrafficOnly is False",
    ),
    "a deny-by-default firewall passes": ("storage-account-firewall-deny", p.STORAGE_ACCOUNT, STORAGE, None, None),
    "an allow-by-default firewall is refused": (
        "storage-account-firewall-deny",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "networkRuleSet": {"defaultAction": "Allow"}},
        None,
        "networkRuleSet.defaultAction is 'Allow'",
    ),
    "blob and container soft delete on passes": ("blob-soft-delete", p.BLOB_SERVICE, BLOB_SERVICE, None, None),
    "container soft delete off is refused": (
        "blob-soft-delete",
        p.BLOB_SERVICE,
        {**BLOB_SERVICE, "containerDeleteRetentionPolicy": {"enabled": False}},
        None,
        "containerDeleteRetentionPolicy.enabled is False",
    ),
    # AKS
    "a cluster with workload identity and the Blob CSI driver passes": (
        "aks-workload-identity",
        p.MANAGED_CLUSTER,
        AKS,
        None,
        None,
    ),
    "a cluster without the Blob CSI driver is refused": (
        "aks-workload-identity",
        p.MANAGED_CLUSTER,
        {**AKS, "storageProfile": {"blobCSIDriver": {"enabled": False}}},
        None,
        "storageProfile.blobCSIDriver.enabled is False",
    ),
    "Entra ID with Azure RBAC and no local accounts passes": ("aks-entra-id-only", p.MANAGED_CLUSTER, AKS, None, None),
    "local accounts on are refused": (
        "aks-entra-id-only",
        p.MANAGED_CLUSTER,
        {**AKS, "disableLocalAccounts": False},
        None,
        "disableLocalAccounts is False",
    ),
    "Kubernetes RBAC off is refused": (
        "aks-entra-id-only",
        p.MANAGED_CLUSTER,
        {**AKS, "enableRBAC": False},
        None,
        "enableRBAC is False",
    ),
    "a network policy engine passes": ("aks-network-policy", p.MANAGED_CLUSTER, AKS, None, None),
    "no network policy engine is refused": (
        "aks-network-policy",
        p.MANAGED_CLUSTER,
        {**AKS, "networkProfile": {"networkPlugin": "azure"}},
        None,
        "networkProfile.networkPolicy is not set",
    ),
    "metrics and managed-identity logging pass": (
        "aks-monitoring-on",
        p.MANAGED_CLUSTER,
        {
            **AKS,
            "azureMonitorProfile": {"metrics": {"enabled": True}},
            "addonProfiles": {"omsagent": {"enabled": True, "config": {"useAADAuth": "true"}}},
        },
        None,
        None,
    ),
    "a cluster without managed Prometheus is refused": (
        "aks-monitoring-on",
        p.MANAGED_CLUSTER,
        {**AKS, "addonProfiles": {"omsagent": {"enabled": True, "config": {"useAADAuth": "true"}}}},
        None,
        "azureMonitorProfile.metrics.enabled is not set",
    ),
    "the patch channel passes": ("aks-auto-upgrade", p.MANAGED_CLUSTER, AKS, None, None),
    "the node-image channel passes whatever the node OS channel": (
        "aks-auto-upgrade",
        p.MANAGED_CLUSTER,
        {**AKS, "autoUpgradeProfile": {"upgradeChannel": "node-image", "nodeOSUpgradeChannel": "None"}},
        None,
        None,
    ),
    "upgrade channel none is refused": (
        "aks-auto-upgrade",
        p.MANAGED_CLUSTER,
        {**AKS, "autoUpgradeProfile": {"upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage"}},
        None,
        "upgradeChannel is 'none'",
    ),
    "an unmanaged node OS is refused": (
        "aks-auto-upgrade",
        p.MANAGED_CLUSTER,
        {**AKS, "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "Unmanaged"}},
        None,
        "nodeOSUpgradeChannel is 'Unmanaged'",
    ),
    "authorized IP ranges pass": ("aks-api-server-restricted", p.MANAGED_CLUSTER, AKS, None, None),
    "a private cluster passes without ranges": (
        "aks-api-server-restricted",
        p.MANAGED_CLUSTER,
        {**AKS, "apiServerAccessProfile": {"enablePrivateCluster": True}},
        None,
        None,
    ),
    "an API server without ranges is refused": (
        "aks-api-server-restricted",
        p.MANAGED_CLUSTER,
        {**AKS, "apiServerAccessProfile": {"authorizedIPRanges": []}},
        None,
        "reachable from the whole internet",
    ),
    "0.0.0.0/0 among the ranges is refused": (
        "aks-api-server-restricted",
        p.MANAGED_CLUSTER,
        {**AKS, "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.7/32", "0.0.0.0/0"]}},
        None,
        "['0.0.0.0/0'], the whole internet",
    ),
    # GPU pools
    "a GPU pool from 0 to 2 passes": ("gpu-pool-autoscales-from-zero", p.AGENT_POOL, GPU_POOL, None, None),
    "a GPU pool that keeps a node is refused": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "minCount": 1},
        None,
        "minCount is 1",
    ),
    "a GPU pool above the default bound of 8 is refused": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "maxCount": 9},
        None,
        "maxCount is 9; at most 8 GPU nodes",
    ),
    "a GPU pool within a bound raised by config passes": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "maxCount": 9},
        {"maxNodes": 16},
        None,
    ),
    "a GPU pool without the autoscaler is refused": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "enableAutoScaling": False},
        None,
        "enableAutoScaling is False",
    ),
    "a CPU pool that keeps a node passes": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "vmSize": "Standard_D8ds_v5", "minCount": 1},
        None,
        None,
    ),
    "a GPU size in the cluster's system pool is refused": (
        "gpu-pool-autoscales-from-zero",
        p.MANAGED_CLUSTER,
        {
            **AKS,
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "mode": "System",
                    "vmSize": "Standard_NC8as_T4_v3",
                    "enableAutoScaling": True,
                    "minCount": 0,
                    "maxCount": 1,
                }
            ],
        },
        None,
        "in a System pool",
    ),
    # Ray on Kubernetes
    "a ClusterIP head passes": ("ray-not-exposed", p.RAY_CLUSTER, RAY, None, None),
    "a LoadBalancer head is refused": (
        "ray-not-exposed",
        p.RAY_CLUSTER,
        ray_cluster("LoadBalancer", {"mode": "token"}),
        None,
        "headGroupSpec.serviceType is 'LoadBalancer'",
    ),
    "a LoadBalancer Service selecting Ray pods is refused": (
        "ray-not-exposed",
        p.SERVICE,
        service("LoadBalancer", {"ray.io/cluster": "ray-tune"}),
        None,
        "selects Ray pods (ray.io/cluster)",
    ),
    "a NodePort Service on the dashboard port is refused": (
        "ray-not-exposed",
        p.SERVICE,
        service("NodePort", {"app": "proxy"}, 8265),
        None,
        "exposes Ray ports [8265]",
    ),
    "a ClusterIP Service selecting Ray pods passes": (
        "ray-not-exposed",
        p.SERVICE,
        service("ClusterIP", {"ray.io/cluster": "ray-tune"}),
        None,
        None,
    ),
    "a LoadBalancer for something else passes": (
        "ray-not-exposed",
        p.SERVICE,
        service("LoadBalancer", {"app": "web"}, 443),
        None,
        None,
    ),
    "an Ingress to the Ray head service is refused": (
        "ray-not-exposed",
        p.INGRESS,
        {
            "spec": {
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "backend": {"service": {"name": "ray-tune-head-svc", "port": {"number": 8265}}},
                                }
                            ]
                        }
                    }
                ]
            }
        },
        None,
        "routes to the Ray head (ray-tune-head-svc:8265)",
    ),
    "an Ingress to another service passes": (
        "ray-not-exposed",
        p.INGRESS,
        {"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
        None,
        None,
    ),
    "token authentication passes": ("ray-token-auth", p.RAY_CLUSTER, RAY, None, None),
    "a RayCluster without authOptions is refused": (
        "ray-token-auth",
        p.RAY_CLUSTER,
        ray_cluster(),
        None,
        "spec.authOptions.mode is not set",
    ),
    "a RayJob's cluster without token auth is refused": (
        "ray-token-auth",
        p.RAY_JOB,
        {"spec": {"rayClusterSpec": ray_cluster()["spec"]}},
        None,
        "spec.rayClusterSpec.authOptions.mode is not set",
    ),
    "unprivileged Ray containers pass": (
        "ray-pods-unprivileged",
        p.RAY_CLUSTER,
        ray_cluster(auth={"mode": "token"}, worker_security={"allowPrivilegeEscalation": False}),
        None,
        None,
    ),
    "a privileged head is refused": (
        "ray-pods-unprivileged",
        p.RAY_CLUSTER,
        ray_cluster(auth={"mode": "token"}, head_security={"privileged": True}),
        None,
        "headGroupSpec.template.spec.containers['ray-head'].securityContext.privileged is True",
    ),
    "a worker allowed to escalate privileges is refused": (
        "ray-pods-unprivileged",
        p.RAY_CLUSTER,
        ray_cluster(auth={"mode": "token"}, worker_security={"allowPrivilegeEscalation": True}),
        None,
        "workerGroupSpecs[gpu].template.spec.containers['ray-worker'].securityContext.allowPrivilegeEscalation is True",
    ),
    # Keys
    "a BlobFuse PV mounting with the workload identity token passes": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        blob_pv(),
        None,
        None,
    ),
    "a BlobFuse PV without the workload identity token is refused": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        blob_pv(mountWithWorkloadIdentityToken="false"),
        None,
        "mountWithWorkloadIdentityToken is 'false'",
    ),
    "a BlobFuse PV with a key secret is refused": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        {
            "spec": {
                "csi": {**blob_pv()["spec"]["csi"], "nodeStageSecretRef": {"name": "azure-secret", "namespace": "ray"}}
            }
        },
        None,
        "spec.csi.nodeStageSecretRef names a Secret",
    ),
    "a BlobFuse PV naming a key secret in its attributes is refused": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        blob_pv(secretName="azure-secret"),
        None,
        "['secretname']",
    ),
    "an NFS blob PV passes (no key involved)": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        {"spec": {"csi": {"driver": "blob.csi.azure.com", "volumeAttributes": {"protocol": "nfs"}}}},
        None,
        None,
    ),
    "a Blob StorageClass without key parameters passes": (
        "blob-volumes-keyless",
        p.STORAGE_CLASS,
        {"provisioner": "blob.csi.azure.com", "parameters": {"protocol": "fuse2"}},
        None,
        None,
    ),
    "a Blob StorageClass storing keys in a secret is refused": (
        "blob-volumes-keyless",
        p.STORAGE_CLASS,
        {
            "provisioner": "blob.csi.azure.com",
            "parameters": {"protocol": "fuse2", "secretName": "k", "storeAccountKey": "true"},
        },
        None,
        "['secretname', 'storeaccountkey']",
    ),
    "a Secret holding an account key is refused": (
        "blob-volumes-keyless",
        p.SECRET,
        {"stringData": {"azurestorageaccountname": "acct", "azurestorageaccountkey": "x"}},
        None,
        "(azurestorageaccountkey)",
    ),
    "an unrelated Secret passes": ("blob-volumes-keyless", p.SECRET, {"stringData": {"token": "x"}}, None, None),
    # Tags
    "a tagged storage account passes": ("azure-required-tags", p.STORAGE_ACCOUNT, STORAGE, None, None),
    "a storage account without managed-by is refused": (
        "azure-required-tags",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "tags": {"project": "ray-aks", "stack": "dev"}},
        None,
        "tags lack ['managed-by']",
    ),
    "a tag required by config is enforced": (
        "azure-required-tags",
        p.STORAGE_ACCOUNT,
        STORAGE,
        {"requiredTags": ["owner"]},
        "tags lack ['owner']",
    ),
    "an untagged tracked resource of any type is refused": (
        "azure-required-tags",
        "azure-native:keyvault:Vault",
        {"location": "eastus2"},
        None,
        "tags lack ['project', 'stack', 'managed-by']",
    ),
    "a subnet, which takes no tags, passes untagged": (
        "azure-required-tags",
        "azure-native:network:Subnet",
        {"addressPrefix": "10.0.0.0/22"},
        None,
        None,
    ),
}


@pytest.mark.parametrize(("policy", "type_", "props", "config", "expected"), CASES.values(), ids=CASES.keys())
def test_policy(policy, type_, props, config, expected):
    messages = check(policy, type_, props, config)
    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1 and expected in messages[0], messages


def test_every_resource_policy_has_a_passing_and_a_violating_case():
    covered = {(policy, expected is None) for policy, _, _, _, expected in CASES.values()}
    for name in POLICIES:
        if name != p.BLOB_ROLE_POLICY_NAME:
            assert {(name, True), (name, False)} <= covered, name


def test_policies_ignore_resource_types_they_do_not_govern():
    assert check("storage-account-https-only", p.BLOB_CONTAINER, {"enableHttpsTrafficOnly": False}) == []
    assert check("ray-token-auth", p.SERVICE, {"spec": {}}) == []


# --- Preview: values computed from other resources' outputs are unknown ------------------------------

PREVIEW_CASES = {
    "an unknown firewall": (
        "storage-account-firewall-deny",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "networkRuleSet": UNKNOWN_OBJECT_VALUE},
    ),
    "unknown authorized IP ranges": (
        "aks-api-server-restricted",
        p.MANAGED_CLUSTER,
        {**AKS, "apiServerAccessProfile": {"authorizedIPRanges": UNKNOWN_ARRAY_VALUE}},
    ),
    "an unknown GPU pool maximum": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "maxCount": UNKNOWN_NUMBER_VALUE},
    ),
    "an unknown VM size": (
        "gpu-pool-autoscales-from-zero",
        p.AGENT_POOL,
        {**GPU_POOL, "vmSize": UNKNOWN_STRING_VALUE, "minCount": 3},
    ),
    "a PV whose attributes wait on the identity": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        {"spec": {"csi": {"driver": "blob.csi.azure.com", "volumeAttributes": UNKNOWN_OBJECT_VALUE}}},
    ),
    "a PV whose whole spec waits on the identity": (
        "blob-volumes-keyless",
        p.PERSISTENT_VOLUME,
        {"spec": UNKNOWN_OBJECT_VALUE},
    ),
    "tags computed from outputs": ("azure-required-tags", p.STORAGE_ACCOUNT, {**STORAGE, "tags": UNKNOWN_OBJECT_VALUE}),
    "a tag value computed from outputs": (
        "azure-required-tags",
        p.STORAGE_ACCOUNT,
        {**STORAGE, "tags": {**STORAGE["tags"], "stack": UNKNOWN_STRING_VALUE}},
    ),
}


@pytest.mark.parametrize(("policy", "type_", "props"), PREVIEW_CASES.values(), ids=PREVIEW_CASES.keys())
def test_unknown_values_at_preview_are_not_violations(policy, type_, props):
    assert check(policy, type_, props) == []


def test_a_literal_set_wrong_is_a_violation_even_beside_unknown_values():
    props = {**STORAGE, "tags": UNKNOWN_OBJECT_VALUE, "location": UNKNOWN_STRING_VALUE, "allowSharedKeyAccess": True}
    assert check("storage-account-no-shared-key", p.STORAGE_ACCOUNT, props) == [
        "allowSharedKeyAccess is True; it must be False. Clients, BlobFuse included, authenticate with Entra ID; "
        "an account key is a password that never expires."
    ]
