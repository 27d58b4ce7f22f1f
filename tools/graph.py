"""The recorded program as a picture: components as nested clusters, resources as nodes, dependencies as edges.

Pure: a Recording in, a graphviz.Digraph out (rendering needs Graphviz's `dot`, see tools/plan.py).
Edges point from a resource to what depends on it, in the order `pulumi up` creates them. An edge that a
longer path already implies is left out (transitive reduction), so the picture shows each resource's
nearest prerequisites rather than every one of them.
"""

from __future__ import annotations

from collections import defaultdict

import graphviz
import networkx as nx

from tools.mocks import Recording, Registration

# Fill colours by provider: Azure, Kubernetes, Helm charts, providers.
_AZURE, _KUBERNETES, _CHART, _PROVIDER = "#dbeafe", "#dcfce7", "#fef3c7", "#e5e7eb"
LEGEND = (
    "blue: Azure · green: Kubernetes · yellow: Helm chart · grey boxes: components · "
    "arrows: created before · dashed: through the Kubernetes provider"
)


def short_type(type_: str) -> str:
    """ "azure-native:containerservice:ManagedCluster" → "containerservice:ManagedCluster"."""
    provider, _, rest = type_.partition(":")
    if provider == "pulumi" and rest.startswith("providers:"):
        return f"provider:{rest.split(':', 1)[1]}"
    return rest or type_


def _fill(resource: Registration) -> str:
    if resource.type.startswith("pulumi:providers:"):
        return _PROVIDER
    if resource.type.startswith("kubernetes:helm.sh/"):
        return _CHART
    if resource.type.startswith("kubernetes:"):
        return _KUBERNETES
    return _AZURE


def _reduce(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Transitive reduction of a DAG given as node → its direct prerequisites (networkx)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(edges)
    graph.add_edges_from((node, dep) for node, deps in edges.items() for dep in deps)
    reduced = nx.transitive_reduction(graph)
    return {node: set(reduced.successors(node)) for node in edges}


def resource_graph(recording: Recording, title: str = "") -> graphviz.Digraph:
    resources = dict(sorted(recording.resources.items()))
    ids = {urn: f"r{i}" for i, urn in enumerate(resources)}
    children: dict[str, list[str]] = defaultdict(list)
    for urn, resource in resources.items():
        children[resource.parent if resource.parent in resources else ""].append(urn)
    is_cluster = {urn for urn in resources if children.get(urn)}

    def anchor(urn: str) -> str:
        """A node inside a cluster, for edges that start or end at the cluster (graphviz: ltail/lhead)."""
        while urn in is_cluster:
            urn = next((c for c in children[urn] if c not in is_cluster), children[urn][0])
        return urn

    graph = graphviz.Digraph(
        "plan",
        graph_attr={
            "rankdir": "LR",
            "compound": "true",
            "fontname": "Helvetica",
            "fontsize": "12",
            "nodesep": "0.2",
            "ranksep": "0.5",
            "label": f"{title}\\n{LEGEND}" if title else LEGEND,
            "labelloc": "t",
        },
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"color": "#6b7280", "arrowsize": "0.6"},
    )

    def add(parent: graphviz.Digraph, urn: str) -> None:
        resource = resources[urn]
        if urn in is_cluster:
            with parent.subgraph(name=f"cluster_{ids[urn]}") as sub:
                sub.attr(
                    label=f"{resource.name} ({short_type(resource.type)})",
                    style="rounded,filled",
                    fillcolor="#f9fafb",
                    color="#9ca3af",
                    fontsize="11",
                )
                for child in children[urn]:
                    add(sub, child)
        else:
            # "\\n": DOT's own line break, so the .dot file stays one line per node.
            parent.node(ids[urn], f"{short_type(resource.type)}\\n{resource.name}", fillcolor=_fill(resource))

    for urn in children[""]:
        add(graph, urn)

    # Prerequisites: dependencies, and the explicit provider a resource talks through.
    prerequisites: dict[str, set[str]] = {}
    for urn, resource in resources.items():
        ancestors = {a.urn for a in recording.ancestors(resource)}
        deps = {d for d in resource.dependencies if d in resources and d not in ancestors}
        provider = recording.provider_of(resource)
        if provider is not None:
            deps.add(provider.urn)
        prerequisites[urn] = deps
    for urn, deps in sorted(_reduce(prerequisites).items()):
        for dep in sorted(deps):
            attrs = {}
            if dep in is_cluster:
                attrs["ltail"] = f"cluster_{ids[dep]}"
            if urn in is_cluster:
                attrs["lhead"] = f"cluster_{ids[urn]}"
            if resources[dep].type.startswith("pulumi:providers:"):
                attrs.update(style="dashed")
            graph.edge(ids[anchor(dep)], ids[anchor(urn)], **attrs)
    return graph


def component_graph(recording: Recording, title: str = "") -> graphviz.Digraph:
    """The program at the component level: each top-level component (or resource) one node, labelled with
    how many resources it holds, and an edge where something inside one needs something inside another.

    Drawn top to bottom with 14-point labels, so that it stays legible in a README column (about 880 px)."""
    resources = recording.resources

    def top(urn: str) -> str:
        chain = [urn, *(a.urn for a in recording.ancestors(resources[urn]))]
        return chain[-1]

    tops = sorted({top(urn) for urn in resources})
    held = {t: sum(1 for urn in resources if urn != t and top(urn) == t) for t in tops}
    needs: dict[str, set[str]] = {t: set() for t in tops}
    for urn, resource in resources.items():
        provider = recording.provider_of(resource)
        for dep in [*resource.dependencies, *([provider.urn] if provider else [])]:
            if dep in resources and top(dep) != top(urn):
                needs[top(urn)].add(top(dep))
    ids = {urn: f"c{i}" for i, urn in enumerate(tops)}
    graph = graphviz.Digraph(
        "components",
        graph_attr={
            "rankdir": "TB",
            "fontname": "Helvetica",
            "fontsize": "14",
            "nodesep": "0.2",
            "ranksep": "0.35",
            "label": title,
            "labelloc": "t",
        },
        node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "14"},
        edge_attr={"color": "#6b7280", "arrowsize": "0.7"},
    )
    for urn in tops:
        resource = resources[urn]
        count = f"{held[urn]} resource{'s' if held[urn] != 1 else ''}"
        label = (
            f"{resource.name}\\n{short_type(resource.type)}\\n{count}"
            if held[urn]
            else f"{short_type(resource.type)}\\n{resource.name}"
        )
        graph.node(ids[urn], label, fillcolor="#f9fafb" if held[urn] else _fill(resource))
    for urn, deps in sorted(_reduce(needs).items()):
        for dep in sorted(deps):
            graph.edge(ids[dep], ids[urn])
    return graph
