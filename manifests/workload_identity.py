"""The Ray pods' Kubernetes identity, federated with the Azure managed identity.

AKS's workload identity webhook mutates only pods labelled `azure.workload.identity/use: "true"` that run
as a service account annotated with the managed identity's client id: it injects AZURE_CLIENT_ID,
AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and the projected token
(azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html).
The Blob CSI driver mounts with the same service account's token (manifests/volumes.py).
"""

from __future__ import annotations

USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"


def pod_labels() -> dict[str, str]:
    """Labels of every pod that should get the managed identity's credentials."""
    return {USE_LABEL: "true"}


def service_account(name: str, namespace: str, client_id: str, tenant_id: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {CLIENT_ID_ANNOTATION: client_id, TENANT_ID_ANNOTATION: tenant_id},
        },
    }
