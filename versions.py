"""Every version the deployment pins, in one place.

Python packages are pinned in requirements.txt; tests/unit/test_versions.py checks that the Ray pin there,
the Ray images here, the RayCluster's ``rayVersion`` and the workload's Ray all agree.
"""

# Ray: the RayCluster's rayVersion, the image tags below and the workload's `ray` pin must agree.
RAY_VERSION = "2.60.0"
# The images' Python must match the job's: `ray job submit` pickles the driver's functions.
RAY_PYTHON_TAG = "py311"
RAY_IMAGE = f"rayproject/ray:{RAY_VERSION}-{RAY_PYTHON_TAG}"
RAY_GPU_IMAGE = f"rayproject/ray:{RAY_VERSION}-{RAY_PYTHON_TAG}-gpu"

# AKS: a minor version AKS supports; kubernetes-validate checks our core objects against its schemas.
KUBERNETES_VERSION = "1.34"

# KubeRay operator chart and the CRDs it ships (tests/schemas/kuberay-v<version> holds their schemas).
KUBERAY_CHART = "kuberay-operator"
KUBERAY_CHART_VERSION = "1.7.0"
KUBERAY_CHART_REPO = "https://ray-project.github.io/kuberay-helm/"

# NVIDIA device plugin: advertises nvidia.com/gpu on the GPU pool.
NVIDIA_DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
NVIDIA_DEVICE_PLUGIN_VERSION = "0.20.0"
NVIDIA_DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"

# NVIDIA DCGM exporter: per-GPU utilisation, memory, power and errors for Prometheus (chart 4.8.2 ships
# exporter image 4.5.3-4.8.2; NVIDIA/dcgm-exporter deployment/Chart.yaml at tag 4.5.3-4.8.2).
DCGM_EXPORTER_CHART = "dcgm-exporter"
DCGM_EXPORTER_VERSION = "4.8.2"
DCGM_EXPORTER_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
