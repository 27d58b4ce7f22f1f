"""Every private Pulumi internal the project relies on, behind one module.

Neither pulumi nor pulumi-policy promises these names: they are read from their sources at the versions in
`CHECKED_WITH`, and tests/unit/test_pulumi_internals.py fails when pyproject.toml pins others, so an
upgrade re-reads them here first. Everything else imports them from here, never from the packages.

- Stack config as the language host hands it to a program (`pulumi.runtime.config`): what
  `pulumi.Config` reads, all keys at once, so settings can name unknown keys.
- The runtime's root resource, settings and event loop (`pulumi.runtime.settings`, `.stack`,
  `.sync_await`, `.rpc`): what the offline runner (tools/mocks/) needs to run `__main__.py` under
  `set_mocks` several times in one process and read back secrets and unknowns.
- pulumi-policy's property proxies and unknown sentinels (`pulumi_policy.proxy`): what a policy sees
  for a value that `pulumi preview` cannot know yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import ROOT, SETTINGS, get_root_resource
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await as sync_await
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
    unknown_checking_proxy,
)

# The versions whose sources these names were read from (pulumi/sdk/python/lib/pulumi/runtime,
# pulumi/pulumi-policy sdk/python/lib/pulumi_policy/proxy.py).
CHECKED_WITH = {"pulumi": "3.272.0", "pulumi-policy": "1.21.0"}

# Every sentinel pulumi-policy puts where a property is unknown during preview.
POLICY_UNKNOWNS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def config_values() -> dict[str, str]:
    """The running stack's whole config (`project:key` → text), environment first as the runtime reads it."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return {**get_config_env(), **CONFIG.get()}


def unproxied(value: Any) -> Any:
    """The dict or list behind one of pulumi-policy's unknown-checking proxies (the value itself otherwise)."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        return value["__target"]
    return value


def is_secret(value: Any) -> bool:
    """A serialized secret as the resource monitor receives it."""
    return isinstance(value, Mapping) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def finish_stack(root: Any) -> None:
    """Register the root stack's outputs, as the language host does when the program returns."""
    root._finish()


__all__ = [
    "CHECKED_WITH",
    "POLICY_UNKNOWNS",
    "ROOT",
    "SETTINGS",
    "UNKNOWN_ARRAY_VALUE",
    "UNKNOWN_NUMBER_VALUE",
    "UNKNOWN_OBJECT_VALUE",
    "UNKNOWN_STRING_VALUE",
    "Stack",
    "UnknownValueError",
    "config_values",
    "finish_stack",
    "get_root_resource",
    "is_secret",
    "pulumi_mocks",
    "rpc",
    "run_pulumi_func",
    "sync_await",
    "unknown_checking_proxy",
    "unproxied",
]
