"""The catalogue: every policy of the pack, with what it checks and the rule it mirrors.

Descriptions name the rule each policy mirrors: Checkov check ids (bridgecrewio/checkov,
checkov/{arm,terraform,kubernetes}/checks) and Azure Policy built-in definitions (Azure/azure-policy,
built-in-policies/policyDefinitions), checked against those sources. "Related" means same intent, not the
same test.
"""

from __future__ import annotations

from policy.resource_types import (
    AGENT_POOL,
    BLOB_SERVICE,
    INGRESS,
    MANAGED_CLUSTER,
    PERSISTENT_VOLUME,
    RAY_CLUSTER,
    RAY_JOB,
    RAY_SERVICE,
    SECRET,
    SERVICE,
    STORAGE_ACCOUNT,
    STORAGE_CLASS,
)
from policy.rule import ResourceRule
from policy.rules.aks import (
    DEFAULT_MAX_GPU_NODES,
    aks_api_server_restricted,
    aks_auto_upgrade,
    aks_entra_id_only,
    aks_network_policy,
    aks_workload_identity,
    gpu_pool_autoscales_from_zero,
)
from policy.rules.keys import blob_volumes_keyless
from policy.rules.monitoring import OPT_OUT, aks_monitoring_on
from policy.rules.ray import ray_not_exposed, ray_pods_unprivileged, ray_token_auth
from policy.rules.storage import (
    blob_soft_delete,
    storage_firewall,
    storage_https_only,
    storage_no_public_blob_access,
    storage_no_shared_key,
    storage_tls,
)
from policy.rules.tags import DEFAULT_REQUIRED_TAGS, required_tags

