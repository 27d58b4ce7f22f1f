"""The workload's module boundaries: only trainable.py touches ray.tune; data, model and train stay Ray-free."""

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


def test_only_the_trainable_module_imports_ray_tune():
    users = {path.name for path in WORKLOADS.glob("*.py")
             if any(name == "ray.tune" or name.startswith("ray.tune.") for name in imported_modules(path, False))}
    assert users == {"trainable.py"}


@pytest.mark.parametrize("module", ["data", "model", "train", "report", "defaults"])
def test_the_core_modules_do_not_import_ray_at_module_level(module):
    assert not any(name.split(".")[0] == "ray" for name in imported_modules(WORKLOADS / f"{module}.py", True))


def test_importing_the_cli_does_not_import_ray():
    # The CLI checks arguments before anything slow or stateful happens.
    code = "import sys, workloads.tune, workloads.data, workloads.train; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=WORKLOADS.parent, check=True, timeout=60)
