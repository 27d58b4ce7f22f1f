"""Every version the deployment pins, in one place.

Python packages are pinned in requirements.txt; tests/unit/test_versions.py checks that the Ray pin there,
the Ray images here, the RayCluster's ``rayVersion`` and the workload's Ray all agree.
"""

from datetime import date

# Ray: the RayCluster's rayVersion, the image tags below and the workload's `ray` pin must agree.
RAY_VERSION = "2.60.0"
# The images' Python must match the job's: `ray job submit` pickles the driver's functions.
RAY_PYTHON_TAG = "py311"
RAY_IMAGE = f"rayproject/ray:{RAY_VERSION}-{RAY_PYTHON_TAG}"
RAY_GPU_IMAGE = f"rayproject/ray:{RAY_VERSION}-{RAY_PYTHON_TAG}-gpu"

# AKS: a minor version AKS supports; kubernetes-validate checks our core objects against its schemas.
KUBERNETES_VERSION = "1.36"

# When each AKS minor stops being supported: AKS creates no new clusters or node pools on a version past
# its end of life. Source: MicrosoftDocs/azure-aks-docs, articles/aks/supported-kubernetes-versions.md,
# "AKS Kubernetes release calendar" ("Unless an explicit date is provided, the End of Life date is the
# last day of the specified month"), read on AKS_CALENDAR_READ. Re-read it when KUBERNETES_VERSION moves.
AKS_CALENDAR_SOURCE = ("https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"
                       "#aks-kubernetes-release-calendar-and-upcoming-versions")
AKS_CALENDAR_READ = date(2026, 12, 2)
AKS_END_OF_LIFE = {
    "1.32": date(2026, 3, 31),
    "1.33": date(2026, 7, 31),
    "1.34": date(2026, 11, 30),
    "1.35": date(2027, 3, 31),
    "1.36": date(2027, 6, 30),
    "1.37": date(2027, 10, 31),
}
# A version this close to its end of life gets a warning at preview time.
AKS_EOL_WARNING_DAYS = 60

# KubeRay operator chart and the CRDs it ships (tests/schemas/kuberay-v<version> holds their schemas).
KUBERAY_CHART = "kuberay-operator"
KUBERAY_CHART_VERSION = "1.7.0"
KUBERAY_CHART_REPO = "https://ray-project.github.io/kuberay-helm/"

# NVIDIA device plugin: advertises nvidia.com/gpu on the GPU pool.
NVIDIA_DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
NVIDIA_DEVICE_PLUGIN_VERSION = "0.20.0"
NVIDIA_DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
