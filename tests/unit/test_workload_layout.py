"""The workload's module boundaries: only the Tune modules touch ray.tune; data, model and train stay Ray-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"


def imported_modules(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


# The trainable, search space and Tuner; Tune's callbacks; Tune's results API (workloads/trainable.py's docstring).
TUNE_MODULES = {"trainable.py", "callbacks.py", "results.py"}


def test_only_the_tune_modules_import_ray_tune():
    users = {
        path.name
        for path in WORKLOADS.glob("*.py")
        if any(name == "ray.tune" or name.startswith("ray.tune.") for name in imported_modules(path, False))
    }
    assert users == TUNE_MODULES


@pytest.mark.parametrize("module", ["data", "model", "train", "report", "defaults"])
def test_the_core_modules_do_not_import_ray_at_module_level(module):
    assert not any(name.split(".")[0] == "ray" for name in imported_modules(WORKLOADS / f"{module}.py", True))


def test_importing_the_cli_does_not_import_ray():
    # The CLI checks arguments before anything slow or stateful happens.
    code = "import sys, workloads.tune, workloads.data, workloads.train; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=WORKLOADS.parent, check=True, timeout=60)


def workload_imports(module: str) -> set[str]:
    return {
        name.split(".")[1]
        for name in imported_modules(WORKLOADS / f"{module}.py", False)
        if name.startswith("workloads.") and (WORKLOADS / f"{name.split('.')[1]}.py").exists()
    }


def test_the_workload_modules_import_each_other_without_a_cycle():
    graph = {path.stem: workload_imports(path.stem) for path in WORKLOADS.glob("*.py") if path.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, stack: tuple[str, ...]) -> None:
        assert module not in stack, " -> ".join((*stack, module))
        if module not in done:
            for imported in graph[module]:
                visit(imported, (*stack, module))
            done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module", ["sweep", "lease"])
def test_the_sweep_definition_and_the_lease_are_ray_free(module):
    assert not any(name.split(".")[0] == "ray" for name in imported_modules(WORKLOADS / f"{module}.py", False))
