"""The Ray pods' Kubernetes identity, federated with the Azure managed identity.

AKS's workload identity webhook mutates only pods labelled `azure.workload.identity/use: "true"` that run
as a service account annotated with the managed identity's client id: it injects AZURE_CLIENT_ID,
AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and the projected token
(azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html).
The Blob CSI driver mounts with each pod's own service-account token, which the kubelet requests for it
through the CSIDriver's tokenRequests (manifests/volumes.py), not the token mounted into the pod: a pod
without a mounted token (automountServiceAccountToken false) still mounts. The head and the workers run as
two accounts, each the subject of a federated credential of the same managed identity.
"""

from __future__ import annotations

from typing import Any

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"


def pod_labels() -> dict[str, str]:
    """Labels of every pod that should get the managed identity's credentials."""
    return {USE_LABEL: "true"}


def subject(namespace: str, service_account_name: str) -> str:
    """The token subject a federated credential trusts."""
    return f"system:serviceaccount:{namespace}:{service_account_name}"


def service_account(name: str, namespace: str, client_id: str, tenant_id: str, *, automount_token: bool = True) -> dict:
    """automount_token False: pods of this account get no Kubernetes API token unless they ask."""
    account: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {CLIENT_ID_ANNOTATION: client_id, TENANT_ID_ANNOTATION: tenant_id},
        },
    }
    if not automount_token:
        account["automountServiceAccountToken"] = False
    return account
