"""Fixtures for tests that run real Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from workloads import data


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A data dir holding the offline digits, packed once for the whole session."""
    path = tmp_path_factory.mktemp("datasets")
    data.prepare(path, "offline")
    return path
