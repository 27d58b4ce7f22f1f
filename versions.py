"""Every version the deployment pins, in one place.

Python packages are pinned in pyproject.toml; tests/unit/test_versions.py checks that its Ray pin is the one
here. The workload imports RAY_VERSION from here (workloads/defaults.py): keep this module free of
third-party and project imports.
"""

from datetime import date

# Ray: the RayCluster's rayVersion, the image tags below and the workload's Ray.
RAY_VERSION = "2.60.0"
# The images' Python must match the job's: `ray job submit` pickles the driver's functions.
RAY_PYTHON_TAG = "py311"
# The upstream Ray images the workload images are built FROM (images/Dockerfile). They reach the stack's
# registry by `az acr import` (manifests/registry.py), so no node ever pulls from Docker Hub.
RAY_BASE_REPOSITORY = "rayproject/ray"
RAY_IMAGE = f"{RAY_BASE_REPOSITORY}:{RAY_VERSION}-{RAY_PYTHON_TAG}"
RAY_GPU_IMAGE = f"{RAY_BASE_REPOSITORY}:{RAY_VERSION}-{RAY_PYTHON_TAG}-gpu"
# The workload images every Ray pod runs: repository:tag in the stack's registry, tag = the base's tag.
WORKLOAD_REPOSITORY = "ray-aks/workload"
WORKLOAD_IMAGE = f"{WORKLOAD_REPOSITORY}:{RAY_IMAGE.split(':')[1]}"
WORKLOAD_GPU_IMAGE = f"{WORKLOAD_REPOSITORY}:{RAY_GPU_IMAGE.split(':')[1]}"

# torch wheels, from PyTorch's own indexes (the version is pyproject.toml's torch pin).
# CPU image: the CPU build (no CUDA libraries, ~0.2 GB instead of ~2.7 GB).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# GPU image: CUDA 12.6. AKS installs the NVIDIA driver for `gpuProfile.driver: Install` from its node
# image: R580 (aks-gpu-cuda-lts 580.159.04) for the NC/ND compute sizes and R570 (aks-gpu-grid
# 570.211.01) for the NVads A10 sizes (Azure/AgentBaker parts/common/components.json,
# GPUContainerImages). R570 runs CUDA <= 12.8, so the PyPI default torch 2.13.0 (cu130, CUDA_STABLE
# "13.0") would leave `torch.cuda.is_available()` false there; torch 2.13.0 also ships cu126, cu129,
# cu132 (pytorch v2.13.0 .github/scripts/generate_binary_build_matrix.py). cu126 runs on both drivers
# and, unlike cu129/cu130, still has Volta (V100, NCv3) kernels.
TORCH_CUDA = "cu126"
TORCH_GPU_INDEX = f"https://download.pytorch.org/whl/{TORCH_CUDA}"

# AKS: a minor version AKS supports; kubernetes-validate checks our core objects against its schemas.
KUBERNETES_VERSION = "1.36"

# When each AKS minor stops being supported: AKS creates no new clusters or node pools on a version past
# its end of life. Source: MicrosoftDocs/azure-aks-docs, articles/aks/supported-kubernetes-versions.md,
# "AKS Kubernetes release calendar" ("Unless an explicit date is provided, the End of Life date is the
# last day of the specified month"), read on AKS_CALENDAR_READ. Re-read it when KUBERNETES_VERSION moves.
AKS_CALENDAR_SOURCE = (
    "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"
    "#aks-kubernetes-release-calendar-and-upcoming-versions"
)
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

# NVIDIA DCGM exporter: per-GPU utilisation, memory, power and errors for Prometheus (chart 4.8.2 ships
# exporter image 4.5.3-4.8.2; NVIDIA/dcgm-exporter deployment/Chart.yaml at tag 4.5.3-4.8.2).
DCGM_EXPORTER_CHART = "dcgm-exporter"
DCGM_EXPORTER_VERSION = "4.8.2"
DCGM_EXPORTER_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
