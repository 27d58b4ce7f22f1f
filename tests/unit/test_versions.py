"""Pins: every Python package pinned once in pyproject.toml, Ray's version once in versions.py."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
import ray
from packaging.specifiers import SpecifierSet

import settings
import versions
from tests.schemas import crd
from tools import pins
from tools.mocks import PROJECT_DIR
from workloads import defaults

GROUPS = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["dependency-groups"]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_python_requirement_is_pinned_exactly(group):
    assert pins.pins(group)  # raises on any requirement that is not name==version


@pytest.mark.parametrize("requirement", ["ray>=2.60", "ray", "ray==2.60.0,!=2.61"])
def test_a_requirement_that_is_not_one_exact_pin_is_refused(requirement):
    with pytest.raises(ValueError, match="not pinned exactly"):
        pins.pins("g", {"g": [requirement]})


def test_every_package_is_pinned_in_one_group_only():
    direct = [
        pins.canonicalize_name(r.name)
        for name in GROUPS
        for r in (pins.Requirement(e) for e in GROUPS[name] if isinstance(e, str))
    ]
    assert sorted(direct) == sorted(set(direct))


def test_the_lock_holds_every_pin_of_pyproject():
    # constraints.txt is generated from pyproject.toml (`make lock`); a pin changed without re-locking fails here.
    locked = dict(re.findall(r"^([a-z0-9-]+)==([^\s;]+)", (PROJECT_DIR / "constraints.txt").read_text(), re.MULTILINE))
    wanted = pins.pins("dev")
    assert {name: locked.get(name) for name in wanted} == wanted


def test_ray_is_pinned_in_pyproject_at_the_version_the_cluster_runs():
    # pip reads pyproject.toml, not Python: its Ray pin is the one value here that can't import versions.py.
    assert pins.pins("workload")["ray"] == versions.RAY_VERSION == ray.__version__
    assert defaults.RAY_VERSION is versions.RAY_VERSION
    for image in (versions.RAY_IMAGE, versions.RAY_GPU_IMAGE, versions.WORKLOAD_IMAGE, versions.WORKLOAD_GPU_IMAGE):
        assert image.split(":")[1].startswith(f"{versions.RAY_VERSION}-"), image


def test_the_images_python_is_the_projects_python():
    # `ray job submit` pickles driver code: the cluster's Python must be the one the project runs on.
    tag = versions.RAY_PYTHON_TAG
    assert tag == f"py{sys.version_info.major}{sys.version_info.minor}"
    python = f"{tag[2]}.{tag[3:]}"
    required = SpecifierSet(tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["requires-python"])
    assert required.contains(f"{python}.0") and not required.contains(f"{tag[2]}.{int(tag[3:]) + 1}.0")


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
        "refresh them as tests/schemas/*/SOURCE.txt says"
    )
    assert f"tag v{versions.KUBERAY_CHART_VERSION}" in (folder / "SOURCE.txt").read_text()
    assert [p.name for p in schemas.glob("kuberay-v*") if p.is_dir()] == [folder.name], (
        "one schema folder: the pinned one"
    )


def test_no_test_reads_outside_the_repository():
    # A user's clone has nothing beside it: every file a test reads must be inside the repository.
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(p.relative_to(root))
        for p in (root / "tests").rglob("*.py")
        if re.search(r"""/\s*["']\.\.["']|["']\.\./|parents\[[3-9]\]""", p.read_text())
    ]
    assert offenders == []
