"""python -m tools.costs: the stack's billable line items, the Retail Prices API queries and the price join.

No test touches the network: the API is a fake opener, or the fixture data/retail_prices_fixture.json. Its
prices are MADE-UP test values in the API's documented item shape (learn.microsoft.com/rest/api/
cost-management/retail-prices/azure-retail-prices: "API response examples", "API property details"), not
Azure's prices; test_the_docs_never_show_the_fixtures_prices keeps them out of the docs.
"""

from __future__ import annotations

import io
import json
import math
import re
import urllib.error
import urllib.parse
from dataclasses import replace
from pathlib import Path

import pytest

import settings
from tools.costs import CostsError
from tools.costs.__main__ import main
from tools.costs.assumptions import ASSUMPTIONS, assumptions_with
from tools.costs.filters import AnyOf, Contains, Eq, holds, odata
from tools.costs.items import LineItem
from tools.costs.matching import Price, Row, price_lines, select_price
from tools.costs.meters import Meter, vm_meter
from tools.costs.prices import API_URL, API_VERSION, PriceBook, fetch, query_url
from tools.costs.rules import NO_BILL, line_items
from tools.costs.table import render
from tools.costs.units import parse_unit, unit_fits
from tools.mocks import PROJECT_DIR, Registration, stack_config

FIXTURE = Path(__file__).parent / "data" / "retail_prices_fixture.json"
FIXTURE_ITEMS: list[dict] = json.loads(FIXTURE.read_text())["Items"]
TODAY = "2026-12-02"
HOURS = ASSUMPTIONS["hours_per_month"].value


def fixture_book(items: list[dict] | None = None) -> PriceBook:
    return PriceBook(list(FIXTURE_ITEMS if items is None else items), "USD", "2026-11-30T08:00:00Z", "fixture")


