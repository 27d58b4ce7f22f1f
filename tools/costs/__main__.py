"""What a stack costs a month at its sizes, priced from Azure's public Retail Prices API.

    python -m tools.costs --stack dev [--currency USD] [--assume KEY=VALUE ...] [--save FILE]
    python -m tools.costs --stack dev --offline FILE          # prices from a saved response, no network
    python -m tools.costs --meters "serviceName eq 'Azure Monitor' and armRegionName eq 'eastus2'"

Runs the real program under Pulumi's mocks (tools/mocks/), turns every resource it registers into the
line items Azure bills at the stack's sizes and region (`rules.line_items`, pure), asks
https://prices.azure.com/api/retail/prices (unauthenticated; learn.microsoft.com/rest/api/cost-management/
retail-prices/azure-retail-prices) for each line's meter, and prints a Markdown table: the fetch date,
region and currency, each line's meter, quantity, unit price and cost for an idle month (GPU pool at zero)
and per sweep-hour, and the totals. A line whose meter the API does not return says "no price found": it
is never counted as zero. The quantities the tool cannot read from the program (data volumes, users) are
declared once, in `assumptions.ASSUMPTIONS`, with the reason; `--assume KEY=VALUE` replaces one for a run.

`--save FILE` writes the prices it fetched (the API's own item shape) so a machine without access to
prices.azure.com can run `--offline FILE`; `--meters FILTER` lists what the API returns for an OData
filter, to check or fix a line's meter selector.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tools.costs import CostsError
from tools.costs.assumptions import assumptions_with
from tools.costs.filters import holds_text
from tools.costs.items import stack_region
from tools.costs.matching import price_lines
from tools.costs.prices import CURRENCIES, TIMEOUT_S, Opener, PriceBook, open_url
from tools.costs.rules import line_items
from tools.costs.table import list_meters, render


def _parse_assume(values: Sequence[str]) -> dict[str, float]:
    parsed = {}
    for value in values:
        key, sep, number = value.partition("=")
        try:
            parsed[key.strip()] = float(number)
        except ValueError:
            raise CostsError(f"--assume wants KEY=NUMBER, got {value!r}") from None
        if not sep:
            raise CostsError(f"--assume wants KEY=NUMBER, got {value!r}")
    return parsed


def main(argv: list[str] | None = None, opener: Opener = open_url) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.costs", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to price (default: %(default)s)"
    )
    parser.add_argument("--currency", default="USD", choices=CURRENCIES, help="price currency (default: %(default)s)")
    parser.add_argument("--offline", type=Path, metavar="FILE", help="prices from a file --save wrote (no network)")
    parser.add_argument("--save", type=Path, metavar="FILE", help="also write the fetched prices to FILE")
    parser.add_argument("--assume", action="append", default=[], metavar="KEY=VALUE", help="replace an assumption")
    parser.add_argument("--meters", metavar="FILTER", help="list the API's items for an OData filter and stop")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per request (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        assumptions = assumptions_with(_parse_assume(args.assume))
        if args.meters:
            if args.offline:
                book = PriceBook.from_file(args.offline, args.currency)
                found = [i for i in book.items if holds_text(i, args.meters)]
            else:
                book = PriceBook.from_api([args.meters], args.currency, opener, args.timeout)
                found = book.items
            sys.stdout.write(list_meters(book, found))
            return 0
        from tools.mocks import run_program, stack_config

        with contextlib.redirect_stdout(sys.stderr):  # the program's warnings must not mix with the table
            recording = run_program(stack_config(args.stack), stack=args.stack)
        lines = line_items(recording.resources.values(), assumptions)
        filters = [line.meter.filter for line in lines if line.meter is not None]
        if args.offline:
            book = PriceBook.from_file(args.offline, args.currency)
        else:
            book = PriceBook.from_api(filters, args.currency, opener, args.timeout)
        if args.save:
            book.save(args.save)
        today = book.fetched_at[:10] if book.fetched_at[:4].isdigit() else datetime.now(UTC).strftime("%Y-%m-%d")
        rows = price_lines(lines, book, assumptions["sweep_hours_per_month"].value, today)
        sys.stdout.write(render(rows, book, stack_region(lines), args.stack, assumptions))
        return 0
    except CostsError as err:
        print(f"tools.costs: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
