"""Matching: the price of each line's meter among the API's items, and what each line costs.

Only pay-as-you-go (`type` Consumption) in the book's currency counts; the stack's region before "Global";
the primary meter region where there is one; the price in effect on the day; its tiers. A line whose meter
has no price says so ("no price found", "ambiguous", "unit mismatch"): it is never counted as zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from tools.costs import Item
from tools.costs.filters import holds
from tools.costs.items import LineItem
from tools.costs.meters import Meter
from tools.costs.prices import PriceBook
from tools.costs.units import number, parse_unit, unit_fits

Status = Literal["ok", "no price found", "ambiguous", "unit mismatch"]


@dataclass(frozen=True)
class Price:
    status: Status
    tiers: tuple[tuple[float, float], ...] = ()
    """(tierMinimumUnits, retailPrice) in the item's own unit, lowest tier first."""
    unit_of_measure: str = ""
    meter: str = ""
    """productName / skuName / meterName of the item used."""
    effective: str = ""
    """The effectiveStartDate of the prices used (the latest one, if tiers differ)."""
    primary: bool = True
    region: str = ""
    detail: str = ""

    def cost(self, quantity: float) -> float | None:
        """What `quantity` base units cost under the tiers (None without a price). Units below the lowest
        tier's minimum are not charged by this meter."""
        if self.status != "ok":
            return None
        units = quantity / parse_unit(self.unit_of_measure)[0]
        total = 0.0
        for i, (low, price) in enumerate(self.tiers):
            high = self.tiers[i + 1][0] if i + 1 < len(self.tiers) else math.inf
            if units > low:
                total += (min(units, high) - low) * price
        return total


def _field(item: Item, name: str) -> str:
    if name == "text":
        return " ".join(str(item.get(k, "")) for k in ("productName", "skuName", "meterName"))
    return str(item.get(name, ""))


def accepts(meter: Meter, item: Item) -> bool:
    """Whether the item passes every one of the meter's `accept` tests."""
    return all((re.search(pattern, _field(item, name)) is not None) == wanted for name, pattern, wanted in meter.accept)


def meter_key(item: Item) -> tuple[str, str, str, str]:
    """What names an item's meter: its product, SKU, meter and unit (its tiers and dates share them)."""
    return (
        str(item.get("productName", "")),
        str(item.get("skuName", "")),
        str(item.get("meterName", "")),
        str(item.get("unitOfMeasure", "")),
    )


def _tiers(rows: list[Item], today: str) -> tuple[tuple[tuple[float, float], ...], str]:
    """Per tier the price in effect today (the latest effectiveStartDate not in the future)."""
    best: dict[float, tuple[str, float]] = {}
    for row in rows:
        start = str(row.get("effectiveStartDate", ""))[:10]
        if start and start > today:
            continue
        low = number(row.get("tierMinimumUnits"))
        price = number(row.get("retailPrice"), math.nan)
        if math.isnan(price):
            continue
        if low not in best or start > best[low][0]:
            best[low] = (start, price)
    tiers = tuple(sorted((low, price) for low, (_, price) in best.items()))
    return tiers, max((start for start, _ in best.values()), default="")


def select_price(meter: Meter, items: Iterable[Item], currency: str, today: str) -> Price:
    """The meter's price among the items the API returned: type Consumption in `currency`, the meter's
    tests, the stack's region before "Global", the primary meter region when there is one (else the
    non-primary meter, flagged), and one meter; several meters with different prices are "ambiguous"."""
    found = [
        i
        for i in items
        if i.get("type") == "Consumption"
        and i.get("currencyCode", currency) == currency
        and holds(i, meter.query)
        and accepts(meter, i)
    ]
    if not found:
        return Price("no price found", detail=meter.filter)
    fitting = [i for i in found if unit_fits(str(i.get("unitOfMeasure", "")), meter.unit)]
    if not fitting:
        units = sorted({str(i.get("unitOfMeasure", "")) for i in found})
        return Price("unit mismatch", detail=f"expected {meter.unit}, the API has {', '.join(units)}")
    for where in (meter.region, "Global", ""):
        here = [i for i in fitting if i.get("armRegionName", "") == where]
        if here:
            fitting = here
            break
    primary = [i for i in fitting if i.get("isPrimaryMeterRegion", True) is True]
    chosen = primary or fitting
    groups: dict[tuple[str, str, str, str], list[Item]] = {}
    for item in chosen:
        groups.setdefault(meter_key(item), []).append(item)
    if meter.prefer:
        rank = {p: n for n, p in enumerate(meter.prefer)}
        best = min(rank.get(k[0], len(rank)) for k in groups)
        groups = {k: v for k, v in groups.items() if rank.get(k[0], len(rank)) == best}
    priced = {k: _tiers(v, today) for k, v in groups.items()}
    priced = {k: v for k, v in priced.items() if v[0]}
    if not priced:
        return Price("no price found", detail=f"{meter.filter} (no price in effect yet)")
    distinct = {tiers for tiers, _ in priced.values()}
    if len(distinct) > 1:
        names = "; ".join(f"{' / '.join(k[:3])}: {t}" for k, (t, _) in sorted(priced.items()))
        return Price("ambiguous", detail=f"{len(priced)} meters match: {names}")
    key = sorted(priced)[0]
    tiers, effective = priced[key]
    return Price(
        "ok",
        tiers=tiers,
        unit_of_measure=key[3],
        meter=" / ".join(key[:3]),
        effective=effective,
        primary=bool(primary),
        region=str(groups[key][0].get("armRegionName", "")),
    )


@dataclass(frozen=True)
class Row:
    line: LineItem
    price: Price | None
    idle_cost: float | None
    sweep_cost: float | None
    month_cost: float | None


def price_lines(lines: Sequence[LineItem], book: PriceBook, sweep_hours: float, today: str) -> list[Row]:
    """Each line with its price and costs: an idle month, one sweep-hour more, a month with `sweep_hours`."""
    rows = []
    for line in lines:
        if line.free:
            rows.append(Row(line, None, 0.0, 0.0, 0.0))
            continue
        if line.meter is None:
            rows.append(Row(line, None, None, None, None))
            continue
        price = select_price(line.meter, book.items, book.currency, today)
        idle = price.cost(line.idle)
        with_sweeps = price.cost(line.idle + sweep_hours * line.per_sweep_hour)
        one_more = price.cost(line.idle + line.per_sweep_hour)
        sweep = None if one_more is None or idle is None else one_more - idle
        rows.append(Row(line, price, idle, sweep, with_sweeps))
    return rows
