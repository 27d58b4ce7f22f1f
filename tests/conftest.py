"""Fixtures shared by the program, policy and tools tests: the whole program under Pulumi's mocks (tools/mocks.py),
recorded once per session per config."""

from __future__ import annotations

import pytest

from tools.mocks import Recording, run_program, stack_config


@pytest.fixture(scope="session")
def dev() -> Recording:
    """Every resource `pulumi up` of the dev stack would register, with inputs, parents and edges."""
    return run_program(stack_config("dev"))


@pytest.fixture(scope="session")
def record():
    """Run the program with changes to the dev stack's config: record(overrides, remove=(...))."""
    cache: dict[str, Recording] = {}

    def run(overrides: dict | None = None, remove: tuple[str, ...] = ()) -> Recording:
        key = repr((sorted((overrides or {}).items()), remove))
        if key not in cache:
            cache[key] = run_program(stack_config("dev", overrides, remove))
        return cache[key]

    return run
