"""Manifests (plain dicts from manifests/) as keyword arguments of pulumi_kubernetes' typed resources."""

from __future__ import annotations

import operator
import re
from typing import Any

import pulumi


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def fields(manifest: dict | pulumi.Output[dict], keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """`{"metadata": ..., "spec": ...}` → `metadata=..., spec=...` (snake_case names, apiVersion and kind
    dropped: the class fixes them). A manifest still waiting on outputs needs its top-level keys named."""
    if isinstance(manifest, dict):
        return {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    return {_snake(k): manifest.apply(operator.itemgetter(k)) for k in keys}