def fixture_price(**fields) -> float:
    """The one made-up fixture price whose item has these fields (type Consumption, USD unless given)."""
    fields = {"type": "Consumption", "currencyCode": "USD", **fields}
    found = [i for i in FIXTURE_ITEMS if all(i.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, found)
    return found[0]["retailPrice"]


def one(lines: list[LineItem], prefix: str) -> LineItem:
    found = [line for line in lines if line.part.startswith(prefix)]
    assert len(found) == 1, [line.part for line in lines]
    return found[0]


def wants(meter: Meter, field: str) -> dict[str, bool]:
    return {pattern: wanted for name, pattern, wanted in meter.accept if name == field}


@pytest.fixture(scope="module")
def dev_lines(dev) -> list[LineItem]:
    return line_items(dev.resources.values())


DEV = settings.parse(stack_config("dev"))


# --- Line items from the recorded program ---------------------------------------------------------------


def test_every_meter_is_asked_in_the_stacks_region(dev_lines):
    regions = {line.meter.region for line in dev_lines if line.meter}
    assert regions == {DEV.location}
    for line in dev_lines:
        if line.meter:
            assert f"armRegionName eq '{DEV.location}'" in line.meter.filter


def test_the_pools_are_priced_at_the_stacks_sizes_and_counts(dev_lines):
    system = one(dev_lines, "System pool")
    assert f"armSkuName eq '{DEV.system_vm_size}'" in system.meter.filter
    assert system.idle == DEV.system_node_count * HOURS and system.per_sweep_hour == 0

    cpu = one(dev_lines, "CPU pool")
    assert f"armSkuName eq '{DEV.cpu_vm_size}'" in cpu.meter.filter
    assert cpu.idle == DEV.cpu_min_count * HOURS
    assert f"up to {DEV.cpu_max_count} nodes" in cpu.basis

    gpu = one(dev_lines, "GPU pool")
    assert f"armSkuName eq '{DEV.gpu_vm_size}'" in gpu.meter.filter
    assert gpu.idle == DEV.gpu_min_count * HOURS == 0  # scales to zero: nothing while idle
    assert gpu.per_sweep_hour == DEV.gpu_max_count
    assert wants(gpu.meter, "skuName")[r" Spot$"] is DEV.gpu_spot is True
    assert "Spot" in gpu.part


def test_ephemeral_os_disks_add_no_disk_line(dev, dev_lines):
    pools = [r.inputs for r in dev.of_type("azure-native:containerservice:AgentPool")]
    pools += dev.one("azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"]
    assert {p["osDiskType"] for p in pools} == {"Ephemeral"}
    assert not [line for line in dev_lines if "disk" in line.part.lower()]


def test_a_managed_os_disk_is_a_disk_per_node(dev):
    gpu = dev.one("azure-native:containerservice:AgentPool", "gpu")
    managed = replace(gpu, inputs={**gpu.inputs, "osDiskType": "Managed", "osDiskSizeGB": 256})
    disk = one(line_items([managed]), "GPU pool: managed OS disks")
    # NC8as_T4_v3 takes premium storage ("s" in its features): Premium SSD, P15 holds 256 GiB.
    assert "productName eq 'Premium SSD Managed Disks'" in disk.meter.filter
    assert "skuName eq 'P15 LRS'" in disk.meter.filter
    assert disk.idle == 0 and disk.per_sweep_hour == pytest.approx(DEV.gpu_max_count / HOURS)


def test_the_control_plane_network_data_and_monitoring_follow_the_settings(dev_lines):
    assert DEV.cluster_sku_tier == "Free"
    control = one(dev_lines, "AKS control plane")
    assert control.meter is None and control.free  # no meter, and said so: not a missing price

    assert "registry" in one(dev_lines, f"Container registry ({DEV.registry_sku})").part.lower()
    stored = one(dev_lines, f"Storage account (StorageV2, {DEV.storage_sku}): data stored")
    assert DEV.storage_sku in stored.part and "skuName eq 'Hot LRS'" in stored.meter.filter  # Standard_LRS, Hot
    assert stored.idle == ASSUMPTIONS["datasets_gb"].value + ASSUMPTIONS["results_gb"].value

    assert one(dev_lines, "Public IP").idle == HOURS  # AKS's one managed outbound IP
    assert one(dev_lines, "Standard Load Balancer (AKS outbound): rules").idle == HOURS
    assert one(dev_lines, "Managed Grafana (Standard): instance").idle == HOURS

    ingested = one(dev_lines, "Managed Prometheus: samples ingested")
    scrapes_an_hour = 3600 / ASSUMPTIONS["prometheus_scrape_interval_s"].value
    assert ingested.idle == ASSUMPTIONS["prometheus_idle_series"].value * scrapes_an_hour * HOURS
    assert ingested.per_sweep_hour == (
        ASSUMPTIONS["prometheus_series_per_gpu_node"].value * DEV.gpu_max_count * scrapes_an_hour
    )
    # 30 days kept: inside the 31 the ingestion price includes, so no retention line.
    assert DEV.log_retention_days == 30
    assert not [line for line in dev_lines if "retention" in line.part]


def test_every_azure_resource_of_the_dev_stack_is_priced_or_known_free(dev, dev_lines):
    assert not [line.part for line in dev_lines if line.unpriced]
    priced_types = {
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:AgentPool",
        "azure-native:storage:StorageAccount",
        "azure-native:containerregistry:Registry",
        "azure-native:dashboard:Grafana",
        "azure-native:operationalinsights:Workspace",
        "azure-native:monitor:AzureMonitorWorkspace",
    }
    azure = {r.type for r in dev.resources.values() if r.type.startswith("azure-native:")}
    assert azure <= priced_types | set(NO_BILL)
    assert priced_types <= azure


def test_a_new_billable_resource_type_shows_up_unpriced():
    redis = Registration(
        urn="urn:pulumi:dev::ray-aks::azure-native:cache:Redis::cache",
        type="azure-native:cache:Redis",
        name="cache",
        custom=True,
        inputs={"location": "eastus2"},
        parent="",
        dependencies=[],
        property_dependencies={},
        provider="",
        options={},
    )
    (line,) = line_items([redis])
    assert line.unpriced and line.meter is None
    rows = price_lines([line], fixture_book(), 0, TODAY)
    assert rows[0].idle_cost is None


def test_changed_settings_change_the_line_items(record):
    changed = {
        "gpuSpot": False,
        "clusterSkuTier": "Standard",
        "registrySku": "Premium",
        "storageSku": "Premium_LRS",
        "logRetentionDays": 90,
    }
    lines = line_items(record(changed).resources.values())
    gpu = one(lines, "GPU pool")
    assert wants(gpu.meter, "skuName")[r" Spot$"] is False and "Spot" not in gpu.part
    control = one(lines, "AKS control plane (Standard tier)")
    assert control.meter is not None and control.idle == HOURS
    assert "skuName eq 'Premium'" in one(lines, "Container registry (Premium)").meter.filter
    stored = one(lines, "Storage account (BlockBlobStorage, Premium_LRS): data stored")
    assert "skuName eq 'Premium LRS'" in stored.meter.filter
    retention = one(lines, "Log Analytics: retention")
    assert retention.idle == pytest.approx(ASSUMPTIONS["log_analytics_idle_gb"].value * (90 - 31) / 30)


def test_assumptions_can_be_replaced_and_unknown_ones_are_refused(dev):
    more = assumptions_with({"registry_images_gb": 130, "grafana_active_users": 5})
    lines = line_items(dev.resources.values(), more)
    extra = one(lines, "Container registry (Standard): storage above")
    assert extra.idle == 130 - 100  # Standard includes 100 GiB
    assert one(lines, "Managed Grafana (Standard): active users").idle == 5
    with pytest.raises(CostsError, match="unknown assumption"):
        assumptions_with({"gpu_hours": 3})


# --- OData filters --------------------------------------------------------------------------------------


def test_filters_are_the_documented_odata_syntax():
    assert vm_meter("eastus2", "Standard_NC8as_T4_v3", spot=True).filter == (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus2' and "
        "armSkuName eq 'Standard_NC8as_T4_v3' and priceType eq 'Consumption'"
    )
    clauses = (
        AnyOf((Eq("armRegionName", "eastus2"), Eq("armRegionName", "Global"))),
        Contains("productName", "Grafana"),
        Eq("isPrimaryMeterRegion", True),
        Eq("skuName", "O'Brien"),
    )
    assert odata(clauses) == (
        "(armRegionName eq 'eastus2' or armRegionName eq 'Global') and contains(productName, 'Grafana') "
        "and isPrimaryMeterRegion eq true and skuName eq 'O''Brien'"
    )


def test_the_local_filter_answers_as_the_api_would():
    item = {"serviceName": "Virtual Machines", "armRegionName": "eastus2", "type": "Consumption", "skuName": "D4 v5"}
    assert holds(item, (Eq("serviceName", "Virtual Machines"), Eq("priceType", "Consumption")))
    assert not holds(item, (Eq("serviceName", "virtual machines"),))  # case-sensitive
    assert not holds({**item, "type": "Reservation"}, (Eq("priceType", "Consumption"),))
    assert holds(item, (Contains("skuName", "v5"),))
    region = AnyOf((Eq("armRegionName", "westeurope"), Eq("armRegionName", "eastus2")))
    assert holds(item, (region,))


def test_the_query_url_carries_the_api_version_currency_and_filter():
    url = query_url("serviceName eq 'Load Balancer'", "EUR")
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == API_URL
    query = urllib.parse.parse_qs(parts.query)
    assert query == {
        "api-version": [API_VERSION],
        "currencyCode": ["'EUR'"],
        "$filter": ["serviceName eq 'Load Balancer'"],
    }
    assert "+" not in parts.query  # spaces as %20, as the doc's examples


@pytest.mark.parametrize(
    ("unit", "kind", "size"),
    [
        ("1 Hour", "hour", 1),
        ("1/Day", "day", 1),
        ("1/Month", "month", 1),
        ("1 GB", "GB", 1),
        ("1 GB/Month", "GB-month", 1),
        ("10K", "count", 10_000),
        ("10M", "count", 10_000_000),
    ],
)
def test_units_of_measure(unit, kind, size):
    assert parse_unit(unit)[0] == size
    assert unit_fits(unit, kind)
    assert not unit_fits(unit, "hour" if kind != "hour" else "GB")


# --- The price join -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_rows(dev_lines) -> list[Row]:
    return price_lines(dev_lines, fixture_book(), ASSUMPTIONS["sweep_hours_per_month"].value, TODAY)


def row(rows: list[Row], prefix: str) -> Row:
    found = [r for r in rows if r.line.part.startswith(prefix)]
    assert len(found) == 1
    return found[0]


def test_every_dev_line_finds_its_fixture_price(dev_rows):
    assert {r.price.status for r in dev_rows if r.price} == {"ok"}


def test_vm_lines_cost_hours_times_the_linux_pay_as_you_go_price(dev_rows):
    system = row(dev_rows, "System pool")
    # The 2026-01-01 price, not the older 2024 one nor the one announced for 2099.
    linux = fixture_price(
        armSkuName=DEV.system_vm_size,
        productName="Virtual Machines Ddsv5 Series",
        skuName="D4ds v5",
        effectiveStartDate="2026-01-01T00:00:00Z",
    )
    assert system.idle_cost == pytest.approx(DEV.system_node_count * HOURS * linux)
    assert system.price.effective == "2026-01-01"
    cpu = row(dev_rows, "CPU pool")
    assert cpu.idle_cost == pytest.approx(
        HOURS
        * fixture_price(armSkuName=DEV.cpu_vm_size, skuName="D8ds v5", productName="Virtual Machines Ddsv5 Series")
    )


def test_spot_and_regular_vms_are_separate_meters():
    items = FIXTURE_ITEMS
    spot = select_price(vm_meter("eastus2", "Standard_NC8as_T4_v3", spot=True), items, "USD", TODAY)
    regular = select_price(vm_meter("eastus2", "Standard_NC8as_T4_v3", spot=False), items, "USD", TODAY)
    assert spot.meter.endswith("NC8as T4 v3 Spot")
    assert spot.tiers == ((0.0, fixture_price(skuName="NC8as T4 v3 Spot")),)
    linux = fixture_price(skuName="NC8as T4 v3", productName="Virtual Machines NCasT4_v3 Series")
    assert regular.tiers == ((0.0, linux),)  # not Windows, Low Priority, DevTest or a reservation


def test_a_sweep_hour_costs_the_gpu_pool_at_its_maximum(dev_rows):
    gpu = row(dev_rows, "GPU pool")
    assert gpu.idle_cost == 0
    assert gpu.sweep_cost == pytest.approx(DEV.gpu_max_count * fixture_price(skuName="NC8as T4 v3 Spot"))


def test_tiers_free_allowances_and_global_meters(dev_rows):
    logs = row(dev_rows, "Log Analytics: analytics logs ingested")
    assert logs.idle_cost == 0  # 5 GB: all inside the zero-price tier
    assert logs.sweep_cost == pytest.approx(
        ASSUMPTIONS["log_analytics_gb_per_sweep_hour"].value * fixture_price(tierMinimumUnits=5.0)
    )
    data = row(dev_rows, "Standard Load Balancer (AKS outbound): data processed")
    assert data.price.region == "Global"  # no eastus2 meter: the Global one
    ip = row(dev_rows, "Public IP")
    assert ip.price.primary is False  # only a non-primary meter exists: used, and flagged
    ingested = row(dev_rows, "Managed Prometheus: samples ingested")
    assert ingested.idle_cost == pytest.approx(
        ingested.line.idle / 1e7 * fixture_price(unitOfMeasure="10M", meterName="Prometheus Metrics Samples Ingested")
    )
    registry = row(dev_rows, "Container registry")
    assert registry.idle_cost == pytest.approx(
        HOURS / 24 * fixture_price(meterName="Standard Registry Unit")
    )  # USD only
    writes = row(dev_rows, "Storage account (StorageV2, Standard_LRS): write operations")
    assert writes.price.meter.endswith("Hot LRS Write Operations")  # not the iterative one


def test_the_table_totals_are_the_sum_of_its_lines(dev_rows):
    text = render(dev_rows, fixture_book(), DEV.location, "dev", ASSUMPTIONS)
    idle = sum(r.idle_cost for r in dev_rows)
    sweep = sum(r.sweep_cost for r in dev_rows)
    assert f"**{idle:,.2f}**" in text and f"**{sweep:,.2f}**" in text
    assert "fetched 2026-11-30T08:00:00Z" in text and f"region `{DEV.location}`" in text and "USD" in text
    assert "at least" not in text and "Not in the totals" not in text
    for key in ASSUMPTIONS:
        assert f"`{key}`" in text


def test_a_missing_meter_is_no_price_found_never_zero(dev_lines):
    without_grafana = [i for i in FIXTURE_ITEMS if "Grafana" not in i["productName"]]
    rows = price_lines(dev_lines, fixture_book(without_grafana), 20, TODAY)
    grafana = row(rows, "Managed Grafana (Standard): instance")
    assert grafana.price.status == "no price found" and grafana.idle_cost is None
    text = render(rows, fixture_book(without_grafana), DEV.location, "dev", ASSUMPTIONS)
    assert "no price found" in text and "**at least " in text
    assert "Not in the totals" in text and "Managed Grafana (Standard): instance: no price found" in text
    priced = sum(r.idle_cost for r in rows if r.idle_cost is not None)
    assert f"**at least {priced:,.2f}**" in text


def item(**fields) -> dict:
    base = {
        "type": "Consumption",
        "currencyCode": "USD",
        "armRegionName": "eastus2",
        "serviceName": "Test",
        "productName": "Test",
        "skuName": "Standard",
        "meterName": "Standard Unit",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 1.0,
        "tierMinimumUnits": 0.0,
        "effectiveStartDate": "2026-01-01T00:00:00Z",
        "isPrimaryMeterRegion": True,
    }
    return {**base, **fields}


TEST_METER = Meter(
    query=(Eq("serviceName", "Test"), Eq("armRegionName", "eastus2"), Eq("priceType", "Consumption")),
    accept=(("meterName", r"Unit$", True),),
    unit="hour",
    source="test",
    region="eastus2",
)


def test_the_primary_meter_region_wins_over_a_non_primary_one():
    price = select_price(
        TEST_METER, [item(retailPrice=2.0, isPrimaryMeterRegion=False), item(retailPrice=3.0)], "USD", TODAY
    )
    assert price.tiers == ((0.0, 3.0),) and price.primary


def test_meters_with_different_prices_are_ambiguous_not_guessed():
    price = select_price(TEST_METER, [item(), item(meterName="Other Unit", retailPrice=9.0)], "USD", TODAY)
    assert price.status == "ambiguous" and price.cost(10) is None
    same = select_price(TEST_METER, [item(), item(productName="Test 2")], "USD", TODAY)
    assert same.status == "ok"  # the same price under two products is one price


def test_a_meter_in_another_unit_is_a_unit_mismatch():
    price = select_price(TEST_METER, [item(unitOfMeasure="1 GB")], "USD", TODAY)
    assert price.status == "unit mismatch" and "1 GB" in price.detail


def test_only_prices_already_in_effect_count():
    price = select_price(TEST_METER, [item(effectiveStartDate="2099-01-01T00:00:00Z")], "USD", TODAY)
    assert price.status == "no price found"


def test_tiered_cost():
    price = Price("ok", tiers=((0.0, 0.0), (5.0, 2.0), (10.0, 1.0)), unit_of_measure="1 GB")
    assert price.cost(3) == 0 and price.cost(7) == 4 and price.cost(12) == 10 + 2
    per_ten_thousand = Price("ok", tiers=((0.0, 0.5),), unit_of_measure="10K")
    assert per_ten_thousand.cost(30_000) == pytest.approx(1.5)


# --- The client -----------------------------------------------------------------------------------------


class FakeApi:
    """Answers URLs from a dict, recording each request: no network."""

    def __init__(self, pages: dict[str, dict]):
        self.pages = pages
        self.asked: list[str] = []

    def __call__(self, url: str, timeout: float):
        self.asked.append(url)
        return io.BytesIO(json.dumps(self.pages[url]).encode())


def test_the_client_follows_next_page_link_to_the_end():
    first = query_url("serviceName eq 'Test'", "USD")
    second = "https://prices.azure.com:443/api/retail/prices?$filter=serviceName%20eq%20%27Test%27&$skip=100"
    api = FakeApi(
        {
            first: {"Items": [item(retailPrice=1.0)], "NextPageLink": second, "Count": 1},
            second: {"Items": [item(retailPrice=2.0)], "NextPageLink": None, "Count": 1},
        }
    )
    got = fetch("serviceName eq 'Test'", "USD", api)
    assert [i["retailPrice"] for i in got] == [1.0, 2.0]
    assert api.asked == [first, second]


def test_the_client_never_follows_a_link_off_prices_azure_com():
    first = query_url("serviceName eq 'Test'", "USD")
    api = FakeApi({first: {"Items": [], "NextPageLink": "https://example.com/steal"}})
    with pytest.raises(CostsError, match=r"off prices\.azure\.com"):
        fetch("serviceName eq 'Test'", "USD", api)


def test_offline_the_client_says_to_use_a_saved_response():
    def offline(url: str, timeout: float):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(CostsError) as caught:
        fetch("serviceName eq 'Test'", "USD", offline)
    message = str(caught.value)
    assert message.startswith("cannot reach prices.azure.com: [Errno -3] Temporary failure in name resolution")
    assert "use --offline FILE with a saved response" in message


def test_a_refused_query_says_what_the_api_answered():
    def refuse(url: str, timeout: float):
        raise urllib.error.HTTPError(url, 400, "Bad Request", {}, io.BytesIO(b'{"Error": "invalid filter"}'))  # type: ignore[arg-type]

    with pytest.raises(CostsError, match=r"HTTP 400.*invalid filter"):
        fetch("serviceName eq", "USD", refuse)


def test_saved_prices_read_back_with_their_fetch_date(tmp_path):
    query = "serviceName eq 'Test'"
    api = FakeApi({query_url(query, "USD"): {"Items": [item()], "NextPageLink": None}})
    book = PriceBook.from_api([query, query], "USD", api)
    assert len(api.asked) == 1  # one request per distinct filter
    book.save(tmp_path / "prices.json")
    again = PriceBook.from_file(tmp_path / "prices.json", "USD")
    assert again.items == book.items and again.fetched_at == book.fetched_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", book.fetched_at)


def test_the_command_line_prices_the_dev_stack_offline(capsys):
    def no_network(url: str, timeout: float):
        raise AssertionError(f"--offline must not reach {url}")

    assert main(["--stack", "dev", "--offline", str(FIXTURE)], opener=no_network) == 0
    out = capsys.readouterr().out
    assert out.startswith("## What the dev stack costs a month")
    assert "fetched 2026-11-30T08:00:00Z" in out and f"region `{DEV.location}`" in out
    assert "ray-aks:systemNodeCount" not in out  # the program's warnings go to stderr, not into the table


def test_the_command_line_reports_an_unreachable_api(capsys):
    def offline(url: str, timeout: float):
        raise urllib.error.URLError("timed out")

    assert main(["--meters", "serviceName eq 'Test'"], opener=offline) == 2
    assert "cannot reach prices.azure.com: timed out" in capsys.readouterr().err


# --- The docs -------------------------------------------------------------------------------------------


def test_the_docs_never_show_the_fixtures_prices():
    docs = "\n".join(p.read_text() for p in [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))])
    made_up = {i["retailPrice"] for i in FIXTURE_ITEMS if i["retailPrice"] and not math.isclose(i["retailPrice"], 1)}
    shown = [p for p in made_up if re.search(rf"(?<![\d.]){re.escape(f'{p:g}')}(?!\d)", docs)]
    assert not shown


def test_the_costs_doc_explains_every_assumption_and_the_readme_points_to_it():
    doc = (PROJECT_DIR / "docs" / "costs.md").read_text()
    for key in ASSUMPTIONS:
        assert f"`{key}`" in doc, key
    assert "python -m tools.costs --stack dev" in doc
    assert "docs/costs.md" in (PROJECT_DIR / "README.md").read_text()
