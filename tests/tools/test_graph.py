"""tools.graph: the recorded program as nested clusters of resources with their nearest prerequisites."""

from __future__ import annotations

import re

import pytest

from tools.graph import _reduce, resource_graph, short_type
from tools.mocks import run_program, stack_config


@pytest.fixture(scope="module")
def source(dev):
    return resource_graph(dev).source


def node_id(source: str, label_name: str) -> str:
    [match] = re.findall(rf'\t(r\d+) \[label="[^"]*\\n{re.escape(label_name)}"', source)
    return match


def test_short_types_drop_the_provider_but_keep_the_module():
    assert short_type("azure-native:containerservice:ManagedCluster") == "containerservice:ManagedCluster"
    assert short_type("kubernetes:core/v1:Namespace") == "core/v1:Namespace"
    assert short_type("pulumi:providers:kubernetes") == "provider:kubernetes"


def test_every_resource_without_children_is_a_node_labelled_with_type_and_name(dev, source):
    parents = {r.parent for r in dev.resources.values()}
    for resource in dev.resources.values():
        if resource.urn not in parents:
            assert f'"{short_type(resource.type)}\\n{resource.name}"' in source, resource.name


def test_components_are_clusters_holding_their_children(source):
    assert source.count("subgraph cluster_") == 13  # network, cluster, storage, identity, identity-federation,
    # registry, monitoring, cluster-monitoring, gpu, kuberay, ray, metrics, seed
    cluster = source[source.index('label="cluster (cluster:Cluster)"') - 200 :]
    assert "containerservice:ManagedCluster\\ncluster-aks" in cluster.split("subgraph cluster_")[1]


def test_edges_run_from_prerequisite_to_dependent(source):
    assert f"{node_id(source, 'network-vnet')} -> {node_id(source, 'network-nodes')}" in source
    assert f"{node_id(source, 'kuberay-operator')} -> {node_id(source, 'ray-cluster')}" in source


def test_an_edge_implied_by_a_longer_path_is_left_out(source):
    # cluster-aks needs the resource group directly, and through its control-plane identity.
    assert f"{node_id(source, 'ray-aks')} -> {node_id(source, 'cluster-aks')}" not in source


def test_kubernetes_resources_hang_off_the_provider_with_dashed_edges(source):
    provider = node_id(source, "k8s")
    assert re.search(rf"{provider} -> {node_id(source, 'gpu-namespace')} \[[^]]*style=dashed", source)


def test_transitive_reduction_keeps_only_nearest_prerequisites():
    assert _reduce({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == {"a": {"b"}, "b": {"c"}, "c": set()}


def test_the_graph_is_the_same_on_every_run(dev, source):
    assert resource_graph(run_program(stack_config("dev"))).source == source
