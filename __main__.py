"""ray-aks: settings → components → exports. Read top to bottom; each component is one concern."""

import pulumi
from pulumi_azure_native import authorization, resources

import settings
from components.cluster import Cluster, ClusterArgs
from components.gpu import DevicePlugin, DevicePluginArgs
from components.identity import Identity, IdentityArgs, WorkloadFederation, WorkloadFederationArgs
from components.kuberay import KubeRay, KubeRayArgs
from components.monitoring import (
    ClusterMonitoring,
    ClusterMonitoringArgs,
    Monitoring,
    MonitoringArgs,
    ScrapeTargets,
    ScrapeTargetsArgs,
)
from components.network import Network, NetworkArgs
from components.provider import kubernetes_provider
from components.ray_cluster import RayCluster, RayClusterArgs
from components.registry import Registry, RegistryArgs
from components.seed import Seed, SeedArgs
from components.storage import Storage, StorageArgs
from components.sweep import Sweep, SweepArgs
from manifests import azure, commands, monitoring

s = settings.from_pulumi_config()  # stops here, before any resource, on bad config
tags = s.tags(pulumi.get_stack())
# Plain values, known at preview: the caller's object id names its own admin grant.
client = authorization.get_client_config()

# --- Azure side ----------------------------------------------------------------------------------------
# Everything the cluster must not start without comes first: grants take minutes to be effective, and
# the cluster's creation gives them those minutes (components/cluster.py).
group = resources.ResourceGroup("ray-aks", location=s.location, tags=tags)
net = Network("network", NetworkArgs(group.name, s.location, s.vnet_cidr, s.node_subnet_cidr, tags))
# Observability (`monitoring`, on by default): its workspaces exist before the cluster, which points at them.
observe = Monitoring("monitoring", MonitoringArgs(s, group.name, client, tags)) if s.monitoring else None
store = Storage("storage", StorageArgs(s, net.subnet_id, tags, subscription_id=client.subscription_id))
identity = Identity("identity", IdentityArgs(s, group.name, store.container_ids, client.subscription_id, tags))
cluster = Cluster(
    "cluster",
    ClusterArgs(
        s,
        group.name,
        group.id,
        net.subnet_id,
        client,
        tags,
        before=identity.grants,
        monitoring=observe.cluster_profile if observe else None,
    ),
)
if observe:
    ClusterMonitoring(
        "cluster-monitoring",
        ClusterMonitoringArgs(s, observe, group.name, cluster.cluster_id, cluster.cluster_name, tags),
    )
federation = WorkloadFederation(
    "identity-federation", WorkloadFederationArgs(s, group.name, identity, cluster.oidc_issuer_url)
)
image_registry = Registry(
    "registry", RegistryArgs(s, group.name, cluster.kubelet_object_id, client.subscription_id, tags)
)

# One Kubernetes provider, logged in through Entra ID, for every Kubernetes resource below.
# cluster_identifier: a new kubeconfig (rotated credentials) updates the provider instead of replacing it.
# deleteUnreachable stays unset (components/provider.py): `PULUMI_K8S_DELETE_UNREACHABLE=true pulumi destroy`
# then gets past an unreachable API server (README: Destroying).
k8s_provider = kubernetes_provider("k8s", cluster.kubeconfig, cluster.cluster_id)

# --- Kubernetes side -----------------------------------------------------------------------------------
on_cluster = pulumi.ResourceOptions(provider=k8s_provider)
device_plugin = DevicePlugin("gpu", DevicePluginArgs(gpu_pool=cluster.gpu_pool), on_cluster)
kuberay = KubeRay("kuberay", KubeRayArgs(settings=s, cpu_pool=cluster.cpu_pool), on_cluster)
ray = RayCluster(
    "ray",
    RayClusterArgs(
        settings=s,
        namespace=kuberay.ray_namespace_resource,
        operator=kuberay.chart,
        operator_namespace=kuberay.operator_namespace,
        gpu_pool=cluster.gpu_pool,
        device_plugin=device_plugin.chart,
        storage_resource_group=store.resource_group_name,
        storage_account=store.account_name,
        identity_client_id=federation.client_id,
        tenant_id=client.tenant_id,
        image_registry=image_registry.login_server,
        registry=image_registry,
    ),
    on_cluster,
)
if observe:
    ScrapeTargets("metrics", ScrapeTargetsArgs(s, kuberay.ray_namespace_resource, cluster.gpu_pool), on_cluster)
# The datasets container gets the full MNIST once; the sweep (sweepOnUp) runs after it.
seed = Seed("seed", SeedArgs(s, image_registry.login_server, depends_on=[ray, image_registry]), on_cluster)
sweep = Sweep("sweep", SweepArgs(s, depends_on=[ray, seed]), on_cluster) if s.sweep_on_up else None

# --- Outputs -------------------------------------------------------------------------------------------
pulumi.export("resourceGroup", group.name)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcIssuerUrl", cluster.oidc_issuer_url)
pulumi.export("storageResourceGroup", store.resource_group_name)
pulumi.export("storageAccount", store.account_name)
pulumi.export("containers", [settings.DATASETS_CONTAINER, settings.RESULTS_CONTAINER])
pulumi.export("identityClientId", identity.client_id)
pulumi.export(
    "getCredentialsCommand",
    pulumi.Output.all(group.name, cluster.cluster_name).apply(lambda names: azure.get_credentials_command(*names)),
)
pulumi.export("rayNamespace", ray.namespace)
pulumi.export("rayHeadService", ray.head_service)
pulumi.export("datasetsMountPath", s.datasets_mount_path)
pulumi.export("resultsMountPath", s.results_mount_path)
pulumi.export(
    "dashboardCommand",
    pulumi.Output.all(ray.namespace, ray.cluster_name).apply(lambda names: commands.dashboard_port_forward(*names)),
)
pulumi.export(
    "authTokenCommand",
    pulumi.Output.all(ray.namespace, ray.cluster_name).apply(lambda names: commands.read_auth_token(*names)),
)
pulumi.export(
    "jobSubmitCommand",
    pulumi.Output.all(ray.namespace, ray.cluster_name).apply(
        lambda names: commands.job_submit(
            names[0], names[1], s.datasets_mount_path, s.results_mount_path, commands.sweep_sizing(s)
        )
    ),
)
if observe:
    pulumi.export("grafanaUrl", observe.grafana_url)
    pulumi.export(
        "logQueryCommand",
        observe.log_analytics_customer_id.apply(
            lambda workspace: monitoring.log_query_command(workspace, s.ray_namespace)
        ),
    )
pulumi.export("registryName", image_registry.name)
pulumi.export("registryLoginServer", image_registry.login_server)
pulumi.export("imageBuildCommand", image_registry.build_command)
pulumi.export("seedJob", seed.job_name)
if sweep is not None:
    pulumi.export("sweepRayJob", sweep.job_name)
    # Resolving this fails `pulumi up` with the RayJob's message when the sweep did not succeed.
    pulumi.export("sweepResult", sweep.result)
