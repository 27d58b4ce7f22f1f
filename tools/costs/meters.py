"""Meters: which Azure meter bills each kind of thing, how the API is asked for it, and where its names come from.

A meter is a query (sent as the OData filter) and tests on each item it returns (`tools.costs.matching`
applies them). The names follow open-source tools that price from the same API; each builder says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tools.costs.filters import AnyOf, Clause, Contains, Eq, odata
from tools.costs.units import UnitKind

UNVERIFIED = "keyword match (not verified against the API)"


@dataclass(frozen=True)
class Meter:
    """How one line finds its price: the query, then tests on each returned item.

    `accept`: (field, regex, wanted) tests, `re.search` on the item's field ("text" is productName, skuName
    and meterName together). `prefer`: productName values in order of preference when several products
    carry the same meter. `source`: where the meter's names come from."""

    query: tuple[Clause, ...]
    accept: tuple[tuple[str, str, bool], ...]
    unit: UnitKind
    source: str
    region: str
    prefer: tuple[str, ...] = ()

    @property
    def filter(self) -> str:
        return odata(self.query)


def _base(service: str, region: str, *more: Clause, global_too: bool = False) -> tuple[Clause, ...]:
    where: Clause = (
        AnyOf((Eq("armRegionName", region), Eq("armRegionName", "Global")))
        if global_too
        else Eq("armRegionName", region)
    )
    return (Eq("serviceName", service), where, *more, Eq("priceType", "Consumption"))


def vm_meter(region: str, vm_size: str, spot: bool) -> Meter:
    """A Linux VM's pay-as-you-go or Spot hour. Spot and Low Priority are separate meters whose skuName ends
    in " Spot" / " Low Priority"; Windows products carry "Windows" in productName (grafana/cloudcost-exporter
    pkg/azure/aks/vm_price_store.go; infracost internal/resources/azure/linux_virtual_machine.go)."""
    return Meter(
        query=(
            Eq("serviceName", "Virtual Machines"),
            Eq("armRegionName", region),
            Eq("armSkuName", vm_size),
            Eq("priceType", "Consumption"),
        ),
        accept=(
            ("productName", r"^Virtual Machines ", True),
            ("productName", r"Windows", False),
            ("skuName", r" Low Priority$", False),
            ("skuName", r" Spot$", spot),
            ("meterName", r"(Expired|Free)$", False),
        ),
        unit="hour",
        source="grafana/cloudcost-exporter vm_price_store.go; infracost linux_virtual_machine.go",
        region=region,
    )


# Managed OS disk tiers by size in GiB (learn.microsoft.com/azure/virtual-machines/disks-types): Premium SSD
# P*, Standard SSD E*; meters "<tier> LRS Disk" in "<Premium|Standard> SSD Managed Disks", per disk-month.
_DISK_TIERS = ((4, 32), (6, 64), (10, 128), (15, 256), (20, 512), (30, 1024), (40, 2048), (50, 4096))


def disk_tier(size_gb: float) -> int:
    for tier, gib in _DISK_TIERS:
        if size_gb <= gib:
            return tier
    return _DISK_TIERS[-1][0]


def os_disk_meter(region: str, vm_size: str, size_gb: float) -> tuple[str, Meter]:
    """A managed OS disk's SKU and its disk-month meter: Premium SSD where the VM size takes premium storage
    (an "s" in its features), else Standard SSD."""
    premium = re.search(r"\d+[a-z]*s[a-z]*(_|$)", vm_size.lower().removeprefix("standard_")) is not None
    letter, product = ("P", "Premium SSD Managed Disks") if premium else ("E", "Standard SSD Managed Disks")
    sku = f"{letter}{disk_tier(size_gb)} LRS"
    return sku, Meter(
        query=_base("Storage", region, Eq("productName", product), Eq("skuName", sku)),
        accept=(("meterName", rf"^{re.escape(sku)} Disk$", True),),
        unit="month",
        source="TypeOneLabs/tellury pkg/pricing/azure (recorded API rows: P10 LRS Disk)",
        region=region,
    )


# AKS's pricing tiers: Free has no meter (no cluster management fee); Standard is the uptime SLA's hour
# (infracost internal/resources/azure/kubernetes_cluster.go: meterName "Standard Uptime SLA"); Premium adds
# long-term support, a meter of its own (name from a third-party catalogue, not verified against the API).
_AKS_TIER_METER = {"Standard": r"^Standard Uptime SLA$", "Premium": r"Long Term Support$"}


def aks_meter(region: str, tier: str) -> Meter:
    return Meter(
        query=_base("Azure Kubernetes Service", region),
        accept=(("meterName", _AKS_TIER_METER.get(tier, rf"^{tier}\b"), True),),
        unit="hour",
        source="infracost kubernetes_cluster.go (Standard); third-party catalogue (Premium)",
        region=region,
    )


# AKS's outbound rule hour is keyword-matched (not verified against the API); data processed follows infracost.
_LOAD_BALANCER_METERS: dict[str, tuple[str, UnitKind, str]] = {
    "rules": (r"Included.*Rules", "hour", "keyword match on meterName (not verified against the API)"),
    "data processed": (r"Data Processed$", "GB", "infracost internal/resources/azure/lb.go"),
}