RULES = (
    ResourceRule(
        "storage-account-no-shared-key",
        "Storage accounts refuse shared keys (allowSharedKeyAccess false). Mirrors CKV2_AZURE_40 and Azure "
        "Policy 8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54 'Storage accounts should prevent shared key access'.",
        (STORAGE_ACCOUNT,),
        storage_no_shared_key,
    ),
    ResourceRule(
        "storage-account-no-public-blob-access",
        "Storage accounts forbid anonymous blob access (allowBlobPublicAccess false). Mirrors CKV_AZURE_190 "
        "and Azure Policy 4fa4b6c0-31ca-4c0d-b10d-24b96f62a751 'Storage account public access should be "
        "disallowed'.",
        (STORAGE_ACCOUNT,),
        storage_no_public_blob_access,
    ),
    ResourceRule(
        "storage-account-tls-1-2",
        "Storage accounts require TLS 1.2 or newer (minimumTlsVersion). Mirrors CKV_AZURE_44 and Azure "
        "Policy fe83a0eb-a853-422d-aac2-1bffd182c5d0 'Storage accounts should have the specified minimum TLS "
        "version'.",
        (STORAGE_ACCOUNT,),
        storage_tls,
    ),
    ResourceRule(
        "storage-account-https-only",
        "Storage accounts accept HTTPS only (enableHttpsTrafficOnly true). Mirrors CKV_AZURE_3 and Azure "
        "Policy 404c3081-a854-4457-ae30-26a93ef643f9 'Secure transfer to storage accounts should be enabled'.",
        (STORAGE_ACCOUNT,),
        storage_https_only,
    ),
    ResourceRule(
        "storage-account-firewall-deny",
        "Storage account firewalls deny by default (networkRuleSet.defaultAction Deny). Mirrors CKV_AZURE_35 "
        "and Azure Policy 34c877ad-507e-4c82-993e-3452a6e0ad3c 'Storage accounts should restrict network "
        "access'.",
        (STORAGE_ACCOUNT,),
        storage_firewall,
    ),
    ResourceRule(
        "blob-soft-delete",
        "Blob services keep deleted blobs and containers (delete and container delete retention on). Mirrors "
        "CKV2_AZURE_38 (blobs) and the settings of Azure Policy 9fbd64e3-67b8-489b-98e5-fa0007d17e76 "
        "'Configure soft delete for blobs and containers on Storage Accounts'.",
        (BLOB_SERVICE,),
        blob_soft_delete,
    ),
    ResourceRule(
        "aks-workload-identity",
        "AKS runs the OIDC issuer, workload identity and the Blob CSI driver. Mirrors Azure Policy "
        "2cc2e023-0dac-4046-875b-178f683929d5 'Azure Kubernetes Service Clusters should enable workload "
        "identity'.",
        (MANAGED_CLUSTER,),
        aks_workload_identity,
    ),
    ResourceRule(
        "aks-entra-id-only",
        "AKS takes Entra ID logins only: local accounts off, managed Entra ID with Azure RBAC, Kubernetes "
        "RBAC on. Mirrors CKV_AZURE_141, CKV_AZURE_5 and Azure Policies 993c2fcd-2b29-49d2-9eb0-df2c3a730c32 "
        "'Azure Kubernetes Service Clusters should have local authentication methods disabled' and "
        "450d2877-ebea-41e8-b00c-e286317d21bf '... should enable Microsoft Entra ID integration'.",
        (MANAGED_CLUSTER,),
        aks_entra_id_only,
    ),
    ResourceRule(
        "aks-network-policy",
        "AKS enforces NetworkPolicies (networkProfile.networkPolicy azure, calico or cilium). Mirrors CKV_AZURE_7.",
        (MANAGED_CLUSTER,),
        aks_network_policy,
    ),
    ResourceRule(
        "aks-auto-upgrade",
        "AKS upgrades itself (autoUpgradeProfile.upgradeChannel set, not none) and patches node OS images "
        "(nodeOSUpgradeChannel NodeImage or SecurityPatch). Mirrors CKV_AZURE_171 and Azure Policy "
        "04408ca5-aa10-42ce-8536-98955cdddd4c 'Azure Kubernetes Service Clusters should enable node os "
        "auto-upgrade'; related to 5c345cdf-2049-47e0-b8fe-b0e96bc2df35 (which also refuses node-image).",
        (MANAGED_CLUSTER,),
        aks_auto_upgrade,
    ),
    ResourceRule(
        "aks-api-server-restricted",
        "The AKS API server is private or limited to authorized IP ranges, none of them 0.0.0.0/0. Mirrors "
        "CKV_AZURE_6 / CKV_AZURE_115 (either passes) and Azure Policy 0e246bcf-5f6f-4f87-bc6f-775d4712c7ea "
        "'Authorized IP ranges should be defined on Kubernetes Services'.",
        (MANAGED_CLUSTER,),
        aks_api_server_restricted,
    ),
    ResourceRule(
        "gpu-pool-autoscales-from-zero",
        "GPU node pools (NC, ND, NV sizes) autoscale from zero to a bounded maximum (policy config maxNodes, "
        "default 8): an idle GPU costs dollars an hour. A cost rule of this project; no external id.",
        (AGENT_POOL, MANAGED_CLUSTER),
        gpu_pool_autoscales_from_zero,
        {"maxNodes": ({"type": "integer", "minimum": 1}, DEFAULT_MAX_GPU_NODES)},
    ),
    ResourceRule(
        "aks-monitoring-on",
        "AKS sends metrics to Azure Monitor managed Prometheus (azureMonitorProfile.metrics.enabled) and logs "
        "to Container Insights with managed-identity auth (omsagent add-on with useAADAuth), unless the pack's "
        "config sets allowMonitoringOff. Mirrors CKV_AZURE_4 (AKS logging to Azure Monitor) for the logs; the "
        "metrics and the managed-identity auth are rules of this project.",
        (MANAGED_CLUSTER,),
        aks_monitoring_on,
        {OPT_OUT: ({"type": "boolean"}, False)},
    ),
    ResourceRule(
        "ray-not-exposed",
        "Ray's dashboard, Jobs API, client and GCS ports are never exposed outside the cluster: no "
        "LoadBalancer or NodePort Service, no Ingress, no public head service type. Related to Azure Policy "
        "3fc4dc25-5baf-40d8-9b05-7fe74c1bc64e 'Kubernetes clusters should use internal load balancers' "
        "(stricter: no load balancer at all).",
        (SERVICE, INGRESS, RAY_CLUSTER, RAY_JOB, RAY_SERVICE),
        ray_not_exposed,
    ),
    ResourceRule(
        "ray-token-auth",
        "Ray clusters require token authentication (spec.authOptions.mode token, KubeRay >= 1.5, "
        "Ray >= 2.52). A rule of this project; no external id.",
        (RAY_CLUSTER, RAY_JOB, RAY_SERVICE),
        ray_token_auth,
    ),
    ResourceRule(
        "ray-pods-unprivileged",
        "Ray head and worker containers are not privileged and never allow privilege escalation. Mirrors "
        "CKV_K8S_16 and Azure Policy 95edb821-ddaf-4404-9732-666045e056b4 'Kubernetes cluster should not "
        "allow privileged containers'; related to CKV_K8S_20 and 1c6e92c9-99f0-4e55-9cf2-0c234dc48f99 (which "
        "also want allowPrivilegeEscalation set to false explicitly).",
        (RAY_CLUSTER, RAY_JOB, RAY_SERVICE),
        ray_pods_unprivileged,
    ),
    ResourceRule(
        "blob-volumes-keyless",
        "Nothing mounts Blob storage with an account key or SAS token: no key-bearing Secret, no secret "
        "reference or key parameter on Blob CSI PersistentVolumes and StorageClasses, and BlobFuse PVs mount "
        "with the workload identity token. Extends CKV2_AZURE_40 to the cluster side.",
        (SECRET, PERSISTENT_VOLUME, STORAGE_CLASS),
        blob_volumes_keyless,
    ),
    ResourceRule(
        "azure-required-tags",
        "Azure resources that take tags carry the required tags (policy config requiredTags, default "
        "project, stack, managed-by). Mirrors Azure Policy 871b6d14-10aa-478d-b590-94f262ecfa99 'Require a "
        "tag on resources', once per tag.",
        None,
        required_tags,
        {"requiredTags": ({"type": "array", "items": {"type": "string"}}, list(DEFAULT_REQUIRED_TAGS))},
    ),
)

BLOB_ROLE_POLICY_NAME = "blob-volume-identity-has-data-role"

BLOB_ROLE_POLICY_DESCRIPTION = (
    "Every BlobFuse PersistentVolume mounts as a managed identity of this stack "
    "(volumeAttributes.clientID) that holds a Storage Blob Data role scoped to that volume's container, "
    "and no wider. A least-privilege rule of this project; no external id."
)
