"""The README's commands: a 3.11 interpreter or a clear refusal, pip's progress shown, torch's CPU build on request."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tools import check_python
from tools.mocks import PROJECT_DIR


def dry_run(tmp_path, *args: str) -> list[str]:
    # A fresh virtualenv path: make prints every step it would take from nothing.
    if shutil.which("make") is None:
        pytest.fail("make is not installed (apt-get install make)")
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["make", "-n", f"VENV={venv}", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_another_python_is_refused_with_the_version_needed_and_how_to_pick_one():
    message = check_python.problem((3, 12, 1), "/usr/bin/python3")
    assert "/usr/bin/python3 is Python 3.12" in message and "needs Python 3.11" in message
    assert "make PYTHON=/path/to/python3.11" in message
    assert check_python.problem((3, 11, 9), "/usr/bin/python3.11") is None


def test_the_check_runs_on_this_interpreter_and_before_the_virtualenv_is_made(tmp_path):
    assert subprocess.run([sys.executable, str(PROJECT_DIR / "tools" / "check_python.py")]).returncode == 0
    steps = dry_run(tmp_path, "test")
    check = next(i for i, line in enumerate(steps) if "tools/check_python.py" in line)
    assert check < next(i for i, line in enumerate(steps) if " -m venv " in line)


def test_installs_show_progress_and_use_the_lock(tmp_path):
    installs = [line for line in dry_run(tmp_path, "test") if " pip install" in line]
    assert installs and not any(" -q" in line or "--quiet" in line for line in installs)
    assert any("-c constraints.txt --group dev" in line for line in installs)


def test_torch_comes_from_the_index_named_by_torch_index_and_only_then(tmp_path):
    cpu = "https://download.pytorch.org/whl/cpu"
    steps = dry_run(tmp_path, "test", f"TORCH_INDEX={cpu}")
    [torch] = [line for line in steps if line.endswith(" torch") and "pip install" in line]
    assert f"--index-url {cpu}" in torch and "-c constraints.txt" in torch
    assert steps.index(torch) < next(i for i, line in enumerate(steps) if "--group dev" in line)
    assert not [line for line in dry_run(tmp_path, "test") if "--index-url" in line]


def test_the_deploy_virtualenv_installs_the_deploy_group_only(tmp_path):
    installs = [line for line in dry_run(tmp_path, "deploy-venv") if " pip install" in line and "--group" in line]
    assert installs == [next(line for line in installs if line.endswith("--group deploy"))]
