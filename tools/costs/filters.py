"""Filters: the OData $filter sent to the API, and the same test applied to items held locally."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tools.costs import Item


@dataclass(frozen=True)
class Eq:
    """`field eq value`: the whole value, case-sensitive."""

    field: str
    value: str | bool


@dataclass(frozen=True)
class Contains:
    """`contains(field, value)`: a substring, case-sensitive."""

    field: str
    value: str


@dataclass(frozen=True)
class AnyOf:
    """The clauses joined with `or`, in parentheses."""

    clauses: tuple[Eq, ...]


Clause = Eq | Contains | AnyOf
# The filter field `priceType` is the item field `type` (the doc's "API sample calls" filter on priceType;
# "API property details" name the returned field Type).
_ITEM_FIELD = {"priceType": "type"}


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + value.replace("'", "''") + "'"  # OData escapes a quote by doubling it


def _clause_odata(clause: Clause) -> str:
    if isinstance(clause, Eq):
        return f"{clause.field} eq {_literal(clause.value)}"
    if isinstance(clause, Contains):
        return f"contains({clause.field}, {_literal(clause.value)})"
    return "(" + " or ".join(_clause_odata(c) for c in clause.clauses) + ")"


def odata(clauses: Sequence[Clause]) -> str:
    """The $filter text for a query: clauses joined with `and`."""
    return " and ".join(_clause_odata(c) for c in clauses)


def _clause_holds(item: Item, clause: Clause) -> bool:
    if isinstance(clause, AnyOf):
        return any(_clause_holds(item, c) for c in clause.clauses)
    value = item.get(_ITEM_FIELD.get(clause.field, clause.field))
    if isinstance(clause, Eq):
        return value == clause.value
    return isinstance(value, str) and clause.value in value


def holds(item: Item, clauses: Sequence[Clause]) -> bool:
    """Whether the API would return `item` for this filter (case-sensitive, as the API version used)."""
    return all(_clause_holds(item, c) for c in clauses)


def holds_text(item: Item, filter_text: str) -> bool:
    """`--meters` offline: the filter's `field eq 'value'` terms (the only form it needs) against an item."""
    terms = re.findall(r"(\w+) eq '((?:[^']|'')*)'", filter_text)
    return all(str(item.get(_ITEM_FIELD.get(f, f), "")) == v.replace("''", "'") for f, v in terms)
