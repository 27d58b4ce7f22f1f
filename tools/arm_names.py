"""What Azure accepts as a name, per resource type, as data: the offline tests' picture of ARM naming.

Each rule is the resource's own path parameter in the ARM REST spec (Azure/azure-rest-api-specs) of the API
version azure-native 3.29.0 sends for that type (the SDK module docstrings: "Uses Azure REST API version
..."). `autoname` is what azure-native puts there when the program gives no name
(pulumi-azure-native provider/pkg/provider/provider.go getDefaultName): "random" is the logical name plus
8 random lowercase hex characters, "uuid" a random GUID. tools/mocks/azure.py names and checks every resource
with these rules; tests/program/test_azure_names.py checks that every azure-native type the program
registers has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SPECS = "Azure/azure-rest-api-specs specification/"


@dataclass(frozen=True)
class NameRule:
    path: str
    """The resource's ARM id template, as the spec's PUT path writes it."""
    name_param: str
    """The path parameter that is the resource's own name (also its azure-native input name)."""
    spec: str
    """The spec file the constraints come from."""
    api_version: str
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    autoname: str = "random"
    """What azure-native sends when the name is not given: random (logical name + 8 hex) or uuid."""
    note: str = ""
    """Constraints the spec states only in words (its parameter description), checked all the same."""
    allowed: tuple[str, ...] = ()
    global_name: bool = False
    """The name is unique across Azure, not only under its parent (storage accounts: <name>.blob.core.windows.net)."""
    body_names: tuple[tuple[str, str], ...] = field(default=())
    """(list input, rule type) pairs: names inside the body that become resources of another rule's type."""

    @property
    def source(self) -> str:
        return f"{SPECS}{self.spec} (API {self.api_version})"

    def violations(self, name: str) -> list[str]:
        found = []
        if self.min_length is not None and len(name) < self.min_length:
            found.append(f"shorter than {self.min_length}")
        if self.max_length is not None and len(name) > self.max_length:
            found.append(f"longer than {self.max_length}")
        if self.pattern is not None and not re.search(self.pattern, name):
            found.append(f"does not match {self.pattern}")
        if self.allowed and name not in self.allowed:
            found.append(f"is not one of {', '.join(self.allowed)}")
        return found


_STORAGE = "storage/resource-manager/Microsoft.Storage/stable/2024-01-01/"
_AKS = "containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2025-09-01/managedClusters.json"
_MSI = "msi/resource-manager/Microsoft.ManagedIdentity/stable/2023-01-31/ManagedIdentity.json"
_NETWORK = "network/resource-manager/Microsoft.Network/stable/2024-05-01/virtualNetwork.json"
_GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
_ACR = "containerregistry/resource-manager/Microsoft.ContainerRegistry/preview/"
_REGISTRY = _GROUP + "/providers/Microsoft.ContainerRegistry/registries/{registryName}"
_INSIGHTS = "monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/"
_NO_RULE = "the spec sets no pattern or length"
_AGENT_POOL: dict[str, Any] = dict(pattern=r"^[a-z][a-z0-9]{0,11}$", min_length=1, max_length=12)