def load_balancer_meter(region: str, what: Literal["rules", "data processed"]) -> Meter:
    """A Standard Load Balancer meter: the hourly charge for its first rules, or GB of data processed."""
    meter_re, unit, source = _LOAD_BALANCER_METERS[what]
    return Meter(
        query=_base("Load Balancer", region, global_too=True),
        accept=(("skuName", r"^Standard$", True), ("meterName", meter_re, True)),
        unit=unit,
        source=source,
        region=region,
    )


def public_ip_meter(region: str) -> Meter:
    """A Standard static IPv4 address's hour."""
    return Meter(
        query=_base(
            "Virtual Network",
            region,
            Eq("productName", "IP Addresses"),
            Eq("skuName", "Standard"),
            Eq("meterName", "Standard IPv4 Static Public IP"),
        ),
        accept=(),
        unit="hour",
        source="TypeOneLabs/tellury pkg/pricing/azure (recorded API rows)",
        region=region,
    )


StorageMeter = Literal["data stored", "write operations", "read operations"]
_STORAGE_METERS: dict[StorageMeter, tuple[str, UnitKind]] = {
    "data stored": (r"Data Stored$", "GB-month"),
    "write operations": (r"(?<!Iterative) Write Operations$", "count"),
    "read operations": (r"(?<!Iterative) Read Operations$", "count"),
}


def storage_meter(region: str, sku_name: str, access_tier: str, what: StorageMeter) -> Meter:
    """A blob storage meter of the account's SKU ("Standard_LRS" at access tier Hot is skuName "Hot LRS",
    "Premium_LRS" is "Premium LRS"): several products list the same skuName (Files among them), so
    productName must be one of the blob products."""
    tier_word, replication = sku_name.split("_", 1)
    products: tuple[str, ...]
    if tier_word == "Premium":
        access, products = "Premium", ("Premium Block Blob",)
    else:
        # The same Hot LRS price is listed under both products; infracost and cloudcost-exporter
        # (pkg/azure/eventhubs/eventhubs.go blobProductPreference) prefer "Blob Storage".
        access, products = access_tier, ("Blob Storage", "General Block Blob v2")
    meter_re, unit = _STORAGE_METERS[what]
    return Meter(
        query=_base("Storage", region, Eq("skuName", f"{access} {replication}")),
        accept=(
            ("productName", "^(" + "|".join(re.escape(p) for p in products) + ")$", True),
            ("meterName", meter_re, True),
        ),
        unit=unit,
        source="infracost storage_account.go; grafana/cloudcost-exporter eventhubs.go",
        region=region,
        prefer=products,
    )


def registry_meter(region: str, sku: str, what: Literal["unit", "storage"]) -> Meter:
    """infracost internal/resources/azure/container_registry.go: "<SKU> Registry Unit" per day, "Data
    Stored" per GB-month above the included storage."""
    unit = what == "unit"
    return Meter(
        query=_base("Container Registry", region, Eq("productName", "Container Registry"), Eq("skuName", sku)),
        accept=(("meterName", rf"^{sku} Registry Unit$" if unit else r"^Data Stored$", True),),
        unit="day" if unit else "GB-month",
        source="infracost container_registry.go",
        region=region,
    )


def grafana_meter(region: str, sku: str, what: Literal["instance", "active users"]) -> Meter:
    """Managed Grafana: instance hours, or active users a month. Meter names are keyword matches (no
    published list of them was readable): productName contains "Grafana"."""
    users = what == "active users"
    return Meter(
        query=(Eq("armRegionName", region), Contains("productName", "Grafana"), Eq("priceType", "Consumption")),
        accept=(("text", rf"\b{sku}\b", True), ("meterName", r"(?i)user", users)),
        unit="month" if users else "hour",
        source=UNVERIFIED,
        region=region,
    )


def log_analytics_meter(region: str, what: Literal["ingestion", "retention"]) -> Meter:
    """Analytics logs (PerGB2018), GB ingested or GB-months kept past the included days: infracost
    internal/resources/azure/log_analytics_workspace.go."""
    ingestion = what == "ingestion"
    return Meter(
        query=_base("Log Analytics", region, Eq("skuName", "Analytics Logs")),
        accept=(("meterName", r"Data Ingestion$" if ingestion else r"Data Retention$", True),),
        unit="GB" if ingestion else "GB-month",
        source="infracost log_analytics_workspace.go",
        region=region,
    )


def prometheus_meter(region: str, what: Literal["ingested", "queries"]) -> Meter:
    """Managed Prometheus, samples ingested or samples processed by queries: keyword matches on "Prometheus"
    in serviceName Azure Monitor (not verified against the API)."""
    return Meter(
        query=_base("Azure Monitor", region),
        accept=(
            ("text", r"(?i)prometheus", True),
            ("text", r"(?i)ingest" if what == "ingested" else r"(?i)(quer|process)", True),
        ),
        unit="count",
        source=UNVERIFIED,
        region=region,
    )
