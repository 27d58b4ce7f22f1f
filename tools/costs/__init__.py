"""What a stack costs a month, priced from Azure's Retail Prices API: `python -m tools.costs` (__main__.py).

One concern a module; each imports only the ones above it in this list:

- `units`: the API's unitOfMeasure ("10K", "1 GB/Month") and the numbers read from items and inputs.
- `filters`: the OData `$filter` clauses sent to the API, and the same test applied to items held locally.
- `assumptions`: the quantities the program does not say (data volumes, users, sweep hours), with reasons.
- `meters`: which Azure meter bills each kind of thing, and where its names come from.
- `items`: a line item (one billed thing, its quantities) and what a rule reads to make one.
- `rules`: what each resource type the program creates is billed on, at the stack's sizes: `line_items`.
- `prices`: the Retail Prices API client (paging, currencies) and the saved-prices file.
- `matching`: the price of each line's meter among the items, and what the line costs.
- `table`: the Markdown table, and the `--meters` listing.
- `__main__`: the command line.
"""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]
"""One price item in the API's own shape (productName, skuName, meterName, retailPrice, ...)."""


class CostsError(RuntimeError):
    """The prices could not be had (offline, refused query, bad file); the message says what to do."""
