"""How a bad setting is told: one line naming the key, the value as written, why, and a valid example."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic.alias_generators import to_camel

from settings.constants import PROJECT


class SettingsError(ValueError):
    """Bad stack configuration; the message names every bad key, its value and a valid example."""


def line(field: str, value: Any, why: str, example: Any) -> str:
    """`field` (snake_case) holds `value`, which `why`; `example` is the field's valid example."""
    key = to_camel(field)
    if isinstance(example, list):  # the CLI stores a JSON text as a string, refused by Pulumi.yaml's array type
        return f"{PROJECT}:{key} = {show(value)} {why}. Valid example: pulumi config set --path '{PROJECT}:{key}[0]' '{example[0]}'"
    shown = example if isinstance(example, str) else json.dumps(example)
    return f"{PROJECT}:{key} = {show(value)} {why}. Valid example: pulumi config set {PROJECT}:{key} '{shown}'"


def show(value: Any) -> str:
    """A value as the user wrote it: JSON arrays as arrays, everything else quoted."""
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.dumps(json.loads(value), separators=(",", ":"))
        except json.JSONDecodeError:
            pass
    return json.dumps(value)


def reason(error: Mapping[str, Any]) -> str:
    """Why pydantic refused a value (one of its error dicts), worded to follow the value."""
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return "is wrong: " + message[len(prefix) :]
    return f"is wrong: {message[0].lower()}{message[1:]}"
