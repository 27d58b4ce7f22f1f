"""The Azure side of the program, run for real under Pulumi's mocks with the dev stack's config."""

from __future__ import annotations

import collections.abc
import importlib
import sys
import typing

import pulumi
import pytest
from pulumi import _types

import versions
from manifests import azure, pools
from tools.mocks import CALLER_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, Recording, run_program, stack_config

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def pool(rec: Recording, name: str):
    return next(r for r in rec.of_type(POOL) if r.inputs["agentPoolName"] == name)


def role_id(role: str) -> str:
    return azure.role_definition_id(SUBSCRIPTION_ID, role)


# --- Graph shape ---------------------------------------------------------------------------------------


def test_every_resource_but_the_cluster_group_and_the_provider_has_a_component_as_parent(dev):
    top_level = {
        (r.type, r.name)
        for r in dev.resources.values()
        if r.parent.endswith("::ray-aks-dev") and not r.type.startswith("ray-aks:")
    }
    assert top_level == {("azure-native:resources:ResourceGroup", "ray-aks"), (K8S_PROVIDER, "k8s")}
    for resource in dev.resources.values():
        if resource.custom and (resource.type, resource.name) not in top_level:
            parent = dev.by_urn(resource.parent)
            assert parent.type.startswith("ray-aks:"), resource.name
            assert resource.name.startswith(f"{parent.name}-"), f"{resource.name} is not named after {parent.name}"


def test_the_cluster_is_created_after_its_identity_may_join_the_subnet(dev):
    aks = dev.one(AKS)
    join = dev.one(ROLE, "subnet-join")
    control_plane = dev.one(IDENTITY, "control-plane")
    assert join.urn in aks.dependencies
    assert join.inputs["principalId"] == control_plane.outputs["principalId"]
    assert join.inputs["roleDefinitionId"] == role_id(azure.NETWORK_CONTRIBUTOR)
    assert join.inputs["scope"] == dev.one("azure-native:network:Subnet").id
    assert aks.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [control_plane.id]}


# --- Network -------------------------------------------------------------------------------------------


