"""`pulumi up` and the policy pack run on the deploy group alone: no Ray, no torch, nothing of the workload's.

The program (__main__.py, under Pulumi's mocks) and the pack's modules run in a subprocess where every
package of the workload group that the deploy group lacks fails to import, as it would in a virtualenv
made by `make deploy-venv`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata

from tools import pins
from tools.mocks import PROJECT_DIR


def workload_only_modules() -> set[str]:
    """Top-level import names of the workload group's packages that the deploy group does not pin."""
    only = set(pins.pins("workload")) - set(pins.pins("deploy"))
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(pins.canonicalize_name(dist) in only for dist in dists)
    }


SCRIPT = textwrap.dedent("""
    import importlib.abc, sys

    BLOCKED = set(sys.argv[1].split(","))

    class Unavailable(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (not in the deploy group)")

    sys.meta_path.insert(0, Unavailable())
    sys.path[:0] = [".", "policy"]

    from tools.mocks import run_program, stack_config
    recording = run_program(stack_config("dev"), stack="dev")
    import policies
    from tools.pack import evaluate
    assert evaluate(recording) == [], evaluate(recording)
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print(len(recording.resources), "resources")
""")


def test_the_blocked_modules_are_the_workloads_heavy_packages():
    assert {"ray", "torch", "optuna", "matplotlib"} <= workload_only_modules()
    assert not {"pulumi", "pydantic", "yaml"} & workload_only_modules()


def test_the_program_and_the_policy_pack_run_without_the_workloads_packages():
    blocked = workload_only_modules()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(sorted(blocked))],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resources" in result.stdout


def test_the_guard_itself_stops_a_workload_import():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT.replace("from tools.mocks", "import torch\nfrom tools.mocks"),
            ",".join(sorted(workload_only_modules())),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0 and "not in the deploy group" in result.stderr
