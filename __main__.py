"""ray-aks: settings → components → exports. Read top to bottom; each component is one concern."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, resources

import settings
from components.cluster import Cluster, ClusterArgs
from components.gpu import DevicePlugin, DevicePluginArgs
from components.identity import Identity, IdentityArgs
from components.kuberay import KubeRay, KubeRayArgs
from components.network import Network, NetworkArgs
from components.ray_cluster import RayCluster, RayClusterArgs
from components.storage import Storage, StorageArgs
from manifests import azure, commands

s = settings.from_pulumi_config()  # stops here, before any resource, on bad config
tags = s.tags(pulumi.get_stack())
client = authorization.get_client_config_output()

# --- Azure side ----------------------------------------------------------------------------------------
group = resources.ResourceGroup("ray-aks", location=s.location, tags=tags)
net = Network("network", NetworkArgs(group.name, s.location, s.vnet_cidr, s.node_subnet_cidr, tags))
cluster = Cluster("cluster", ClusterArgs(s, group.name, net.subnet_id, client, tags))
store = Storage("storage", StorageArgs(s, net.subnet_id, tags))
identity = Identity("identity", IdentityArgs(
    s, group.name, cluster.oidc_issuer_url, store.container_ids, client.subscription_id, tags))

# One Kubernetes provider, logged in through Entra ID, for every Kubernetes resource below.
# cluster_identifier: a new kubeconfig (rotated credentials) updates the provider instead of replacing it.
k8s_provider = k8s.Provider("k8s", kubeconfig=cluster.kubeconfig, cluster_identifier=cluster.cluster_id)

# --- Kubernetes side -----------------------------------------------------------------------------------
on_cluster = pulumi.ResourceOptions(provider=k8s_provider)
device_plugin = DevicePlugin("gpu", DevicePluginArgs(gpu_pool=cluster.gpu_pool), on_cluster)
kuberay = KubeRay("kuberay", KubeRayArgs(settings=s, cpu_pool=cluster.cpu_pool), on_cluster)
ray = RayCluster("ray", RayClusterArgs(
    settings=s,
    namespace=kuberay.ray_namespace_resource,
    operator=kuberay.chart,
    operator_namespace=kuberay.operator_namespace,
    gpu_pool=cluster.gpu_pool,
    device_plugin=device_plugin.chart,
    storage_resource_group=store.resource_group_name,
    storage_account=store.account_name,
    identity_client_id=identity.client_id,
    tenant_id=client.tenant_id,
), on_cluster)

# --- Outputs -------------------------------------------------------------------------------------------
pulumi.export("resourceGroup", group.name)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("storageResourceGroup", store.resource_group_name)
pulumi.export("storageAccount", store.account_name)
pulumi.export("containers", [settings.DATASETS_CONTAINER, settings.RESULTS_CONTAINER])
pulumi.export("identityClientId", identity.client_id)
pulumi.export("getCredentialsCommand", pulumi.Output.all(group.name, cluster.cluster_name).apply(
    lambda names: azure.get_credentials_command(*names)))
pulumi.export("rayNamespace", ray.namespace)
pulumi.export("rayHeadService", ray.head_service)
pulumi.export("datasetsMountPath", s.datasets_mount_path)
pulumi.export("resultsMountPath", s.results_mount_path)
pulumi.export("dashboardCommand", pulumi.Output.all(ray.namespace, ray.cluster_name).apply(
    lambda names: commands.dashboard_port_forward(*names)))
pulumi.export("authTokenCommand", pulumi.Output.all(ray.namespace, ray.cluster_name).apply(
    lambda names: commands.read_auth_token(*names)))
pulumi.export("jobSubmitCommand", pulumi.Output.all(ray.namespace, ray.cluster_name).apply(
    lambda names: commands.job_submit(*names, s.datasets_mount_path, s.results_mount_path, commands.sweep_sizing(s))))
