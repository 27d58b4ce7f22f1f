"""Every pin agrees: Ray in requirements.txt, versions.py, the images, settings and the workload."""

import re
from pathlib import Path

import ray

import settings
import versions
from tests.schemas import crd
from tools.mocks import PROJECT_DIR
from workloads import defaults


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==([^\s#]+)", line.strip())
        if match:
            pins[match[1].lower()] = match[3]
    return pins


def test_every_python_requirement_is_pinned_exactly():
    lines = [line.strip() for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines()]
    packages = [line for line in lines if line and not line.startswith("#")]
    assert packages and all("==" in line for line in packages), packages


def test_ray_is_the_same_version_everywhere():
    assert requirement_pins()["ray"] == versions.RAY_VERSION == defaults.RAY_VERSION == ray.__version__
    for image in (versions.RAY_IMAGE, versions.RAY_GPU_IMAGE, versions.WORKLOAD_IMAGE, versions.WORKLOAD_GPU_IMAGE):
        assert image.split(":")[1].startswith(f"{versions.RAY_VERSION}-"), image


def test_the_images_python_matches_the_one_jobs_are_submitted_from():
    # `ray job submit` pickles driver code: the cluster's Python must be the project's.
    import sys

    assert versions.RAY_PYTHON_TAG == f"py{sys.version_info.major}{sys.version_info.minor}"


def test_the_settings_defaults_are_the_pinned_versions():
    fields = settings.Settings.model_fields
    # The Ray pods run the workload images built FROM the Ray images (images/Dockerfile).
    assert fields["ray_image"].default == versions.WORKLOAD_IMAGE
    assert fields["ray_gpu_image"].default == versions.WORKLOAD_GPU_IMAGE
    assert fields["kubernetes_version"].default == versions.KUBERNETES_VERSION


def test_the_mount_paths_are_the_workloads_defaults():
    fields = settings.Settings.model_fields
    assert fields["datasets_mount_path"].default == defaults.DATASETS_MOUNT
    assert fields["results_mount_path"].default == defaults.RESULTS_MOUNT


def test_charts_are_pinned_to_exact_versions():
    for version in (versions.KUBERAY_CHART_VERSION, versions.NVIDIA_DEVICE_PLUGIN_VERSION):
        assert re.fullmatch(r"\d+\.\d+\.\d+", version)


def test_the_kuberay_crd_schemas_in_the_repository_belong_to_the_pinned_chart():
    schemas = Path(__file__).resolve().parents[1] / "schemas"
    folder = crd.FOLDER
    assert (folder / "raycluster-v1.schema.json").is_file(), (
        f"no CRD schemas for kuberay-operator {versions.KUBERAY_CHART_VERSION} in {schemas}; "
        "refresh them as tests/schemas/*/SOURCE.txt says")
    assert f"tag v{versions.KUBERAY_CHART_VERSION}" in (folder / "SOURCE.txt").read_text()
    assert [p.name for p in schemas.glob("kuberay-v*") if p.is_dir()] == [folder.name], "one schema folder: the pinned one"


def test_no_test_reads_outside_the_repository():
    # A user's clone has nothing beside it: every file a test reads must be inside the repository.
    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for p in (root / "tests").rglob("*.py")
                 if re.search(r"""/\s*["']\.\.["']|["']\.\./|parents\[[3-9]\]""", p.read_text())]
    assert offenders == []
