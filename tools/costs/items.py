"""Line items: one billed thing each, with its quantities, and what a rule reads to make one.

`tools.costs.rules` makes them from the recorded program; `tools.costs.matching` prices them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.costs.meters import Meter


@dataclass(frozen=True)
class LineItem:
    """One billed thing. Quantities are in the meter's unit kind: hours, days, months, GB, GB-months or
    counts; `idle` is a month with the GPU pool at zero, `per_sweep_hour` what one hour of a sweep adds."""

    part: str
    resource: str
    meter: Meter | None
    idle: float
    per_sweep_hour: float
    unit: str
    basis: str
    free: str = ""
    """Why it costs nothing: Azure has no meter for it (not a missing price)."""
    unpriced: str = ""
    """Billable, but the tool knows no meter for it: the table says so."""


@dataclass(frozen=True)
class Resource:
    """One registration (tools.mocks.Registration) as its rule reads it, with the stack's quantities: the
    assumptions' values and the GPU nodes a sweep runs."""

    registration: Any
    region: str
    a: Mapping[str, float]
    gpu_nodes_max: float

    @property
    def inputs(self) -> Mapping[str, Any]:
        return self.registration.inputs

    @property
    def hours(self) -> float:
        return self.a["hours_per_month"]

    def line(
        self,
        part: str,
        meter: Meter | None,
        idle: float,
        unit: str,
        basis: str,
        per_sweep_hour: float = 0,
        free: str = "",
        unpriced: str = "",
    ) -> LineItem:
        """A line of this resource, named as its type and name ("AgentPool gpu")."""
        name = f"{self.registration.type.split(':')[-1]} {self.registration.name}"
        return LineItem(part, name, meter, idle, per_sweep_hour, unit, basis, free, unpriced)

    def assumed(self, part: str, meter: Meter, key: str, unit: str) -> LineItem:
        """A line whose monthly quantity is one assumption, and nothing more during a sweep."""
        return self.line(part, meter, self.a[key], unit, f"assumption {key}")


# The table's order: the cluster, its pools, its network, data, images, then monitoring.
_ORDER = (
    "AKS",
    "System pool",
    "CPU pool",
    "GPU pool",
    "Standard Load Balancer",
    "Public IP",
    "Storage account",
    "Container registry",
    "Managed Prometheus",
    "Log Analytics",
    "Managed Grafana",
)


def _order(line: LineItem) -> float:
    found = next((n for n, prefix in enumerate(_ORDER) if line.part.startswith(prefix)), None)
    if found is None:
        return _ORDER.index("GPU pool") + 0.5 if " pool" in line.part else len(_ORDER)
    return found


def stack_region(lines: Sequence[LineItem]) -> str:
    """The region(s) the lines are priced in, for the table's header."""
    regions = sorted({line.meter.region for line in lines if line.meter is not None})
    return ", ".join(regions) or "unknown"


def in_table_order(lines: Iterable[LineItem]) -> list[LineItem]:
    """The lines in the table's order (stable: a resource's lines keep theirs)."""
    return sorted(lines, key=_order)
