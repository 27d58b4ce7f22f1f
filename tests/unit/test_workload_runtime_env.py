"""workloads/runtime_env.yaml: the job's packages are pyproject.toml's `job` group, uploads stay small and hold
what the workload imports."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import yaml
from ray.runtime_env import RuntimeEnv

from tools import pins

REPO = Path(__file__).resolve().parents[2]
RUNTIME_ENV = yaml.safe_load((REPO / "workloads" / "runtime_env.yaml").read_text())


def test_the_job_installs_pyprojects_job_group_as_ray_parses_the_runtime_env(monkeypatch):
    # Ray reads the pip file on the submitting machine, relative to where `ray job submit` runs: the root.
    monkeypatch.chdir(REPO)
    packages = RuntimeEnv(**RUNTIME_ENV)["pip"]["packages"]
    assert packages == [str(requirement) for requirement in pins.group("job")]
    assert {"torch", "optuna", "mlxtend", "matplotlib"} <= set(pins.pins("job"))


def test_the_job_requirements_file_is_what_pyproject_says():
    assert pins.main(["job-requirements", "--check"]) == 0


def test_the_job_does_not_install_ray_over_the_cluster_images():
    assert "ray" not in pins.pins("job")


def _excluded(relative: str) -> bool:
    return any(fnmatch.fnmatch(f"/{relative}", pattern.rstrip("/") + ("/*" if pattern.endswith("/") else ""))
               or fnmatch.fnmatch(f"/{relative}", "*/" + pattern.rstrip("/").lstrip("/") + "/*")
               for pattern in RUNTIME_ENV["excludes"])


def test_every_module_the_workload_imports_is_uploaded_with_the_job():
    # On the cluster only what --working-dir uploads is importable besides the image's packages.
    local = {path.stem for path in REPO.glob("*.py")} | {path.parent.name for path in REPO.glob("*/__init__.py")}
    imported = set()
    for source in (REPO / "workloads").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    needed = imported & local
    assert "versions" in needed and "workloads" in needed
    for module in needed:
        path = f"{module}.py" if (REPO / f"{module}.py").is_file() else f"{module}/__init__.py"
        assert not _excluded(path), f"{path} is imported by workloads/ but excluded from the job's upload"
    assert _excluded("tools/mocks.py") and _excluded("tests/unit/x.py")  # the matcher itself


def test_uploads_leave_out_environments_data_results_and_the_infrastructure():
    excludes = set(RUNTIME_ENV["excludes"])
    assert {".git/", ".venv/", "/data/", "/results/", "/tests/"} <= excludes
    assert not any("workloads" in pattern for pattern in excludes)


def test_the_runtime_env_sets_no_working_dir_of_its_own():
    # `ray job submit --working-dir .` decides it; one set here would be relative to wherever Ray reads it.
    assert "working_dir" not in RUNTIME_ENV
