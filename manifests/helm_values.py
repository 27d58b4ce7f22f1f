"""Values of the two Helm charts we install, and the namespaces they live in.

Keys are the charts' own, checked in their values.yaml at the pinned versions:
ray-project/kuberay helm-chart/kuberay-operator/values.yaml (v1.7.0) and
NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin/values.yaml (v0.20.0).
Helm merges these maps into the chart's defaults key by key; lists replace the default list whole.
"""

from __future__ import annotations

from manifests import pools

KUBERAY_NAMESPACE = "kuberay-system"
# The device plugin chart refuses the default namespace; its README installs it into this one.
NVIDIA_NAMESPACE = "nvidia-device-plugin"

# The node label the device plugin's default affinity accepts as "this node has an NVIDIA GPU";
# the GPU pool carries it (manifests/pools.py), since node feature discovery is off.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"


def kuberay_operator_values(watch_namespace: str) -> dict:
    """The operator on the CPU pool, allowed into the Ray namespace only.

    singleNamespaceInstall + watchNamespace: the chart grants the operator a Role in the watched namespace
    instead of a ClusterRole (pods, services, secrets... cluster-wide), and the operator watches only it.
    """
    return {
        "nodeSelector": pools.cpu_node_selector(),
        "singleNamespaceInstall": True,
        "watchNamespace": [watch_namespace],
    }


def nvidia_device_plugin_values() -> dict:
    """The device plugin DaemonSet on GPU nodes only, Spot or not, so they advertise `nvidia.com/gpu`."""
    return {
        "nodeSelector": pools.gpu_node_selector(),
        # Replaces the default's three alternatives (two need node feature discovery) with the one label
        # our GPU pool has.
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]},
                    ]
                }
            }
        },
        # Replaces the default list (which also tolerates CriticalAddonsOnly, i.e. the system pool).
        "tolerations": pools.gpu_tolerations(),
    }
