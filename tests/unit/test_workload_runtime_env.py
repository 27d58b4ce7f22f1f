"""workloads/runtime_env.yaml: the job's packages are the project's pins, and uploads stay small."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RUNTIME_ENV = yaml.safe_load((REPO / "workloads" / "runtime_env.yaml").read_text())


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==(\S+)", line.split("#")[0].strip())
        if match:
            found[match[1].lower()] = match[3]
    return found


def test_the_jobs_packages_are_pinned_exactly_as_in_requirements_txt():
    packages = RUNTIME_ENV["pip"]["packages"]
    job = pins(packages)
    assert len(job) == len(packages), f"every package needs an exact == pin: {packages}"
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    assert {name: required.get(name) for name in job} == job
    assert {"torch", "optuna", "mlxtend", "matplotlib"} <= job.keys()


def test_the_job_does_not_install_ray_over_the_cluster_images():
    assert "ray" not in pins(RUNTIME_ENV["pip"]["packages"])


def test_uploads_leave_out_environments_data_results_and_the_infrastructure():
    excludes = set(RUNTIME_ENV["excludes"])
    assert {".git/", ".venv/", "/data/", "/results/", "/tests/"} <= excludes
    assert not any("workloads" in pattern for pattern in excludes)


def test_the_runtime_env_sets_no_working_dir_of_its_own():
    # `ray job submit --working-dir .` decides it; one set here would be relative to wherever Ray reads it.
    assert "working_dir" not in RUNTIME_ENV
