"""images/: the workload images install exactly the project's pins, FROM the pinned Ray tags, and name no
version of their own."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

import versions
from images import pins
from manifests import registry
from tests.imports import project_modules, top_level_imports
from tools import pins as project_pins
from tools.mocks import PROJECT_DIR
from workloads import mnist_source

DOCKERFILE = (PROJECT_DIR / "images" / "Dockerfile").read_text()
REQUIREMENTS = (PROJECT_DIR / "images" / "requirements.txt").read_text()
LOGIN = "rayaksdev1234abcd.azurecr.io"


def builds() -> list[list[str]]:
    commands = registry.build_commands("rayaksdev1234abcd", LOGIN, versions.WORKLOAD_IMAGE, versions.WORKLOAD_GPU_IMAGE)
    return [shlex.split(c) for c in commands if c.startswith("az acr build")]


def build_args(words: list[str]) -> dict[str, str]:
    return dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "--build-arg")


def test_the_images_pin_file_is_pyprojects_job_group_as_make_lock_writes_it():
    assert project_pins.main(["image-requirements", "--check"]) == 0


def test_the_images_install_exactly_the_projects_pins_of_every_package_the_workload_imports():
    installed = dict(line.split("==") for line in pins.workload_pins(REQUIREMENTS))
    assert installed == {name: project_pins.pins("job")[name] for name in pins.WORKLOAD_PACKAGES}
    third_party = (
        workload_imports() - project_modules(PROJECT_DIR) - {"ray", "__future__"} - set(sys.stdlib_module_names)
    )
    assert third_party <= set(pins.WORKLOAD_PACKAGES), third_party


def workload_imports() -> set[str]:
    """The top-level modules workloads/ imports (what its code needs wherever it runs)."""
    return top_level_imports(PROJECT_DIR / "workloads")


def test_the_images_copy_every_project_module_the_workload_imports():
    # The seed Job runs `python -m workloads.seed` in the image alone, with no job upload beside it.
    needed = workload_imports() & project_modules(PROJECT_DIR)
    copied = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY") and "/opt/ray-aks/" in line.split()[-1] and "build/" not in line:
            copied |= {word.rstrip("/").removesuffix(".py") for word in line.split()[1:-1] if not word.startswith("--")}
    ignored = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    admitted = {line[1:].rstrip("/").removesuffix(".py") for line in ignored if line.startswith("!")}
    assert "workloads" in needed and needed <= copied and needed <= admitted, (needed, copied, admitted)


def test_an_unpinned_workload_package_stops_the_build():
    with pytest.raises(SystemExit, match="optuna"):
        pins.workload_pins(REQUIREMENTS.replace("optuna==", "optuna>="))


def test_the_images_never_install_ray_over_the_base_image():
    assert "ray" not in pins.WORKLOAD_PACKAGES


def test_the_dockerfile_names_no_version_and_starts_from_the_base_build_argument():
    code = [line for line in DOCKERFILE.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"\d+\.\d+\.\d+|py3\d\d|cu\d{3}", line)], code
    assert code[0] == "ARG BASE_IMAGE" and code[1] == "FROM ${BASE_IMAGE}"


def test_exactly_one_marked_line_reads_the_pin_file():
    lines = DOCKERFILE.splitlines()
    readers = [i for i, line in enumerate(lines) if "requirements.txt" in line and line.startswith("RUN")]
    install = [i for i in readers if "pip install" in lines[i]]
    assert len(install) == 1
    comment_above = next(lines[j] for j in range(install[0] - 1, -1, -1) if lines[j].startswith("# PINS"))
    assert comment_above


def test_each_image_is_built_from_the_pinned_ray_image_in_the_stacks_registry_and_tagged_with_ray_version():
    (cpu, gpu) = builds()
    for words, image, base in (
        (cpu, versions.WORKLOAD_IMAGE, versions.RAY_IMAGE),
        (gpu, versions.WORKLOAD_GPU_IMAGE, versions.RAY_GPU_IMAGE),
    ):
        assert words[words.index("--image") + 1] == image
        assert build_args(words)["BASE_IMAGE"] == f"{LOGIN}/{base}"
        assert image.split(":")[1] == base.split(":")[1]
        assert base.split(":")[1].startswith(f"{versions.RAY_VERSION}-")
        assert words[words.index("--file") + 1] == "images/Dockerfile" and words[-1] == "."


def test_the_cpu_image_gets_cpu_torch_and_the_gpu_image_a_cuda_12_build_for_the_aks_drivers():
    (cpu, gpu) = builds()
    assert pins.torch_variant(build_args(cpu)["TORCH_INDEX"]) == "cpu"
    variant = pins.torch_variant(build_args(gpu)["TORCH_INDEX"])
    # AKS's R570 GRID driver (NVads A10) runs CUDA <= 12.8; R580 (NC/ND) runs 12.x and 13.0.
    assert re.fullmatch(r"cu12[0-8]", variant), variant


def test_the_ray_bases_are_imported_into_the_stacks_registry_before_the_builds():
    commands = registry.build_commands("r1234", LOGIN, versions.WORKLOAD_IMAGE, versions.WORKLOAD_GPU_IMAGE)
    imports = [shlex.split(c) for c in commands[:2]]
    assert [w[w.index("--source") + 1] for w in imports] == [
        f"docker.io/{versions.RAY_IMAGE}",
        f"docker.io/{versions.RAY_GPU_IMAGE}",
    ]
    assert all(c.startswith("az acr import") for c in commands[:2])
    assert all(c.startswith("az acr build") for c in commands[2:])


@pytest.mark.parametrize(
    ("index", "cuda", "installed", "complaint"),
    [
        ("https://download.pytorch.org/whl/cu126", None, "2.13.0+cpu", "CUDA None"),
        ("https://download.pytorch.org/whl/cpu", "12.6", "2.13.0+cu126", "CUDA 12.6"),
        ("https://download.pytorch.org/whl/cu126", "12.6", "2.12.0+cu126", "2.12.0+cu126 installed"),
    ],
)
def test_the_build_check_refuses_an_image_whose_torch_is_not_the_pinned_build(index, cuda, installed, complaint):
    versions_of = {name: version for name, version in (line.split("==") for line in pins.workload_pins(REQUIREMENTS))}
    versions_of["torch"] = installed
    found = pins.problems(REQUIREMENTS, index, versions_of.__getitem__, cuda)
    assert any(complaint in problem for problem in found), found


def test_the_build_check_passes_the_pinned_builds():
    versions_of = dict(line.split("==") for line in pins.workload_pins(REQUIREMENTS))
    gpu = {**versions_of, "torch": versions_of["torch"] + "+cu126"}
    assert pins.problems(REQUIREMENTS, versions.TORCH_GPU_INDEX, gpu.__getitem__, "12.6") == []
    assert pins.problems(REQUIREMENTS, versions.TORCH_CPU_INDEX, versions_of.__getitem__, None) == []


def test_the_build_context_admits_what_the_dockerfile_copies_and_leaves_out_the_rest():
    ignore = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*"
    admitted = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY"):
            copied |= {word.rstrip("/") for word in line.split()[1:-1] if not word.startswith("--")}
    assert {path if "/" not in path else path.split("/")[0] for path in copied} <= admitted


def test_the_mnist_files_are_fetched_where_the_seed_job_reads_them():
    assert "ENV PYTHONPATH=/opt/ray-aks" in DOCKERFILE
    assert "python -m workloads.mnist_source fetch\n" in DOCKERFILE
    assert Path(mnist_source.IMAGE_DIR).parent == Path("/opt/ray-aks")
