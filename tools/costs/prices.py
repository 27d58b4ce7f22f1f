"""Prices: the Retail Prices API client (unauthenticated, paged) and the file `--save` writes.

https://prices.azure.com/api/retail/prices (learn.microsoft.com/rest/api/cost-management/retail-prices/
azure-retail-prices). `--save FILE` writes the prices fetched (the API's own item shape) so a machine
without access to prices.azure.com can run `--offline FILE`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from tools.costs import CostsError, Item

API_URL = "https://prices.azure.com/api/retail/prices"
# The preview version returns primary and non-primary meters and compares filter values case-sensitively
# (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices: "Preview version",
# "Filter values are case-sensitive"); the local evaluator, tools.costs.filters.holds, matches that.
API_VERSION = "2023-01-01-preview"
# The currencies the API documents ("Supported currencies"); USD is Microsoft's retail price, the others
# are for reference.
_CURRENCY_CODES = "USD AUD BRL CAD CHF CNY DKK EUR GBP INR JPY KRW NOK NZD RUB SEK TWD"
CURRENCIES = tuple(_CURRENCY_CODES.split())
TIMEOUT_S = 30
MAX_PAGES = 200  # 100 items a page (the doc's "API response pagination"): 20,000 items is far past any query here


Opener = Callable[[str, float], IO[bytes]]


def open_url(url: str, timeout: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ray-aks tools.costs"})
    return urllib.request.urlopen(request, timeout=timeout)


def query_url(filter_text: str, currency: str) -> str:
    params = {"api-version": API_VERSION, "currencyCode": f"'{currency}'", "$filter": filter_text}
    return API_URL + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def fetch(filter_text: str, currency: str, opener: Opener = open_url, timeout: float = TIMEOUT_S) -> list[Item]:
    """Every item the API returns for a filter, following NextPageLink (on prices.azure.com only)."""
    url: str | None = query_url(filter_text, currency)
    items: list[Item] = []
    pages = 0
    while url:
        pages += 1
        if pages > MAX_PAGES:
            raise CostsError(f"prices.azure.com kept paging past {MAX_PAGES} pages for: {filter_text}")
        try:
            with opener(url, timeout) as answer:
                page = json.load(answer)
        except urllib.error.HTTPError as err:
            body = err.read().decode("utf-8", "replace")[:300] if err.fp else ""
            raise CostsError(f"prices.azure.com refused the query (HTTP {err.code}) for {filter_text}: {body}") from err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise CostsError(
                f"cannot reach prices.azure.com: {reason}; use --offline FILE with a saved response "
                "(python -m tools.costs --stack STACK --save FILE, run where the API is reachable)"
            ) from err
        except json.JSONDecodeError as err:
            raise CostsError(f"prices.azure.com answered something that is not JSON for {filter_text}") from err
        items += list(page.get("Items") or [])
        next_link = page.get("NextPageLink")
        if next_link and not str(next_link).startswith("https://prices.azure.com"):
            raise CostsError(f"refusing to follow a NextPageLink off prices.azure.com: {next_link}")
        url = str(next_link) if next_link else None
    return items


@dataclass
class PriceBook:
    """The items prices come from, where and when they were fetched."""

    items: list[Item]
    currency: str
    fetched_at: str
    source: str
    responses: dict[str, int] = field(default_factory=dict)
    """Filter → how many items it returned (what was asked)."""

    @classmethod
    def from_api(
        cls, filters: Iterable[str], currency: str, opener: Opener = open_url, timeout: float = TIMEOUT_S
    ) -> PriceBook:
        fetched_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pool: dict[str, Item] = {}
        responses: dict[str, int] = {}
        for text in dict.fromkeys(filters):
            got = fetch(text, currency, opener, timeout)
            responses[text] = len(got)
            for item in got:
                pool[json.dumps(item, sort_keys=True)] = item
        return cls(list(pool.values()), currency, fetched_at, f"{API_URL} (api-version {API_VERSION})", responses)

    @classmethod
    def from_file(cls, path: Path, currency: str) -> PriceBook:
        """A file --save wrote, or API pages as the API returns them ({"Items": [...]} or a list of them)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise CostsError(f"cannot read the saved prices {path}: {err}") from err
        pages = data if isinstance(data, list) else [data]
        items = [item for page in pages if isinstance(page, dict) for item in page.get("Items") or []]
        first = pages[0] if pages and isinstance(pages[0], dict) else {}
        fetched_at = str(first.get("fetchedAt") or f"unknown (the file {path.name} does not say when it was fetched)")
        return cls(items, currency, fetched_at, f"{first.get('source', API_URL)}, saved in {path.name}")

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {"source": API_URL, "apiVersion": API_VERSION, "fetchedAt": self.fetched_at, "Items": self.items},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