def test_the_node_subnet_has_the_storage_service_endpoint_and_the_configured_ranges(record):
    rec = record({"vnetCidr": "10.30.0.0/16", "nodeSubnetCidr": "10.30.8.0/22"})
    vnet = rec.one("azure-native:network:VirtualNetwork")
    subnet = rec.one("azure-native:network:Subnet")
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.30.0.0/16"]}
    assert subnet.inputs["addressPrefix"] == "10.30.8.0/22"
    assert subnet.inputs["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]
    assert vnet.urn in subnet.dependencies
    for node_pool in [*rec.of_type(POOL), *[{"inputs": p} for p in rec.one(AKS).inputs["agentPoolProfiles"]]]:
        inputs = node_pool.inputs if hasattr(node_pool, "inputs") else node_pool["inputs"]
        assert inputs["vnetSubnetID"] == subnet.id


# --- The cluster's security settings, one by one -------------------------------------------------------


def test_local_accounts_are_off_and_entra_id_with_azure_rbac_is_on(dev):
    aks = dev.one(AKS).inputs
    assert aks["disableLocalAccounts"] is True
    assert aks["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "tenantID": TENANT_ID,
        "adminGroupObjectIDs": [],
    }


def test_admin_groups_from_config_become_cluster_admins(record):
    group = "44444444-4444-4444-4444-444444444444"
    aks = record({"adminGroupObjectIds": [group]}).one(AKS).inputs
    assert aks["aadProfile"]["adminGroupObjectIDs"] == [group]


def admin_grants(rec: Recording) -> list:
    return [r for r in rec.of_type(ROLE) if r.inputs["roleDefinitionId"] == role_id(azure.AKS_RBAC_CLUSTER_ADMIN)]


def test_the_person_running_pulumi_up_gets_rbac_cluster_admin_on_the_clusters_resource_group_only(dev):
    [admin] = admin_grants(dev)
    assert admin.name == f"cluster-admin-{CALLER_OBJECT_ID}"
    assert admin.inputs["principalId"] == CALLER_OBJECT_ID
    # Without a type the SDK sends User; a service principal would then get UnmatchedPrincipalType.
    assert admin.inputs["principalType"] == "User"
    assert admin.inputs["scope"] == dev.one("azure-native:resources:ResourceGroup", "ray-aks").id
    assert ("azure-native:authorization:getClientConfig", {}) in dev.invokes


def test_a_service_principal_running_pulumi_up_is_granted_as_a_service_principal(record):
    [admin] = admin_grants(record({"deployerPrincipalType": "ServicePrincipal"}))
    assert (admin.inputs["principalId"], admin.inputs["principalType"]) == (CALLER_OBJECT_ID, "ServicePrincipal")


def test_the_deployers_grant_is_named_after_it_and_kept_when_another_identity_runs_up(dev):
    # principalId is force-new: one grant that follows the caller would be replaced, revoking the previous
    # admin. One grant per principal, retained when Pulumi stops managing it, keeps the previous admin.
    [admin] = admin_grants(dev)
    assert CALLER_OBJECT_ID in admin.name
    assert admin.options["retainOnDelete"] is True


def test_admin_groups_are_granted_as_groups_and_a_deployer_of_type_none_gets_no_grant_of_its_own(record):
    groups = ["44444444-4444-4444-4444-444444444444", "55555555-5555-5555-5555-555555555555"]
    rec = record({"adminGroupObjectIds": groups, "deployerPrincipalType": "None"})
    grants = admin_grants(rec)
    assert sorted(g.inputs["principalId"] for g in grants) == groups
    assert {g.inputs["principalType"] for g in grants} == {"Group"}
    assert all(g.inputs["scope"] == rec.one("azure-native:resources:ResourceGroup", "ray-aks").id for g in grants)
    # Removing a group from the config is meant to revoke it.
    assert all(g.options["retainOnDelete"] in (None, False) for g in grants)


def test_every_role_assignment_names_the_type_its_principal_really_has(record):
    # The SDK sends User when no type is given (azure-rest-api-specs#21664), so "some type" is not enough:
    # each grant must carry its principal's own type. The caller here is a service principal.
    group = "44444444-4444-4444-4444-444444444444"
    rec = record({"adminGroupObjectIds": [group], "deployerPrincipalType": "ServicePrincipal"})
    expected = {i.outputs["principalId"]: "ServicePrincipal" for i in rec.of_type(IDENTITY)}
    # Identities Azure makes itself: the cluster's kubelet identity (AcrPull) and Grafana's system identity.
    expected[rec.one(AKS).outputs["identityProfile"]["kubeletidentity"]["objectId"]] = "ServicePrincipal"
    expected[rec.one("azure-native:dashboard:Grafana").outputs["identity"]["principalId"]] = "ServicePrincipal"
    expected.update({group: "Group", CALLER_OBJECT_ID: "ServicePrincipal"})
    roles = rec.of_type(ROLE)
    # subnet join, two data roles, the group's and the caller's admin grants, the kubelet's AcrPull,
    # Grafana's Monitoring Data Reader and the deployer's Grafana Editor
    assert len(roles) == 8
    for role in roles:
        assert role.inputs["principalType"] == expected[role.inputs["principalId"]], role.name


def test_oidc_issuer_workload_identity_and_the_blob_csi_driver_are_on(dev):
    aks = dev.one(AKS).inputs
    assert aks["oidcIssuerProfile"] == {"enabled": True}
    assert aks["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert aks["storageProfile"] == {"blobCSIDriver": {"enabled": True}}


@pytest.mark.parametrize(("engine", "dataplane"), [("cilium", "cilium"), ("calico", "azure"), ("azure", "azure")])
def test_azure_cni_overlay_runs_with_a_network_policy_engine(record, engine, dataplane):
    network = record({"networkPolicy": engine}).one(AKS).inputs["networkProfile"]
    assert network["networkPlugin"] == "azure" and network["networkPluginMode"] == "overlay"
    assert (network["networkPolicy"], network["networkDataplane"]) == (engine, dataplane)
    assert (network["podCidr"], network["serviceCidr"], network["dnsServiceIP"]) == (
        "192.168.0.0/16",
        "172.16.0.0/16",
        "172.16.0.10",
    )


def test_upgrade_channels_and_the_api_server_allow_list_come_from_config(record):
    aks = (
        record(
            {
                "upgradeChannel": "stable",
                "nodeOsUpgradeChannel": "SecurityPatch",
                "apiServerAuthorizedIpRanges": ["20.37.0.0/24", "52.160.0.9"],
            }
        )
        .one(AKS)
        .inputs
    )
    assert aks["autoUpgradeProfile"] == {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "SecurityPatch"}
    assert aks["apiServerAccessProfile"] == {"authorizedIPRanges": ["20.37.0.0/24", "52.160.0.9"]}


def test_the_system_pool_runs_critical_addons_only_across_the_configured_zones(record):
    system = record({"availabilityZones": ["1", "2", "3"]}).one(AKS).inputs["agentPoolProfiles"]
    assert len(system) == 1
    assert system[0]["mode"] == "System"
    assert system[0]["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert system[0]["availabilityZones"] == ["1", "2", "3"]
    assert pool(record({"availabilityZones": ["1", "2", "3"]}), "gpu").inputs["availabilityZones"] == ["1", "2", "3"]


# --- Pools ---------------------------------------------------------------------------------------------


def test_the_cpu_pool_autoscales_and_its_count_is_the_live_one_kept_inside_the_bounds(dev):
    cpu = pool(dev, "cpu")
    assert cpu.inputs["enableAutoScaling"] is True
    assert (cpu.inputs["minCount"], cpu.inputs["maxCount"]) == (1, 3)
    assert cpu.inputs["nodeLabels"] == pools.cpu_labels()
    assert "nodeTaints" not in cpu.inputs
    # A count frozen by ignore_changes would be sent stale after a change of bounds, which AKS refuses.
    assert cpu.options["ignoreChanges"] == []
    # The cluster reports no cpu pool yet (a first up): it starts at its minimum.
    assert cpu.inputs["count"] == 1
    assert (
        "azure-native:containerservice:getManagedCluster",
        {
            "resourceGroupName": dev.one("azure-native:resources:ResourceGroup", "ray-aks").outputs["name"],
            "resourceName": dev.one(AKS).outputs["name"],
        },
    ) in dev.invokes
    assert cpu.inputs["resourceName"] == dev.one(AKS).outputs["name"]


def test_the_gpu_pool_scales_from_zero_with_a_taint_and_labels_for_ray_gpu_pods(dev):
    gpu = pool(dev, "gpu")
    assert gpu.inputs["enableAutoScaling"] is True
    assert (gpu.inputs["count"], gpu.inputs["minCount"], gpu.inputs["maxCount"]) == (0, 0, 2)
    assert gpu.inputs["vmSize"] == "Standard_NC8as_T4_v3"
    assert gpu.inputs["nodeLabels"] == {"ray-aks/pool": "gpu", "nvidia.com/gpu.present": "true"}
    assert gpu.inputs["gpuProfile"] == {"driver": "Install"}
    assert gpu.options["ignoreChanges"] == []


def test_a_spot_gpu_pool_deletes_evicted_nodes_and_carries_the_spot_taint(dev):
    gpu = pool(dev, "gpu").inputs
    assert (gpu["scaleSetPriority"], gpu["scaleSetEvictionPolicy"], gpu["spotMaxPrice"]) == ("Spot", "Delete", -1)
    assert gpu["nodeTaints"] == [
        "nvidia.com/gpu=present:NoSchedule",
        "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
    ]


def test_a_regular_gpu_pool_has_no_spot_settings(record):
    gpu = pool(record({"gpuSpot": False}), "gpu").inputs
    assert gpu["scaleSetPriority"] == "Regular"
    assert "scaleSetEvictionPolicy" not in gpu and "spotMaxPrice" not in gpu
    assert gpu["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]


def test_gpu_pods_tolerate_every_taint_the_gpu_pool_can_carry(dev):
    tolerated = {pools.taint_string(t) for t in pools.gpu_tolerations()}
    assert set(pool(dev, "gpu").inputs["nodeTaints"]) <= tolerated


# --- Kubeconfig and the Kubernetes provider ------------------------------------------------------------


def test_the_kubeconfig_comes_from_the_user_credentials_of_this_cluster_and_is_a_secret(dev):
    calls = [
        args
        for token, args in dev.invokes
        if token == "azure-native:containerservice:listManagedClusterUserCredentials"
    ]
    group = dev.one("azure-native:resources:ResourceGroup", "ray-aks").outputs["name"]
    # format=exec: the kubelogin exec plugin, not the deprecated azure auth-provider.
    assert calls == [{"resourceGroupName": group, "resourceName": dev.one(AKS).outputs["name"], "format": "exec"}]
    assert "kubeconfig" in dev.secret_outputs
    assert "--login\n      - azurecli" in dev.stack_outputs["kubeconfig"]
    assert "devicecode" not in dev.stack_outputs["kubeconfig"]


def test_ci_can_log_the_provider_in_with_workload_identity(record):
    provider = record({"kubeloginMode": "workloadidentity"}).one(K8S_PROVIDER)
    assert "- workloadidentity" in provider.inputs["kubeconfig"]


def test_one_kubernetes_provider_is_built_from_this_clusters_kubeconfig(dev):
    provider = dev.one(K8S_PROVIDER)
    assert provider.inputs["kubeconfig"] == dev.stack_outputs["kubeconfig"]
    assert provider.inputs["clusterIdentifier"] == dev.one(AKS).id
    # It waits for the admin role assignment: nothing reaches the API server before it may.
    assert {g.urn for g in admin_grants(dev)} <= set(provider.property_dependencies["kubeconfig"])


# --- Storage -------------------------------------------------------------------------------------------


def test_the_storage_account_takes_no_keys_no_public_access_and_only_tls_1_2_over_https(dev):
    account = dev.one(ACCOUNT).inputs
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["allowBlobPublicAccess"] is False
    assert account["allowCrossTenantReplication"] is False
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"


def test_the_storage_firewall_denies_all_but_the_node_subnet_and_configured_ips(record):
    rec = record({"storageAllowedIpRanges": ["198.51.100.0/24", "203.0.113.9"]})
    rules = rec.one(ACCOUNT).inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["virtualNetworkRules"] == [
        {"virtualNetworkResourceId": rec.one("azure-native:network:Subnet").id, "action": "Allow"}
    ]
    assert rules["ipRules"] == [
        {"iPAddressOrRange": "198.51.100.0/24", "action": "Allow"},
        {"iPAddressOrRange": "203.0.113.9", "action": "Allow"},
    ]


@pytest.mark.parametrize(("sku", "kind"), [("Premium_LRS", "BlockBlobStorage"), ("Standard_ZRS", "StorageV2")])
def test_the_account_kind_follows_the_sku(record, sku, kind):
    account = record({"storageSku": sku}).one(ACCOUNT).inputs
    assert (account["sku"], account["kind"]) == ({"name": sku}, kind)


def test_a_configured_account_name_is_used_and_an_empty_one_is_generated(record, dev):
    assert record({"storageAccountName": "rayaksdata042"}).one(ACCOUNT).inputs["accountName"] == "rayaksdata042"
    generated = dev.one(ACCOUNT).inputs["accountName"]
    assert generated.startswith("rayaksdev") and generated.isalnum() and len(generated) <= 24


def test_soft_delete_keeps_blobs_and_containers_for_the_configured_days_and_versioning_is_off(record):
    service = record({"softDeleteDays": 14}).one("azure-native:storage:BlobServiceProperties").inputs
    assert service["blobServicesName"] == "default"
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 14}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 14}
    assert service["isVersioningEnabled"] is False


def test_two_private_containers_hold_datasets_and_results(dev):
    containers = {c.inputs["containerName"]: c.inputs for c in dev.of_type(CONTAINER)}
    assert set(containers) == {"datasets", "results"}
    assert all(c["publicAccess"] == "None" for c in containers.values())
    assert dev.stack_outputs["containers"] == ["datasets", "results"]


def test_data_outlives_destroy_in_a_resource_group_of_its_own(dev):
    storage = dev.one("ray-aks:storage:Storage")
    data_group = dev.one("azure-native:resources:ResourceGroup", "storage-rg")
    assert data_group.parent == storage.urn
    for resource in [data_group, dev.one(ACCOUNT), *dev.of_type(CONTAINER)]:
        assert resource.options["retainOnDelete"] is True, resource.name
        assert resource.options["protect"] is True, resource.name
    assert dev.one(ACCOUNT).inputs["resourceGroupName"] == data_group.outputs["name"]
    # The cluster's group is deleted with the stack, so the account must not live there.
    assert dev.one("azure-native:resources:ResourceGroup", "ray-aks").options["retainOnDelete"] in (None, False)


def test_without_retain_data_destroy_deletes_the_data_too(record):
    rec = record({"retainData": False})
    # Retained on purpose, and deleted with what holds them: the deployer's admin grant (see the identity
    # tests) with the resource group; Grafana's folder and dashboards with the Grafana workspace.
    on_purpose = {f"cluster-admin-{CALLER_OBJECT_ID}"} | {
        r.name for r in rec.resources.values() if r.type.startswith("grafana:oss/")
    }
    assert len(on_purpose) > 2
    assert all(r.options["retainOnDelete"] in (None, False) for r in rec.resources.values() if r.name not in on_purpose)


# --- Identity ------------------------------------------------------------------------------------------


def test_the_federated_credential_trusts_this_clusters_issuer_for_the_ray_service_account(record):
    rec = record({"rayNamespace": "tuning", "rayServiceAccount": "tuner", "rayWorkerServiceAccount": "tuner-workers"})
    federation = rec.one(FEDERATION, "identity-federation-ray").inputs
    workers = rec.one(FEDERATION, "identity-federation-ray-worker").inputs
    assert workers["subject"] == "system:serviceaccount:tuning:tuner-workers"
    assert (workers["issuer"], workers["audiences"], workers["resourceName"]) == (
        federation["issuer"],
        federation["audiences"],
        federation["resourceName"],
    )
    ray_identity = rec.one(IDENTITY, "identity-ray")
    assert federation["issuer"] == rec.one(AKS).outputs["oidcIssuerProfile"]["issuerURL"]
    assert federation["subject"] == "system:serviceaccount:tuning:tuner"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]
    assert federation["resourceName"] == ray_identity.outputs["name"]


def test_the_ray_identity_holds_blob_data_contributor_on_each_container_and_nothing_wider(dev):
    ray_identity = dev.one(IDENTITY, "identity-ray")
    data_roles = [r for r in dev.of_type(ROLE) if r.inputs["principalId"] == ray_identity.outputs["principalId"]]
    assert sorted(r.inputs["scope"] for r in data_roles) == sorted(c.id for c in dev.of_type(CONTAINER))
    for role in data_roles:
        assert role.inputs["roleDefinitionId"] == role_id(azure.STORAGE_BLOB_DATA_CONTRIBUTOR)
        assert role.inputs["principalType"] == "ServicePrincipal"
    assert dev.stack_outputs["identityClientId"] == ray_identity.outputs["clientId"]


def test_no_account_key_or_connection_string_is_read_or_sent_anywhere(dev):
    assert not [token for token, _ in dev.invokes if "Keys" in token or "ConnectionString" in token]
    text = repr([r.inputs for r in dev.resources.values()]).lower()
    assert "accountkey" not in text and "connectionstring" not in text and "sas" not in text.split("'")


# --- Outputs, tags, and what the SDK accepts -----------------------------------------------------------


def test_the_stack_exports_what_a_platform_engineer_needs(dev):
    outputs = dev.stack_outputs
    assert {
        "resourceGroup",
        "clusterName",
        "kubeconfig",
        "oidcIssuerUrl",
        "storageAccount",
        "containers",
        "identityClientId",
        "getCredentialsCommand",
    } <= set(outputs)
    group = dev.one("azure-native:resources:ResourceGroup", "ray-aks").outputs["name"]
    assert outputs["getCredentialsCommand"].startswith(
        f"az aks get-credentials --resource-group {group} --name {dev.one(AKS).outputs['name']}"
    )


def test_every_azure_resource_that_takes_tags_is_tagged(record):
    rec = record({"extraTags": ["owner=ml-platform"]})
    for resource in rec.resources.values():
        if not resource.type.startswith("azure-native:"):
            continue
        if "tags" in _types.input_type_types(sdk_args(resource.type)):
            assert resource.inputs.get("tags") == {
                "project": "ray-aks",
                "stack": "dev",
                "managed-by": "pulumi",
                "owner": "ml-platform",
            }, resource.name


def sdk_args(resource_type: str) -> type:
    """The SDK's args class of a resource type. Where a nested input type has the same name (such as
    network.VirtualNetworkArgs), the SDK names the resource's own `<Name>InitArgs`."""
    module, _, name = resource_type.removeprefix("azure-native:").partition(":")
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    resource_module = sys.modules[resource_class.__module__]
    return getattr(resource_module, f"{name}InitArgs", None) or getattr(resource_module, f"{name}Args")


def _unknown_keys(value: typing.Any, hint: typing.Any, path: str) -> list[str]:
    """Keys of `value` that the azure-native input type `hint` does not declare, recursively."""
    for member in typing.get_args(hint) if typing.get_origin(hint) is typing.Union else (hint,):
        origin = typing.get_origin(member)
        if _types.is_input_type(member) and isinstance(value, dict):
            known = _types.input_type_types(member)
            return [f"{path}.{key}" for key in value if key not in known] + [
                miss
                for key, item in value.items()
                if key in known
                for miss in _unknown_keys(item, known[key], f"{path}.{key}")
            ]
        if origin in (collections.abc.Sequence, list) and isinstance(value, list):
            (item_hint,) = typing.get_args(member)
            return [miss for i, item in enumerate(value) for miss in _unknown_keys(item, item_hint, f"{path}[{i}]")]
        if origin in (collections.abc.Mapping, dict) and isinstance(value, dict):
            _, item_hint = typing.get_args(member)
            return [miss for key, item in value.items() for miss in _unknown_keys(item, item_hint, f"{path}.{key}")]
    return []


def test_every_azure_input_the_program_sends_is_one_the_sdk_declares(record):
    # Settings that switch on optional inputs, so those are checked too.
    rec = record(
        {
            "storageAccountName": "rayaksdata042",
            "storageAllowedIpRanges": ["198.51.100.0/24"],
            "availabilityZones": ["1", "2"],
            "adminGroupObjectIds": ["44444444-4444-4444-4444-444444444444"],
        }
    )
    azure_resources = [r for r in rec.resources.values() if r.type.startswith("azure-native:")]
    assert len(azure_resources) >= 15
    for resource in azure_resources:
        assert _unknown_keys(resource.inputs, sdk_args(resource.type), resource.name) == []


def test_the_sdk_key_check_catches_a_misspelt_nested_key():
    from pulumi_azure_native import containerservice

    sent = {
        "aadProfile": {"managed": True, "enableAzureRbac": True},
        "agentPoolProfiles": [{"name": "system", "nodeTaint": ["x"]}],
    }
    assert _unknown_keys(sent, containerservice.ManagedClusterArgs, "aks") == [
        "aks.aadProfile.enableAzureRbac",
        "aks.agentPoolProfiles[0].nodeTaint",
    ]


# --- Bad config stops the program before any resource --------------------------------------------------

BAD_CONFIGS: list[dict[str, typing.Any]] = [
    {"gpuMaxCount": "-1"},
    {"gpuMinCount": "3", "gpuMaxCount": "2"},
    {"cpuMaxCount": "1.5"},
    {"gpuVmSize": "Standard_D16ds_v5"},
    {"rayImage": "rayproject/ray:2.41.0-py311"},
    {"storageAccountName": "Has-Dashes"},
    {"podCidr": "10.10.0.0/16"},
    {"vnetCidr": "10.10.0/16"},
    {"networkPolicy": "flannel"},
    {"gpuMaxcount": "3"},
    {"apiServerAuthorizedIpRanges": []},
    {"apiServerAuthorizedIpRanges": ["203.0.113.7/32"]},
    {"kubernetesVersion": "1.34"},
    {"systemVmSize": "Standard_D2ds_v5"},
]


@pytest.mark.parametrize("overrides", BAD_CONFIGS, ids=[",".join(o) for o in BAD_CONFIGS])
def test_bad_config_stops_the_program_with_one_message_and_no_resource(overrides):
    with pytest.raises(pulumi.RunError) as caught:
        run_program(stack_config("dev", overrides))
    message = str(caught.value)
    assert message.startswith("Invalid configuration:")
    assert all(f"ray-aks:{key} = " in message for key in overrides if key != "gpuMaxCount" or len(overrides) == 1)
    assert "Valid example: pulumi config set" in message or "did you mean" in message
    assert caught.value.recording.resources == {}


# --- What later ups, refreshes and upgrades do ---------------------------------------------------------


def test_the_clusters_pool_list_is_left_alone_after_creation_so_a_refresh_does_not_put_every_pool(dev):
    # AKS's GET lists every pool in agentPoolProfiles and a refresh copies them into the inputs
    # (pulumi-azure-native#1532, #4264): diffing it would PUT the whole cluster on every up.
    assert "agentPoolProfiles" in dev.one(AKS).options["ignoreChanges"]


@pytest.mark.parametrize(
    ("channel", "ignored"), [("patch", True), ("stable", True), ("rapid", True), ("node-image", False), ("none", False)]
)
def test_the_kubernetes_version_is_left_to_aks_under_a_channel_that_moves_it(record, channel, ignored):
    aks = record({"upgradeChannel": channel}).one(AKS)
    assert aks.inputs["kubernetesVersion"] == versions.KUBERNETES_VERSION
    assert ("kubernetesVersion" in aks.options["ignoreChanges"]) is ignored


def test_the_cluster_tier_is_a_setting_and_premium_brings_long_term_support(record, dev):
    assert (dev.one(AKS).inputs["sku"], dev.one(AKS).inputs["supportPlan"]) == (
        {"name": "Base", "tier": "Free"},
        "KubernetesOfficial",
    )
    premium = record({"clusterSkuTier": "Premium"}).one(AKS).inputs
    assert (premium["sku"]["tier"], premium["supportPlan"]) == ("Premium", "AKSLongTermSupport")
    assert record({}, remove=("clusterSkuTier",)).one(AKS).inputs["sku"]["tier"] == "Standard"


def test_upgrades_happen_only_in_the_weekly_maintenance_window(record):
    rec = record({"maintenanceDay": "Saturday", "maintenanceStartHour": 22, "maintenanceDurationHours": 6})
    configs = {c.inputs["configName"]: c for c in rec.of_type("azure-native:containerservice:MaintenanceConfiguration")}
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for config in configs.values():
        assert config.inputs["resourceName"] == rec.one(AKS).outputs["name"]
        assert config.inputs["maintenanceWindow"] == {
            "schedule": {"weekly": {"dayOfWeek": "Saturday", "intervalWeeks": 1}},
            "durationHours": 6,
            "startTime": "22:00",
            "utcOffset": "+00:00",
        }


def test_without_auto_upgrades_there_is_no_window_for_them(record):
    rec = record({"upgradeChannel": "none", "nodeOsUpgradeChannel": "Unmanaged"})
    assert rec.of_type("azure-native:containerservice:MaintenanceConfiguration") == []


def test_os_disks_are_ephemeral_where_the_vm_sizes_temp_disk_holds_them(record):
    rec = record({"gpuVmSize": "Standard_NC24ads_A100_v4", "gpuWorkerCpus": 20})
    system = rec.one(AKS).inputs["agentPoolProfiles"][0]
    assert (system["osDiskType"], system["osDiskSizeGB"]) == ("Ephemeral", 150)  # Standard_D4ds_v5
    assert (pool(rec, "cpu").inputs["osDiskType"], pool(rec, "cpu").inputs["osDiskSizeGB"]) == ("Ephemeral", 300)
    # A 64 GiB temp disk is too small for the images: AKS chooses.
    assert "osDiskType" not in pool(rec, "gpu").inputs


def test_a_stack_name_with_underscores_or_dots_still_makes_a_valid_dns_prefix():
    rec = run_program(stack_config("team_a.dev"), stack="team_a.dev")
    assert rec.one(AKS).inputs["dnsPrefix"] == "ray-aks-team-a-dev"