RULES: dict[str, NameRule] = {
    "azure-native:resources:ResourceGroup": NameRule(
        _GROUP,
        "resourceGroupName",
        "resources/resource-manager/Microsoft.Resources/stable/2024-03-01/resources.json",
        "2024-03-01",
        pattern=r"^[-\w\._\(\)]+$",
        min_length=1,
        max_length=90,
        note="the parameter's description: a period is not allowed at the end",
    ),
    "azure-native:network:VirtualNetwork": NameRule(
        _GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}",
        "virtualNetworkName",
        _NETWORK,
        "2024-05-01",
        note="the spec sets no pattern or length",
    ),
    "azure-native:network:Subnet": NameRule(
        _GROUP + "/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
        "subnetName",
        _NETWORK,
        "2024-05-01",
        note="the spec sets no pattern or length",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": NameRule(
        _GROUP + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
        "resourceName",
        _MSI,
        "2023-01-31",
        note="ResourceNameParameter sets no pattern or length",
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": NameRule(
        _GROUP + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}"
        "/federatedIdentityCredentials/{federatedIdentityCredentialResourceName}",
        "federatedIdentityCredentialResourceName",
        _MSI,
        "2023-01-31",
        pattern=r"^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$",
    ),
    "azure-native:containerservice:ManagedCluster": NameRule(
        _GROUP + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}",
        "resourceName",
        _AKS,
        "2025-09-01",
        pattern=r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$",
        min_length=1,
        max_length=63,
        body_names=(("agentPoolProfiles", "azure-native:containerservice:AgentPool"),),
    ),
    "azure-native:containerservice:AgentPool": NameRule(
        _GROUP + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}",
        "agentPoolName",
        _AKS,
        "2025-09-01",
        **_AGENT_POOL,
        note="AgentPoolNameParameter; Linux pools take up to 12 characters",
    ),
    "azure-native:containerservice:MaintenanceConfiguration": NameRule(
        _GROUP + "/providers/Microsoft.ContainerService/managedClusters/{resourceName}"
        "/maintenanceConfigurations/{configName}",
        "configName",
        _AKS,
        "2025-09-01",
        allowed=("default", "aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"),
        note="the configName description lists the supported values",
    ),
    "azure-native:storage:StorageAccount": NameRule(
        _GROUP + "/providers/Microsoft.Storage/storageAccounts/{accountName}",
        "accountName",
        _STORAGE + "storage.json",
        "2024-01-01",
        pattern=r"^[a-z0-9]+$",
        min_length=3,
        max_length=24,
        global_name=True,
        note="StorageAccounts_CheckNameAvailability: the name is global",
    ),
    "azure-native:storage:BlobServiceProperties": NameRule(
        _GROUP + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/{BlobServicesName}",
        "blobServicesName",
        _STORAGE + "blob.json",
        "2024-01-01",
        allowed=("default",),
        note="BlobServicesName is an enum with the one value 'default'",
    ),
    "azure-native:storage:BlobContainer": NameRule(
        _GROUP + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default"
        "/containers/{containerName}",
        "containerName",
        _STORAGE + "blob.json",
        "2024-01-01",
        pattern=r"^[a-z0-9](-?[a-z0-9])*$",
        min_length=3,
        max_length=63,
        note="ContainerName: the length is the spec's, the pattern its description's (lowercase letters, "
        "digits and single dashes between them)",
    ),
    "azure-native:authorization:RoleAssignment": NameRule(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
        "roleAssignmentName",
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/"
        "authorization-RoleAssignmentsCalls.json",
        "2022-04-01",
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        autoname="uuid",
        note="RoleAssignmentNameParameter: 'It can be any valid GUID'; azure-native autonames it with a GUID "
        "(pulumi-azure-native#582, #625)",
    ),
    "azure-native:containerregistry:Registry": NameRule(
        _REGISTRY,
        "registryName",
        _ACR + "2023-01-01-preview/containerregistry.json",
        "2023-01-01-preview",
        pattern=r"^[a-zA-Z0-9]*$",
        min_length=5,
        max_length=50,
        global_name=True,
        note="RegistryNameParameter; the name is global (<name>.azurecr.io, Registries_CheckNameAvailability): "
        "an autoname's hyphen breaks the pattern",
    ),
    "azure-native:containerregistry:CacheRule": NameRule(
        _REGISTRY + "/cacheRules/{cacheRuleName}",
        "cacheRuleName",
        _ACR + "2024-11-01-preview/containerregistry.json",
        "2024-11-01-preview",
        pattern=r"^[a-zA-Z0-9-]*$",
        min_length=5,
        max_length=50,
        note="CacheRuleNameParameter",
    ),
    "azure-native:monitor:AzureMonitorWorkspace": NameRule(
        _GROUP + "/providers/Microsoft.Monitor/accounts/{azureMonitorWorkspaceName}",
        "azureMonitorWorkspaceName",
        "monitor/resource-manager/Microsoft.Monitor/Accounts/stable/2023-04-03/monitoringAccounts_API.json",
        "2023-04-03",
        pattern=r"^(?!-)[a-zA-Z0-9-]+[^-]$",
        note="the path parameter's pattern (no hyphen first or last, at least 2 characters); the spec sets no "
        "maximum length",
    ),
    "azure-native:monitor:DataCollectionEndpoint": NameRule(
        _GROUP + "/providers/Microsoft.Insights/dataCollectionEndpoints/{dataCollectionEndpointName}",
        "dataCollectionEndpointName",
        _INSIGHTS + "dataCollectionEndpoints_API.json",
        "2022-06-01",
        note=_NO_RULE + "; Azure's managed Prometheus templates (Azure/prometheus-collector "
        "AddonTerraformTemplate/main.tf) cut DCE names to 44 characters, not checked here",
    ),
    "azure-native:monitor:DataCollectionRule": NameRule(
        _GROUP + "/providers/Microsoft.Insights/dataCollectionRules/{dataCollectionRuleName}",
        "dataCollectionRuleName",
        _INSIGHTS + "dataCollectionRules_API.json",
        "2022-06-01",
        note=_NO_RULE + "; the same templates cut DCR names to 64 characters, not checked here",
    ),
    "azure-native:monitor:DataCollectionRuleAssociation": NameRule(
        "{resourceUri}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{associationName}",
        "associationName",
        _INSIGHTS + "dataCollectionRuleAssociations_API.json",
        "2022-06-01",
        note=_NO_RULE + "; an extension resource: the association lives under the resource it ties (resourceUri)",
    ),
    "azure-native:alertsmanagement:PrometheusRuleGroup": NameRule(
        _GROUP + "/providers/Microsoft.AlertsManagement/prometheusRuleGroups/{ruleGroupName}",
        "ruleGroupName",
        "alertsmanagement/resource-manager/Microsoft.AlertsManagement/stable/2023-03-01/PrometheusRuleGroups.json",
        "2023-03-01",
        pattern=r"^[^:@/#{}%&+*<>?\\]+$",
        note="RuleGroupNameParameter; Azure's naming rules page (learn.microsoft.com resource-name-rules) also "
        "says 1-260 characters, no '|', not ending in a space or period: not checked here",
    ),
    "azure-native:dashboard:Grafana": NameRule(
        _GROUP + "/providers/Microsoft.Dashboard/grafana/{workspaceName}",
        "workspaceName",
        "dashboard/resource-manager/Microsoft.Dashboard/Dashboard/stable/2024-10-01/grafana.json",
        "2024-10-01",
        pattern=r"^[a-zA-Z][a-z0-9A-Z-]{0,28}[a-z0-9A-Z]$",
        note="WorkspaceNameParameter: a letter first, letters, digits and hyphens, no hyphen last, 2-30 "
        "characters; terraform-provider-azurerm (azurerm_dashboard_grafana) allows only 2-23, which no Azure "
        "source states: not checked here",
    ),
    "azure-native:operationalinsights:Workspace": NameRule(
        # The spec writes this path with a lowercase "resourcegroups".
        "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.OperationalInsights"
        "/workspaces/{workspaceName}",
        "workspaceName",
        "operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/2023-09-01/Workspaces.json",
        "2023-09-01",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$",
        min_length=4,
        max_length=63,
        note="WorkspaceNameParameter of operationalinsights/resource-manager/common/v1/types.json; Workspaces_Delete: "
        "a deleted workspace's name stays taken for 14 days unless deleted with force",
    ),
}


