"""pulumi_internals.py: the one module that touches Pulumi's private runtime, checked against its versions."""

from __future__ import annotations

import ast
from importlib import metadata

import pulumi_internals
from tools import pins
from tools.mocks import PROJECT_DIR


def test_the_internals_were_read_at_the_pinned_and_installed_versions():
    # A pin moved in pyproject.toml: re-read the private names in pulumi_internals.py, then update CHECKED_WITH.
    pinned = pins.pins("deploy")
    for package, version in pulumi_internals.CHECKED_WITH.items():
        assert pinned[package] == version, f"{package} is pinned at {pinned[package]}; re-check pulumi_internals.py"
        assert metadata.version(package) == version


def test_nothing_else_imports_pulumis_private_runtime():
    private = (
        "pulumi.runtime.settings",
        "pulumi.runtime.stack",
        "pulumi.runtime.sync_await",
        "pulumi.runtime.rpc",
        "pulumi.runtime.config",
        "pulumi_policy.proxy",
    )
    offenders = []
    for path in PROJECT_DIR.rglob("*.py"):
        if {".venv", "tests"} & set(path.relative_to(PROJECT_DIR).parts[:1]) or path.name == "pulumi_internals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if isinstance(node, ast.ImportFrom) and node.module == "pulumi.runtime":
                names += [f"pulumi.runtime.{alias.name}" for alias in node.names if alias.name != "mocks"]
            offenders += [f"{path.relative_to(PROJECT_DIR)}: {name}" for name in names if name.startswith(private)]
    assert offenders == []


def test_the_stack_config_reader_sees_what_the_runtime_was_given():
    import pulumi

    pulumi.runtime.set_all_config({"ray-aks:location": "westeurope"})
    assert pulumi_internals.config_values()["ray-aks:location"] == "westeurope"


def test_unknown_sentinels_and_proxies_are_pulumi_policys():
    proxied = pulumi_internals.unknown_checking_proxy({"a": [1]})
    target = pulumi_internals.unproxied(proxied)
    assert type(target) is dict and pulumi_internals.unproxied(target["a"]) == [1]
    assert pulumi_internals.unproxied("x") == "x"
    assert pulumi_internals.UNKNOWN_STRING_VALUE in pulumi_internals.POLICY_UNKNOWNS
