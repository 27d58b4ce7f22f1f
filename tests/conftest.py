"""Fixtures shared by the program, policy and tools tests: the whole program under Pulumi's mocks (tools/mocks/),
recorded once per session per config."""

from __future__ import annotations

import pytest
from hypothesis import settings as hypothesis_settings

import versions
from settings import reading
from tools.mocks import Recording, run_program, stack_config

# The program checks the Kubernetes version against AKS's support calendar on today's date; the suite
# runs on the day the calendar was read, so it never fails because of the date (tests/unit/
# test_support_calendar.py checks the calendar itself with dates of its own).
reading.CLOCK = lambda: versions.AKS_CALENDAR_READ

# Property tests check behaviour, not speed: no per-example deadline (a busy CI machine would trip it).
hypothesis_settings.register_profile("ray-aks", deadline=None)
hypothesis_settings.load_profile("ray-aks")


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