def rule(resource_type: str) -> NameRule:
    if resource_type not in RULES:
        raise KeyError(f"{resource_type} has no naming rule in tools/arm_names.py: add one from its ARM spec")
    return RULES[resource_type]


def name_errors(resource_type: str, logical_name: str, inputs: dict) -> list[str]:
    """Every name the program would send for this resource that its ARM rule refuses, with the rule's source."""
    this = rule(resource_type)
    errors = []
    checks = [(this, this.name_param, inputs.get(this.name_param))]
    for list_key, other_type in this.body_names:
        checks += [
            (rule(other_type), f"{list_key}[{i}].name", item.get("name"))
            for i, item in enumerate(inputs.get(list_key) or [])
        ]
    for which, key, value in checks:
        if not isinstance(value, str) or value == "<unknown>":
            continue
        for why in which.violations(value):
            errors.append(
                f"{resource_type} {logical_name!r}: {key} {value!r} {why} ({which.source}"
                + (f"; {which.note}" if which.note else "")
                + ")"
            )
    return errors


def arm_id(resource_type: str, inputs: dict, subscription_id: str) -> str:
    """The resource id ARM gives this resource: its spec path filled in from the inputs."""
    template = rule(resource_type).path
    values = {"subscriptionId": subscription_id, **{k: v for k, v in inputs.items() if isinstance(v, str)}}
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m[1], values.get(m[1][0].lower() + m[1][1:], m[0]))), template)
