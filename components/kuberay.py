"""The KubeRay operator and its CRDs, and the one namespace it may act in (the Ray namespace).

CRDs: Helm installs a chart's `crds/` once and never upgrades them. `helm.v4.Chart` instead renders them
as ordinary resources of the chart, server-side applied, so a new pinned chart version updates the
RayCluster/RayJob CRDs with the operator that needs them (docs/ray-cluster.md, "CRDs").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

import versions
from components.kubernetes import fields
from manifests import helm_values, namespaces
from settings import Settings


@dataclass(frozen=True)
class KubeRayArgs:
    settings: Settings
    """ray_namespace: created here, the only namespace the operator watches and may change."""
    cpu_pool: pulumi.Resource
    """The CPU node pool the operator is scheduled on: the chart waits for its Deployment to be ready."""


class KubeRay(pulumi.ComponentResource):
    operator_namespace: str
    """Fixed (manifests.helm_values.KUBERAY_NAMESPACE), so NetworkPolicies can name it before it exists."""
    ray_namespace: pulumi.Output[str]
    chart: k8s.helm.v4.Chart
    """Depend on this to wait for the CRDs and a ready operator."""
    ray_namespace_resource: k8s.core.v1.Namespace
    """Depend on this before creating anything in the Ray namespace."""

    def __init__(self, name: str, args: KubeRayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:kuberay:KubeRay", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        operator_ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            **fields(namespaces.namespace(helm_values.KUBERAY_NAMESPACE, "restricted")),
            opts=child,
        )
        # The chart puts the operator's Role into the Ray namespace, so that namespace comes first.
        # `restricted`: every container of a Ray pod (ours, KubeRay's injected ones) runs non-root without
        # capabilities or privilege escalation, under RuntimeDefault seccomp (manifests/containers.py).
        ray_ns = k8s.core.v1.Namespace(
            f"{name}-ray-namespace",
            **fields(namespaces.namespace(s.ray_namespace, "restricted")),
            opts=child,
        )
        self.chart = k8s.helm.v4.Chart(
            f"{name}-operator",
            chart=versions.KUBERAY_CHART,
            version=versions.KUBERAY_CHART_VERSION,
            repository_opts={"repo": versions.KUBERAY_CHART_REPO},
            namespace=operator_ns.metadata.name,
            values=helm_values.kuberay_operator_values(s.ray_namespace),
            # skip_crds stays unset: the CRDs are children of this chart and upgrade with its version.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ray_ns, args.cpu_pool]),
        )
        self.operator_namespace = helm_values.KUBERAY_NAMESPACE
        self.ray_namespace = ray_ns.metadata.name
        self.ray_namespace_resource = ray_ns
        self.register_outputs({"operator_namespace": self.operator_namespace, "ray_namespace": self.ray_namespace})
