"""The NVIDIA device plugin: makes the GPU pool's nodes advertise `nvidia.com/gpu` to the scheduler.

AKS installs the driver on the GPU pool (gpuProfile.driver Install); the device plugin, from NVIDIA's
chart at the pinned version, is what turns those GPUs into a schedulable resource.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

import versions
from components.kubernetes import fields
from manifests import helm_values, namespaces


@dataclass(frozen=True)
class DevicePluginArgs:
    gpu_pool: pulumi.Resource
    """The GPU node pool: the plugin is installed once the pool exists."""


class DevicePlugin(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    chart: k8s.helm.v4.Chart
    """Depend on this to wait until the plugin's DaemonSet is rolled out."""

    def __init__(self, name: str, args: DevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:gpu:DevicePlugin", name, None, opts)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            **fields(namespaces.namespace(helm_values.NVIDIA_NAMESPACE, "privileged")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.chart = k8s.helm.v4.Chart(
            f"{name}-device-plugin",
            chart=versions.NVIDIA_DEVICE_PLUGIN_CHART,
            version=versions.NVIDIA_DEVICE_PLUGIN_VERSION,
            repository_opts={"repo": versions.NVIDIA_DEVICE_PLUGIN_REPO},
            namespace=ns.metadata.name,
            values=helm_values.nvidia_device_plugin_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.gpu_pool]),
        )
        self.namespace = ns.metadata.name
        self.register_outputs({"namespace": self.namespace})
