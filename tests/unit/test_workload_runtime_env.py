"""workloads/runtime_env.yaml: a job installs nothing (the images hold the packages), and uploads stay small."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import yaml

from tests.imports import project_modules, top_level_imports

REPO = Path(__file__).resolve().parents[2]
RUNTIME_ENV = yaml.safe_load((REPO / "workloads" / "runtime_env.yaml").read_text())


def test_a_job_downloads_no_package_at_start():
    # The images hold every pinned package (images/Dockerfile); a pip/conda/uv entry here would make every
    # node install at job start, GPU wheels on the CPU-only head included.
    assert not {"pip", "conda", "uv", "py_executable", "image_uri", "container"} & RUNTIME_ENV.keys()


def _excluded(relative: str) -> bool:
    return any(
        fnmatch.fnmatch(f"/{relative}", pattern.rstrip("/") + ("/*" if pattern.endswith("/") else ""))
        or fnmatch.fnmatch(f"/{relative}", "*/" + pattern.rstrip("/").lstrip("/") + "/*")
        for pattern in RUNTIME_ENV["excludes"]
    )


def test_every_module_the_workload_imports_is_uploaded_with_the_job():
    # On the cluster only what --working-dir uploads is importable besides the image's packages.
    local = project_modules(REPO)
    imported = top_level_imports(REPO / "workloads")
    needed = imported & local
    assert "versions" in needed and "workloads" in needed
    for module in needed:
        path = f"{module}.py" if (REPO / f"{module}.py").is_file() else f"{module}/__init__.py"
        assert not _excluded(path), f"{path} is imported by workloads/ but excluded from the job's upload"
    assert _excluded("tools/mocks/azure.py") and _excluded("tests/unit/x.py")  # the matcher itself


def test_uploads_leave_out_environments_data_results_and_the_infrastructure():
    excludes = set(RUNTIME_ENV["excludes"])
    assert {".git/", ".venv/", "/data/", "/results/", "/tests/"} <= excludes
    assert not any("workloads" in pattern for pattern in excludes)


def test_the_runtime_env_sets_no_working_dir_of_its_own():
    # `ray job submit --working-dir .` decides it; one set here would be relative to wherever Ray reads it.
    assert "working_dir" not in RUNTIME_ENV


def test_a_stopped_job_has_a_minute_for_its_final_save():
    # `ray job stop` sends SIGTERM, then SIGKILL after RAY_JOB_STOP_WAIT_TIME_S (3 s unless the job's
    # runtime_env sets it): too short for the sweep's last experiment save and summary.
    assert int(RUNTIME_ENV["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"]) >= 30
