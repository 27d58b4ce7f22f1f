"""The API's units of measure, and the numbers read from its items and from the program's inputs."""

from __future__ import annotations

import re
from typing import Any, Literal

UnitKind = Literal["hour", "day", "month", "GB", "GB-month", "count"]
# What follows the number in unitOfMeasure ("1 Hour", "1/Day", "1 GB/Month", "10K", "1/Month"), per kind.
_UNIT_REST = {
    "hour": r"/?hours?",
    "day": r"/?days?",
    "month": r"/?months?",
    "GB": r"gb",
    "GB-month": r"gb/month",
    "count": r"(operations?|transactions?|samples?)?",
}
_SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9}
_UNIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB](?![A-Za-z]))?\s*(.*?)\s*$")


def parse_unit(unit_of_measure: str) -> tuple[float, str]:
    """unitOfMeasure as (how many base units one priced unit is, what they are): '10K' -> (10000, '')."""
    m = _UNIT_RE.match(unit_of_measure or "")
    if not m:
        return 1.0, (unit_of_measure or "").strip().lower()
    return float(m.group(1)) * _SCALE[m.group(2) or ""], m.group(3).lower()


def unit_fits(unit_of_measure: str, kind: UnitKind) -> bool:
    return re.fullmatch(_UNIT_REST[kind], parse_unit(unit_of_measure)[1]) is not None


def number(value: Any, default: float = 0.0) -> float:
    """A JSON or input value as a number, `default` where it is none (absent, null, a string)."""
    return float(value) if isinstance(value, (int, float)) else default
