"""What must happen before what, read off the recorded graph: the first `pulumi up` works without a rerun
only if grants are in place (and have had time to propagate) before they are used, and AKS gets one
agent-pool operation at a time.

A resource "runs after" another when a chain of dependencies (depends_on, inputs taken from it, or its
provider's inputs) leads there: that is what the Pulumi engine waits for.
"""

from __future__ import annotations

from functools import cache

import pytest

from manifests import azure
from tools.mocks import SUBSCRIPTION_ID, Recording

AKS = "azure-native:containerservice:ManagedCluster"
POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"
GROUPS = ["44444444-4444-4444-4444-444444444444"]


def prerequisites(rec: Recording):
    """urn → every urn it waits for, directly or through a chain."""

    def direct(urn: str) -> set[str]:
        resource = rec.by_urn(urn)
        found = set(resource.dependencies) | {u for urns in resource.property_dependencies.values() for u in urns}
        provider = rec.provider_of(resource)
        if provider is not None:
            found.add(provider.urn)
        return {u for u in found if u in rec.resources}

    @cache
    def closure(urn: str) -> frozenset[str]:
        result: set[str] = set()
        for dep in direct(urn):
            result |= {dep} | closure(dep)
        return frozenset(result)

    return closure


@pytest.fixture(scope="module")
def rec(record) -> Recording:
    return record({"adminGroupObjectIds": GROUPS})


def admin_grants(rec: Recording) -> list:
    admin = azure.role_definition_id(SUBSCRIPTION_ID, azure.AKS_RBAC_CLUSTER_ADMIN)
    return [r for r in rec.of_type(ROLE) if r.inputs["roleDefinitionId"] == admin]


def pool(rec: Recording, name: str):
    return next(r for r in rec.of_type(POOL) if r.inputs["agentPoolName"] == name)


def test_the_gpu_pool_waits_for_the_cpu_pool_so_aks_gets_one_pool_operation_at_a_time(rec):
    # 409 OperationNotAllowed otherwise, on create and on every later update (a tag change, say).
    before = prerequisites(rec)
    cpu, gpu = pool(rec, "cpu"), pool(rec, "gpu")
    assert cpu.urn in gpu.dependencies
    assert gpu.urn not in before(cpu.urn)


def test_every_operation_on_the_cluster_after_its_creation_is_ordered_against_every_other(rec):
    before = prerequisites(rec)
    pools = rec.of_type(POOL) + rec.of_type("azure-native:containerservice:MaintenanceConfiguration")
    assert len(pools) == 4
    for i, first in enumerate(pools):
        for second in pools[i + 1 :]:
            assert first.urn in before(second.urn) or second.urn in before(first.urn), (first.name, second.name)


def test_no_kubernetes_resource_runs_before_every_admin_grant_had_the_clusters_creation_to_propagate(rec):
    # AKS: new Azure RBAC assignments take up to five minutes (entra-id-authorization.md). Each grant is
    # made on the resource group before the cluster, which waits for it; creating the cluster takes longer
    # than five minutes, and every Kubernetes resource waits for the cluster.
    before = prerequisites(rec)
    aks = rec.one(AKS)
    grants = admin_grants(rec)
    assert len(grants) == 2  # the group and the person running up
    group = rec.one("azure-native:resources:ResourceGroup", "ray-aks")
    for grant in grants:
        assert grant.urn in aks.dependencies
        assert grant.inputs["scope"] == group.id
        assert aks.urn not in before(grant.urn)
    kubernetes = [r for r in rec.resources.values() if r.custom and r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 10
    for resource in kubernetes:
        assert aks.urn in before(resource.urn), resource.name
        assert {g.urn for g in grants} <= before(resource.urn), resource.name


def test_the_cluster_waits_for_its_subnet_grant_and_for_the_ray_identitys_data_roles(rec):
    aks = rec.one(AKS)
    data_roles = [r for r in rec.of_type(ROLE) if r.name.endswith("-data")]
    assert len(data_roles) == 2
    assert {r.urn for r in data_roles} | {rec.one(ROLE, "subnet-join").urn} <= set(aks.dependencies)


def test_ray_pods_and_their_volumes_wait_for_the_federated_credential_and_the_data_roles(rec):
    before = prerequisites(rec)
    federation = rec.one("azure-native:managedidentity:FederatedIdentityCredential", "identity-federation-ray")
    data_roles = {r.urn for r in rec.of_type(ROLE) if r.name.endswith("-data")}
    users = [
        r
        for r in rec.resources.values()
        if r.type in ("ray.io/v1:RayCluster", "kubernetes:ray.io/v1:RayCluster", "kubernetes:core/v1:PersistentVolume")
    ]
    assert len(users) >= 3
    for resource in users:
        assert federation.urn in before(resource.urn), resource.name
        assert data_roles <= before(resource.urn), resource.name


def test_maintenance_windows_are_set_on_this_cluster_once_it_exists(rec):
    aks = rec.one(AKS)
    for config in rec.of_type("azure-native:containerservice:MaintenanceConfiguration"):
        assert aks.urn in prerequisites(rec)(config.urn)
