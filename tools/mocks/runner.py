"""Run `__main__.py` under the mocks with a stack's config, as the Pulumi CLI would hand it over."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml

import settings
from pulumi_internals import ROOT, SETTINGS, Stack, finish_stack, get_root_resource, run_pulumi_func
from pulumi_internals import sync_await as _sync_await
from tools.mocks.azure import AzureMocks
from tools.mocks.recording import Recording, RecordingMonitor
from tools.mocks.state import Cloud, StackState

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT = "ray-aks"


def stack_config(
    stack: str = "dev", overrides: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
) -> dict[str, str]:
    """A stack's config as the Pulumi CLI hands it to the program: Pulumi.yaml defaults (and the offline
    API allow-list), then Pulumi.<stack>.yaml, then overrides; every value as text (structured values as JSON)."""
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    config: dict[str, Any] = {}
    for key, spec in project.get("config", {}).items():
        if "default" in spec:
            config[key if ":" in key else f"{PROJECT}:{key}"] = spec["default"]
    # Pulumi.dev.yaml ships no API allow-list (each user sets their own public IP; placeholders are
    # refused): offline runs stand in a valid public example unless the stack file sets one.
    config[f"{PROJECT}:apiServerAuthorizedIpRanges"] = [settings.EXAMPLE_PUBLIC_CIDR]
    stack_file = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        config.update((yaml.safe_load(stack_file.read_text()) or {}).get("config", {}) or {})
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"{PROJECT}:{key}"] = value
    for key in remove:
        config.pop(key if ":" in key else f"{PROJECT}:{key}", None)
    return {key: _as_text(value) for key, value in config.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def run_program(
    config: dict[str, str] | None = None,
    stack: str = "dev",
    preview: bool = False,
    cloud: Cloud | None = None,
    state: StackState | None = None,
    seed: int = 0,
    mocks: AzureMocks | None = None,
) -> Recording:
    """Run __main__.py under mocks with the given config (default: the stack's) and return the recording.

    `cloud` and `state` carry what exists in Azure and in the stack's state from an earlier run (see
    `destroy`); `seed` draws the autonames (use a new one for each later run, as each deployment does).
    Errors the program raises (bad settings included) propagate unchanged. `mocks`: an AzureMocks
    subclass that answers some resources differently (e.g. a RayJob's final status).
    """
    mocks = mocks or AzureMocks(cloud, state, seed)
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config if config is not None else stack_config(stack))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    # set_mocks registers its root stack's (empty) outputs at once; a stack of our own keeps the exports.
    ROOT.set(None)
    Stack()
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))

    def program() -> None:
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        finally:
            root = get_root_resource()
            if root is not None:
                finish_stack(root)

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as err:
        # What was registered before the failure, for tests that prove nothing was.
        err.recording = _recording(monitor, mocks)  # type: ignore[attr-defined]  # read by tests, as caught.value.recording
        raise
    return _recording(monitor, mocks)


def _recording(monitor: RecordingMonitor, mocks: AzureMocks) -> Recording:
    operations = {
        urn: mocks.operations[(r.type, r.name)]
        for urn, r in monitor.registrations.items()
        if (r.type, r.name) in mocks.operations
    }
    return Recording(monitor.registrations, monitor.stack_outputs, mocks.invokes, monitor.secret_outputs, operations)
