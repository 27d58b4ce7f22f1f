"""Azure ids and names the components compute: role definitions, the DNS prefix, the maintenance window
and the credentials command."""

from __future__ import annotations

import re

# Built-in role ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

# Audience Entra ID expects in a federated workload identity token.
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


# The schedules AKS reads for cluster auto-upgrades and node OS upgrades; the names are fixed by AKS
# (articles/aks/planned-maintenance.md, "Schedule configuration types").
AUTO_UPGRADE_SCHEDULE = "aksManagedAutoUpgradeSchedule"
NODE_OS_UPGRADE_SCHEDULE = "aksManagedNodeOSUpgradeSchedule"


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def dns_prefix(project: str, stack: str) -> str:
    """The cluster's DNS prefix: AKS takes 1-54 letters, digits and hyphens, starting and ending with a
    letter or digit (Microsoft.ContainerService managedClusters dnsPrefix); a stack name may also hold `_`
    and `.`, which become hyphens."""
    text = re.sub(r"[^a-z0-9-]+", "-", f"{project}-{stack}".lower())
    return re.sub(r"-{2,}", "-", text)[:54].strip("-") or "ray-aks"


def maintenance_window(day: str, start_hour: int, duration_hours: int) -> dict:
    """A weekly window (MaintenanceConfiguration `maintenanceWindow`, API 2025-09-01), in UTC."""
    return {
        "schedule": {"weekly": {"day_of_week": day, "interval_weeks": 1}},
        "duration_hours": duration_hours,
        "start_time": f"{start_hour:02d}:00",
        "utc_offset": "+00:00",
    }


def get_credentials_command(resource_group: str, cluster: str) -> str:
    # --format exec asks for the kubelogin exec plugin; convert-kubeconfig picks the login without prompts.
    return (
        f"az aks get-credentials --resource-group {resource_group} --name {cluster} --format exec "
        f"&& kubelogin convert-kubeconfig -l azurecli"
    )
