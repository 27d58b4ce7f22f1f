"""Azure ids and names the components compute: role definitions and the credentials command."""

from __future__ import annotations

# Built-in role ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

# Audience Entra ID expects in a federated workload identity token.
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def get_credentials_command(resource_group: str, cluster: str) -> str:
    # --format exec asks for the kubelogin exec plugin; convert-kubeconfig picks the login without prompts.
    return (f"az aks get-credentials --resource-group {resource_group} --name {cluster} --format exec "
            f"&& kubelogin convert-kubeconfig -l azurecli")
