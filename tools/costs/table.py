"""Table: the Markdown a run prints, and the `--meters` listing of what the API returns for a filter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tools.costs import Item
from tools.costs.assumptions import Assumption
from tools.costs.matching import Price, Row, meter_key
from tools.costs.prices import PriceBook
from tools.costs.units import number


def _amount(value: float) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.4g} billion"
    if value >= 1e6:
        return f"{value / 1e6:.4g} million"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _unit_price(price: Price) -> str:
    if len(price.tiers) == 1:
        return f"{price.tiers[0][1]:.6g} per {price.unit_of_measure}"
    steps = ", ".join(f"from {low:g}: {p:.6g}" for low, p in price.tiers)
    return f"{steps} per {price.unit_of_measure}"


def render(rows: Sequence[Row], book: PriceBook, region: str, stack: str, assumptions: Mapping[str, Assumption]) -> str:
    sweep_hours = assumptions["sweep_hours_per_month"].value
    c = book.currency
    out = [
        f"## What the {stack} stack costs a month",
        "",
        f"Prices: Azure Retail Prices API ({book.source}), retail pay-as-you-go (`type` Consumption), "
        f"fetched {book.fetched_at}; region `{region}`; currency {c}. Each unit price carries the date Azure "
        "gives it (`effectiveStartDate`). Produced by `python -m tools.costs`.",
        "",
        f"| # | Part | Meter (productName / skuName / meterName) | Quantity a month | Unit price ({c}) | "
        f"Idle month ({c}) | Per sweep-hour ({c}) |",
        "|---|---|---|---|---|---|---|",
    ]
    missing: list[str] = []
    for n, row in enumerate(rows, 1):
        line, price = row.line, row.price
        quantity = f"{_amount(line.idle)} {line.unit}"
        if line.per_sweep_hour:
            quantity += f" + {_amount(line.per_sweep_hour)} per sweep-hour"
        quantity += f" ({line.basis})" if line.basis else ""
        if line.free:
            meter, unit_price = "none", line.free
        elif price is None:
            meter, unit_price = "none", f"not priced: {line.unpriced}"
            missing.append(f"{n}. {line.part}: {line.unpriced}")
        elif price.status != "ok":
            meter, unit_price = "—", price.status
            missing.append(f"{n}. {line.part}: {price.status} ({price.detail})")
        else:
            meter = price.meter + ("" if price.primary else " (non-primary meter region)")
            unit_price = f"{_unit_price(price)} (since {price.effective or 'undated'})"
        out.append(
            f"| {n} | {line.part} | {meter} | {quantity} | {unit_price} | {_money(row.idle_cost)} | "
            f"{_money(row.sweep_cost)} |"
        )
    idle = sum(r.idle_cost or 0.0 for r in rows)
    sweep = sum(r.sweep_cost or 0.0 for r in rows)
    month = sum(r.month_cost or 0.0 for r in rows)
    at_least = "at least " if missing else ""
    out += [
        f"| | **Total** | | | | **{at_least}{idle:,.2f}** | **{at_least}{sweep:,.2f}** |",
        "",
        f"A month with {sweep_hours:g} sweep-hours (assumption `sweep_hours_per_month`): {at_least}{month:,.2f} {c}.",
    ]
    if missing:
        out += ["", "Not in the totals (no price, so not counted as zero):", ""]
        out += [f"- {m}" for m in missing]
    out += ["", "Filters sent for each line (OData `$filter`; the meter's tests then pick one item):", ""]
    for n, row in enumerate(rows, 1):
        if row.line.meter is not None:
            out.append(f"{n}. `{row.line.meter.filter}` — meter names: {row.line.meter.source}")
    out += ["", "Assumptions (`--assume KEY=VALUE` replaces one):", ""]
    out += [f"- `{key}` = {_amount(x.value)} {x.unit}: {x.why}" for key, x in assumptions.items()]
    return "\n".join(out) + "\n"


def list_meters(book: PriceBook, filter_items: Sequence[Item]) -> str:
    out = ["| type | armRegionName | productName | skuName | meterName | unitOfMeasure | tier | retailPrice | since |"]
    out.append("|---|---|---|---|---|---|---|---|---|")
    for i in sorted(filter_items, key=lambda i: (meter_key(i), number(i.get("tierMinimumUnits")))):
        out.append(
            f"| {i.get('type', '')} | {i.get('armRegionName', '')} | {i.get('productName', '')} | "
            f"{i.get('skuName', '')} | {i.get('meterName', '')} | {i.get('unitOfMeasure', '')} | "
            f"{number(i.get('tierMinimumUnits')):g} | {i.get('retailPrice', '')} | "
            f"{str(i.get('effectiveStartDate', ''))[:10]} |"
        )
    return "\n".join(out) + f"\n\n{len(filter_items)} items in {book.currency}, fetched {book.fetched_at}.\n"
