"""Reading a resource's properties as a policy sees them, unknown values included.

During `pulumi preview`, a property computed from another resource's outputs (an id, a client id, a generated
name) is unknown; pulumi-policy gives it as a sentinel string. A rule never fails on an unknown value (it
can't be judged yet; `pulumi up` runs the pack again once it is known), but it does fail on a value that is
missing or wrong, since the program sets those as literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_internals import POLICY_UNKNOWNS, unproxied


class _Unknown:
    """What `lookup` returns for a value, or a parent of it, that preview can't know yet."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()
MISSING = object()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in POLICY_UNKNOWNS)


def plain(value: Any) -> Any:
    """pulumi-policy's props (proxies that raise on unknown values) as plain dicts and lists, unknown
    values kept as their sentinels, so a rule can look at everything it can know."""
    value = unproxied(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def lookup(props: Any, path: str, default: Any = None) -> Any:
    """`props["a"]["b"]` for path "a.b": `default` when missing, UNKNOWN when it or a parent is unknown."""
    value = props
    for key in path.split("."):
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, Mapping) or key not in value:
            return default
        value = value[key]
    return UNKNOWN if is_unknown(value) else value


def require(props: Mapping, path: str, allowed: Iterable[Any], fix: str, at: str = "") -> list[str]:
    """One message if `path` is set to none of `allowed` (missing counts as wrong; unknown passes); `at`
    is where `props` sits in the resource, for the message."""
    allowed = tuple(allowed)
    value = lookup(props, path, MISSING)
    if value is UNKNOWN or any(equal(value, a) for a in allowed):
        return []
    shown = "not set" if value is MISSING else f"{value!r}"
    wanted = " or ".join(repr(a) for a in allowed)
    return [f"{at + '.' if at else ''}{path} is {shown}; it must be {wanted}. {fix}"]


def equal(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a boolean setting must be the boolean itself.
    return value is expected if isinstance(expected, bool) else value == expected


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def show(value: Any) -> str:
    # Numbers arrive as floats over the wire (protobuf Struct): show 12.0 as 12.
    as_number = number(value)
    return str(int(as_number)) if as_number is not None and as_number.is_integer() else repr(value)


def lower_keys(value: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in value.items()} if isinstance(value, Mapping) else {}
