"""Validators for the KubeRay custom resources, from the CRD schemas of the pinned chart kept beside this
file (SOURCE.txt in the versioned folder says where they come from and how to refresh them)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

import versions

FOLDER = Path(__file__).resolve().parent / f"kuberay-v{versions.KUBERAY_CHART_VERSION}"


def strict(node: object) -> object:
    """The CRD schema, refusing unknown fields. The API server silently prunes what a structural schema
    doesn't declare, so a misspelt field would vanish instead of failing; here it fails."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict(value) for key, value in node.items()}
    if (node.get("type") == "object" and "properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        node["additionalProperties"] = False
    return node


@cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    """`kind`: "raycluster" or "rayjob"."""
    schema = strict(json.loads((FOLDER / f"{kind}-v1.schema.json").read_text()))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
