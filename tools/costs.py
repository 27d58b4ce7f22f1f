"""What a stack costs a month at its sizes, priced from Azure's public Retail Prices API.

    python -m tools.costs --stack dev [--currency USD] [--assume KEY=VALUE ...] [--save FILE]
    python -m tools.costs --stack dev --offline FILE          # prices from a saved response, no network
    python -m tools.costs --meters "serviceName eq 'Azure Monitor' and armRegionName eq 'eastus2'"

Runs the real program under Pulumi's mocks (tools/mocks/), turns every resource it registers into the
line items Azure bills at the stack's sizes and region (`line_items`, pure), asks
https://prices.azure.com/api/retail/prices (unauthenticated; learn.microsoft.com/rest/api/cost-management/
retail-prices/azure-retail-prices) for each line's meter, and prints a Markdown table: the fetch date,
region and currency, each line's meter, quantity, unit price and cost for an idle month (GPU pool at zero)
and per sweep-hour, and the totals. A line whose meter the API does not return says "no price found": it
is never counted as zero. The quantities the tool cannot read from the program (data volumes, users) are
declared once, in ASSUMPTIONS, with the reason; `--assume KEY=VALUE` replaces one for a run.

`--save FILE` writes the prices it fetched (the API's own item shape) so a machine without access to
prices.azure.com can run `--offline FILE`; `--meters FILTER` lists what the API returns for an OData
filter, to check or fix a line's meter selector.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from manifests.vm_sizes import is_gpu_vm_size

API_URL = "https://prices.azure.com/api/retail/prices"
# The preview version returns primary and non-primary meters and compares filter values case-sensitively
# (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices: "Preview version",
# "Filter values are case-sensitive"); the local evaluator below matches that.
API_VERSION = "2023-01-01-preview"
# The currencies the API documents ("Supported currencies"); USD is Microsoft's retail price, the others
# are for reference.
_CURRENCY_CODES = "USD AUD BRL CAD CHF CNY DKK EUR GBP INR JPY KRW NOK NZD RUB SEK TWD"
CURRENCIES = tuple(_CURRENCY_CODES.split())
TIMEOUT_S = 30
MAX_PAGES = 200  # 100 items a page (the doc's "API response pagination"): 20,000 items is far past any query here

Item = dict[str, Any]


class CostsError(RuntimeError):
    """The prices could not be had (offline, refused query, bad file); the message says what to do."""


# --- Quantities: everything the program does not say --------------------------------------------------


@dataclass(frozen=True)
class Assumption:
    value: float
    unit: str
    why: str


ASSUMPTIONS: dict[str, Assumption] = {
    "hours_per_month": Assumption(730, "h", "the month Azure's pricing calculator uses (365 × 24 / 12)"),
    "sweep_hours_per_month": Assumption(
        20,
        "h",
        "for the example month only: about five sweeps of four hours with the GPU pool at its maximum",
    ),
    "datasets_gb": Assumption(
        0.1,
        "GB",
        "MNIST packed once by the seed Job: 70,000 images of 784 bytes (about 55 MB), rounded up",
    ),
    "results_gb": Assumption(
        1,
        "GB",
        "a month of sweeps' checkpoints, summaries and plots: small-CNN checkpoints of a few MB, 16 trials a sweep",
    ),
    "blob_write_operations": Assumption(
        100_000, "operations", "BlobFuse writes of checkpoints and results (block uploads, renames, metadata)"
    ),
    "blob_read_operations": Assumption(
        1_000_000, "operations", "BlobFuse reads and listings: packs, checkpoints on resume, attribute lookups"
    ),
    "registry_images_gb": Assumption(
        15,
        "GB",
        "the CPU and GPU workload images: Ray's GPU base plus about 2.5 GB of baked wheels (docs/workload.md), "
        "a few tags kept",
    ),
    "lb_data_processed_gb": Assumption(
        100,
        "GB",
        "traffic through AKS's outbound load balancer: image pulls by each new GPU node (about 10 GB, some 10 a "
        "month) and the nodes' other outbound calls",
    ),
    "prometheus_idle_series": Assumption(
        4_000,
        "active series",
        "the minimal ingestion profile's default targets on the system and CPU nodes (cadvisor, kubelet, "
        "node exporter, kube-state-metrics) and the Ray head's, autoscaler's and dashboard's metrics",
    ),
    "prometheus_series_per_gpu_node": Assumption(
        1_500, "active series", "a GPU node's default targets, its DCGM exporter and its Ray worker while a sweep runs"
    ),
    "prometheus_scrape_interval_s": Assumption(
        30,
        "s",
        "Azure Monitor's default scrape frequency (learn.microsoft.com/azure/azure-monitor/containers/"
        "prometheus-metrics-scrape-default); the PodMonitors set no interval of their own",
    ),
    "prometheus_query_samples": Assumption(
        1e9,
        "samples processed",
        "the three alert rules every minute over short windows, and dashboards open about an hour a working day",
    ),
    "log_analytics_idle_gb": Assumption(
        5,
        "GB",
        "Container Insights on two nodes: inventory and performance every minute, events, the system pods' and "
        "the Ray head's container logs, warning syslog",
    ),
    "log_analytics_gb_per_sweep_hour": Assumption(
        0.05, "GB", "the GPU nodes' inventory and syslog and the trials' log lines while a sweep runs"
    ),
    "grafana_active_users": Assumption(2, "users", "the people who sign in to Grafana in a month"),
}


def assumptions_with(overrides: Mapping[str, float]) -> dict[str, Assumption]:
    """ASSUMPTIONS with some values replaced (`--assume KEY=VALUE`); unknown keys are refused."""
    unknown = sorted(set(overrides) - set(ASSUMPTIONS))
    if unknown:
        raise CostsError(f"unknown assumption(s) {', '.join(unknown)}; known: {', '.join(ASSUMPTIONS)}")
    return {key: replace(a, value=float(overrides[key])) if key in overrides else a for key, a in ASSUMPTIONS.items()}


# --- Filters: the OData $filter sent, and the same test applied to items held locally --------------------


@dataclass(frozen=True)
class Eq:
    field: str
    value: str | bool


@dataclass(frozen=True)
class Contains:
    field: str
    value: str


@dataclass(frozen=True)
class AnyOf:
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


# --- Units ---------------------------------------------------------------------------------------------

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


# --- Meters --------------------------------------------------------------------------------------------


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


def _field(item: Item, name: str) -> str:
    if name == "text":
        return " ".join(str(item.get(k, "")) for k in ("productName", "skuName", "meterName"))
    return str(item.get(name, ""))


def accepts(meter: Meter, item: Item) -> bool:
    return all((re.search(pattern, _field(item, name)) is not None) == wanted for name, pattern, wanted in meter.accept)


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


# AKS's pricing tiers: Free has no meter (no cluster management fee); Standard is the uptime SLA's hour
# (infracost internal/resources/azure/kubernetes_cluster.go: meterName "Standard Uptime SLA"); Premium adds
# long-term support, a meter of its own (name from a third-party catalogue, not verified against the API).
_AKS_TIER_METER = {"Standard": r"^Standard Uptime SLA$", "Premium": r"Long Term Support$"}

# Managed OS disk tiers by size in GiB (learn.microsoft.com/azure/virtual-machines/disks-types): Premium SSD
# P*, Standard SSD E*; meters "<tier> LRS Disk" in "<Premium|Standard> SSD Managed Disks", per disk-month.
_DISK_TIERS = ((4, 32), (6, 64), (10, 128), (15, 256), (20, 512), (30, 1024), (40, 2048), (50, 4096))

# Included registry storage per SKU in GiB (learn.microsoft.com/azure/container-registry/container-registry-skus).
_REGISTRY_INCLUDED_GB = {"Basic": 10, "Standard": 100, "Premium": 500}

# Analytics logs keep 31 days in the ingestion price (learn.microsoft.com/azure/azure-monitor/logs/
# data-retention-configure: "31 days of analytics retention is included in the ingestion price").
_LOG_RETENTION_INCLUDED_DAYS = 31


def _storage_meter(region: str, sku: str, products: tuple[str, ...], meter_re: str, unit: UnitKind) -> Meter:
    """A blob storage meter of the account's SKU ("Hot LRS", "Premium LRS"): several products list the same
    skuName (Files among them), so productName must be one of `products`."""
    return Meter(
        query=_base("Storage", region, Eq("skuName", sku)),
        accept=(
            ("productName", "^(" + "|".join(re.escape(p) for p in products) + ")$", True),
            ("meterName", meter_re, True),
        ),
        unit=unit,
        source="infracost storage_account.go; grafana/cloudcost-exporter eventhubs.go",
        region=region,
        prefer=products,
    )


def disk_tier(size_gb: float) -> int:
    for tier, gib in _DISK_TIERS:
        if size_gb <= gib:
            return tier
    return _DISK_TIERS[-1][0]


# --- Line items: what the program creates, at the stack's sizes ----------------------------------------


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


# Azure resource types with no bill of their own, and why. Anything else the program creates without a
# rule in `line_items` shows up as a line "not priced by the tool", so a new billable type is never missed.
NO_BILL = {
    "azure-native:resources:ResourceGroup": "resource groups are free",
    "azure-native:managedidentity:UserAssignedIdentity": "managed identities are free",
    "azure-native:managedidentity:FederatedIdentityCredential": "federated credentials are free",
    "azure-native:authorization:RoleAssignment": "role assignments are free",
    "azure-native:network:VirtualNetwork": "a virtual network is free (no peering, no gateway)",
    "azure-native:network:Subnet": "subnets are free",
    "azure-native:storage:BlobContainer": "containers are billed as the account's data",
    "azure-native:storage:BlobServiceProperties": "soft-deleted blobs are billed as the account's data",
    "azure-native:containerservice:MaintenanceConfiguration": "maintenance windows are free",
    "azure-native:monitor:DataCollectionRule": "billed as the data it sends (Prometheus samples, log GB)",
    "azure-native:monitor:DataCollectionEndpoint": "billed as the data it sends",
    "azure-native:monitor:DataCollectionRuleAssociation": "billed as the data it sends",
    "azure-native:alertsmanagement:PrometheusRuleGroup": "its queries are the Prometheus query line",
}


def _n(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) else default


def line_items(resources: Iterable[Any], assumptions: Mapping[str, Assumption] = ASSUMPTIONS) -> list[LineItem]:
    """Every line Azure bills for these registrations (tools.mocks.Registration: type, name, inputs).

    Pure: sizes, counts, SKUs and regions come from the inputs the program gives each resource; what no
    input says (data volumes, users, sweep hours) comes from `assumptions`."""
    a = {key: x.value for key, x in assumptions.items()}
    hours = a["hours_per_month"]
    regs = list(resources)
    clusters = [r for r in regs if r.type == "azure-native:containerservice:ManagedCluster"]
    cluster_region = str(clusters[0].inputs.get("location", "")) if clusters else ""
    gpu_nodes_max = 0.0
    lines: list[LineItem] = []

    def pool(part: str, res: str, region: str, inputs: Mapping[str, Any], minimum: float, maximum: float) -> None:
        nonlocal gpu_nodes_max
        size = str(inputs.get("vmSize", ""))
        spot = inputs.get("scaleSetPriority") == "Spot"
        gpu = is_gpu_vm_size(size)  # GPU pools are the ones that grow for a sweep and shrink to their minimum
        kind = "Spot " if spot else ""
        if gpu:
            gpu_nodes_max += maximum
            lines.append(
                LineItem(
                    part=f"{part}: {size} {kind}VMs",
                    resource=res,
                    meter=vm_meter(region, size, spot),
                    idle=minimum * hours,
                    per_sweep_hour=maximum - minimum,
                    unit="h",
                    basis=f"{minimum:g} nodes idle, {maximum:g} (the maximum) for each hour of a sweep",
                )
            )
        else:
            lines.append(
                LineItem(
                    part=f"{part}: {size} {kind}VMs",
                    resource=res,
                    meter=vm_meter(region, size, spot),
                    idle=minimum * hours,
                    per_sweep_hour=0.0,
                    unit="h",
                    basis=f"{minimum:g} × {hours:g} h"
                    + (
                        f", the minimum: up to {maximum:g} nodes when Ray adds CPU workers" if maximum > minimum else ""
                    ),
                )
            )
        disk_type = str(inputs.get("osDiskType", "Managed"))
        if disk_type != "Ephemeral":
            # A managed OS disk per node, billed per disk-month while the node exists. Premium SSD where the
            # size takes premium storage (an "s" in its features), else Standard SSD.
            tier_size = _n(inputs.get("osDiskSizeGB"), 128)
            premium = re.search(r"\d+[a-z]*s[a-z]*(_|$)", size.lower().removeprefix("standard_")) is not None
            letter, product = ("P", "Premium SSD Managed Disks") if premium else ("E", "Standard SSD Managed Disks")
            sku = f"{letter}{disk_tier(tier_size)} LRS"
            lines.append(
                LineItem(
                    part=f"{part}: managed OS disks ({sku}, {tier_size:g} GB)",
                    resource=res,
                    meter=Meter(
                        query=_base("Storage", region, Eq("productName", product), Eq("skuName", sku)),
                        accept=(("meterName", rf"^{re.escape(sku)} Disk$", True),),
                        unit="month",
                        source="TypeOneLabs/tellury pkg/pricing/azure (recorded API rows: P10 LRS Disk)",
                        region=region,
                    ),
                    idle=minimum,
                    per_sweep_hour=(maximum - minimum) / hours if gpu else 0.0,
                    unit="disk-months",
                    basis=f"osDiskType {disk_type}: one disk per node",
                )
            )

    for r in regs:
        t, res, inputs = r.type, f"{r.type.split(':')[-1]} {r.name}", r.inputs
        region = str(inputs.get("location") or cluster_region)
        if t == "azure-native:containerservice:ManagedCluster":
            tier = str((inputs.get("sku") or {}).get("tier", "Free"))
            if tier == "Free":
                lines.append(
                    LineItem(
                        part="AKS control plane (Free tier)",
                        resource=res,
                        meter=None,
                        idle=hours,
                        per_sweep_hour=0,
                        unit="h",
                        basis="clusterSkuTier Free",
                        free="the Free tier has no cluster management fee: no meter exists",
                    )
                )
            else:
                lines.append(
                    LineItem(
                        part=f"AKS control plane ({tier} tier)",
                        resource=res,
                        meter=Meter(
                            query=_base("Azure Kubernetes Service", region),
                            accept=(("meterName", _AKS_TIER_METER.get(tier, rf"^{tier}\b"), True),),
                            unit="hour",
                            source="infracost kubernetes_cluster.go (Standard); third-party catalogue (Premium)",
                            region=region,
                        ),
                        idle=hours,
                        per_sweep_hour=0,
                        unit="h",
                        basis=f"1 cluster × {hours:g} h",
                    )
                )
            for profile in inputs.get("agentPoolProfiles") or []:
                count = _n(profile.get("minCount"), _n(profile.get("count"), 1))
                pool("System pool", res, region, profile, count, _n(profile.get("maxCount"), count))
            network = inputs.get("networkProfile") or {}
            outbound = network.get("outboundType", "loadBalancer")
            if str(network.get("loadBalancerSku", "standard")).lower() == "standard" and outbound == "loadBalancer":
                # AKS's outbound rule on its Standard Load Balancer, and one managed outbound public IP unless
                # the profile asks for more (learn.microsoft.com/azure/aks/load-balancer-standard). Meter names
                # for the rule hour are keyword-matched (not verified); data processed: infracost lb.go.
                ips = _n(((network.get("loadBalancerProfile") or {}).get("managedOutboundIPs") or {}).get("count"), 1)
                lines += [
                    LineItem(
                        part="Standard Load Balancer (AKS outbound): rules",
                        resource=res,
                        meter=Meter(
                            query=_base("Load Balancer", region, global_too=True),
                            accept=(("skuName", r"^Standard$", True), ("meterName", r"Included.*Rules", True)),
                            unit="hour",
                            source="keyword match on meterName (not verified against the API)",
                            region=region,
                        ),
                        idle=hours,
                        per_sweep_hour=0,
                        unit="h",
                        basis="the first five rules are one hourly charge; AKS makes one outbound rule",
                    ),
                    LineItem(
                        part="Standard Load Balancer (AKS outbound): data processed",
                        resource=res,
                        meter=Meter(
                            query=_base("Load Balancer", region, global_too=True),
                            accept=(("skuName", r"^Standard$", True), ("meterName", r"Data Processed$", True)),
                            unit="GB",
                            source="infracost internal/resources/azure/lb.go",
                            region=region,
                        ),
                        idle=a["lb_data_processed_gb"],
                        per_sweep_hour=0,
                        unit="GB",
                        basis="assumption lb_data_processed_gb",
                    ),
                    LineItem(
                        part="Public IP (AKS outbound), Standard static IPv4",
                        resource=res,
                        meter=Meter(
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
                        ),
                        idle=ips * hours,
                        per_sweep_hour=0,
                        unit="h",
                        basis=f"{ips:g} managed outbound IP × {hours:g} h",
                    ),
                ]
            elif outbound not in ("userDefinedRouting", "userAssignedNATGateway"):
                lines.append(
                    LineItem(
                        part=f"AKS outbound ({outbound})",
                        resource=res,
                        meter=None,
                        idle=hours,
                        per_sweep_hour=0,
                        unit="h",
                        basis=f"networkProfile.outboundType {outbound}",
                        unpriced=f"outboundType {outbound} has no rule in tools/costs.py",
                    )
                )
        elif t == "azure-native:containerservice:AgentPool":
            minimum = _n(inputs.get("minCount"), _n(inputs.get("count")))
            maximum = _n(inputs.get("maxCount"), minimum)
            name = str(inputs.get("agentPoolName", r.name))
            pool(f"{name.upper() if len(name) <= 3 else name.capitalize()} pool", res, region, inputs, minimum, maximum)
        elif t == "azure-native:storage:StorageAccount":
            sku_name = str((inputs.get("sku") or {}).get("name", "Standard_LRS"))
            tier_word, replication = sku_name.split("_", 1)
            kind = str(inputs.get("kind", "StorageV2"))
            products: tuple[str, ...]
            if tier_word == "Premium":
                access, products = "Premium", ("Premium Block Blob",)
            else:
                access = str(inputs.get("accessTier", "Hot"))  # StorageV2's default access tier
                # The same Hot LRS price is listed under both products; infracost and cloudcost-exporter
                # (pkg/azure/eventhubs/eventhubs.go blobProductPreference) prefer "Blob Storage".
                products = ("Blob Storage", "General Block Blob v2")
            sku = f"{access} {replication}"
            stored = a["datasets_gb"] + a["results_gb"]
            lines += [
                LineItem(
                    part=f"Storage account ({kind}, {sku_name}): data stored",
                    resource=res,
                    meter=_storage_meter(region, sku, products, r"Data Stored$", "GB-month"),
                    idle=stored,
                    per_sweep_hour=0,
                    unit="GB-months",
                    basis="assumptions datasets_gb + results_gb",
                ),
                LineItem(
                    part=f"Storage account ({kind}, {sku_name}): write operations",
                    resource=res,
                    meter=_storage_meter(region, sku, products, r"(?<!Iterative) Write Operations$", "count"),
                    idle=a["blob_write_operations"],
                    per_sweep_hour=0,
                    unit="operations",
                    basis="assumption blob_write_operations",
                ),
                LineItem(
                    part=f"Storage account ({kind}, {sku_name}): read operations",
                    resource=res,
                    meter=_storage_meter(region, sku, products, r"(?<!Iterative) Read Operations$", "count"),
                    idle=a["blob_read_operations"],
                    per_sweep_hour=0,
                    unit="operations",
                    basis="assumption blob_read_operations",
                ),
            ]
        elif t == "azure-native:containerregistry:Registry":
            sku = str((inputs.get("sku") or {}).get("name", "Basic"))
            # infracost internal/resources/azure/container_registry.go: "<SKU> Registry Unit" per day,
            # "Data Stored" above the included storage.
            registry = _base("Container Registry", region, Eq("productName", "Container Registry"), Eq("skuName", sku))
            lines.append(
                LineItem(
                    part=f"Container registry ({sku})",
                    resource=res,
                    meter=Meter(
                        query=registry,
                        accept=(("meterName", rf"^{sku} Registry Unit$", True),),
                        unit="day",
                        source="infracost container_registry.go",
                        region=region,
                    ),
                    idle=hours / 24,
                    per_sweep_hour=0,
                    unit="days",
                    basis=f"{hours:g} h / 24",
                )
            )
            extra = a["registry_images_gb"] - _REGISTRY_INCLUDED_GB.get(sku, 0)
            if extra > 0:
                lines.append(
                    LineItem(
                        part=f"Container registry ({sku}): storage above the included {_REGISTRY_INCLUDED_GB.get(sku, 0)} GB",
                        resource=res,
                        meter=Meter(
                            query=registry,
                            accept=(("meterName", r"^Data Stored$", True),),
                            unit="GB-month",
                            source="infracost container_registry.go",
                            region=region,
                        ),
                        idle=extra,
                        per_sweep_hour=0,
                        unit="GB-months",
                        basis="assumption registry_images_gb minus the SKU's included storage",
                    )
                )
        elif t == "azure-native:dashboard:Grafana":
            sku = str((inputs.get("sku") or {}).get("name", "Standard"))
            # Managed Grafana Standard: instance hours plus active users a month. Meter names are keyword
            # matches (no published list of them was readable): productName contains "Grafana".
            grafana = (Eq("armRegionName", region), Contains("productName", "Grafana"), Eq("priceType", "Consumption"))
            lines += [
                LineItem(
                    part=f"Managed Grafana ({sku}): instance",
                    resource=res,
                    meter=Meter(
                        query=grafana,
                        accept=(("text", rf"\b{sku}\b", True), ("meterName", r"(?i)user", False)),
                        unit="hour",
                        source="keyword match (not verified against the API)",
                        region=region,
                    ),
                    idle=hours,
                    per_sweep_hour=0,
                    unit="h",
                    basis=f"always on: {hours:g} h",
                ),
                LineItem(
                    part=f"Managed Grafana ({sku}): active users",
                    resource=res,
                    meter=Meter(
                        query=grafana,
                        accept=(("text", rf"\b{sku}\b", True), ("meterName", r"(?i)user", True)),
                        unit="month",
                        source="keyword match (not verified against the API)",
                        region=region,
                    ),
                    idle=a["grafana_active_users"],
                    per_sweep_hour=0,
                    unit="user-months",
                    basis="assumption grafana_active_users",
                ),
            ]
        elif t == "azure-native:operationalinsights:Workspace":
            # Analytics logs (PerGB2018): GB ingested; the first GB of each month may be free per billing
            # account (a zero-price tier), applied as the API's tiers say. infracost log_analytics_workspace.go.
            logs = _base("Log Analytics", region, Eq("skuName", "Analytics Logs"))
            ingested = a["log_analytics_idle_gb"]
            per_hour = a["log_analytics_gb_per_sweep_hour"]
            lines.append(
                LineItem(
                    part="Log Analytics: analytics logs ingested",
                    resource=res,
                    meter=Meter(
                        query=logs,
                        accept=(("meterName", r"Data Ingestion$", True),),
                        unit="GB",
                        source="infracost log_analytics_workspace.go",
                        region=region,
                    ),
                    idle=ingested,
                    per_sweep_hour=per_hour,
                    unit="GB",
                    basis="assumptions log_analytics_idle_gb, log_analytics_gb_per_sweep_hour",
                )
            )
            retention = _n(inputs.get("retentionInDays"), 30)
            if retention > _LOG_RETENTION_INCLUDED_DAYS:
                share = (retention - _LOG_RETENTION_INCLUDED_DAYS) / 30
                lines.append(
                    LineItem(
                        part=f"Log Analytics: retention past {_LOG_RETENTION_INCLUDED_DAYS} days ({retention:g} days kept)",
                        resource=res,
                        meter=Meter(
                            query=logs,
                            accept=(("meterName", r"Data Retention$", True),),
                            unit="GB-month",
                            source="infracost log_analytics_workspace.go",
                            region=region,
                        ),
                        idle=ingested * share,
                        per_sweep_hour=per_hour * share,
                        unit="GB-months",
                        basis="a month's logs held past the included days",
                    )
                )
        elif t == "azure-native:monitor:AzureMonitorWorkspace":
            pass  # priced after the loop: its samples depend on the GPU pool's size
        elif t.startswith("azure-native:") and t not in NO_BILL:
            lines.append(
                LineItem(
                    part=t.removeprefix("azure-native:"),
                    resource=res,
                    meter=None,
                    idle=0,
                    per_sweep_hour=0,
                    unit="",
                    basis="",
                    unpriced="a resource type tools/costs.py has no rule for",
                )
            )
        elif t == "kubernetes:core/v1:Service" and ((inputs.get("spec") or {}).get("type") == "LoadBalancer"):
            lines.append(
                LineItem(
                    part=f"Kubernetes Service {r.name} of type LoadBalancer (a public IP and a rule)",
                    resource=res,
                    meter=None,
                    idle=hours,
                    per_sweep_hour=0,
                    unit="h",
                    basis="",
                    unpriced="a LoadBalancer Service has no rule in tools/costs.py",
                )
            )

    for r in regs:
        if r.type != "azure-native:monitor:AzureMonitorWorkspace":
            continue
        region = str(r.inputs.get("location") or cluster_region)
        res = f"AzureMonitorWorkspace {r.name}"
        per_series_hour = 3600 / a["prometheus_scrape_interval_s"]
        # Managed Prometheus: samples ingested and samples processed by queries; the workspace, collection
        # endpoint, rule and association cost nothing on their own. Meters are keyword matches on
        # "Prometheus" in serviceName Azure Monitor (not verified against the API).
        monitor = _base("Azure Monitor", region)
        lines += [
            LineItem(
                part="Managed Prometheus: samples ingested",
                resource=res,
                meter=Meter(
                    query=monitor,
                    accept=(("text", r"(?i)prometheus", True), ("text", r"(?i)ingest", True)),
                    unit="count",
                    source="keyword match (not verified against the API)",
                    region=region,
                ),
                idle=a["prometheus_idle_series"] * per_series_hour * hours,
                per_sweep_hour=a["prometheus_series_per_gpu_node"] * gpu_nodes_max * per_series_hour,
                unit="samples",
                basis="active series × scrapes an hour × hours, and the GPU nodes' series during a sweep",
            ),
            LineItem(
                part="Managed Prometheus: samples processed by queries",
                resource=res,
                meter=Meter(
                    query=monitor,
                    accept=(("text", r"(?i)prometheus", True), ("text", r"(?i)(quer|process)", True)),
                    unit="count",
                    source="keyword match (not verified against the API)",
                    region=region,
                ),
                idle=a["prometheus_query_samples"],
                per_sweep_hour=0,
                unit="samples",
                basis="assumption prometheus_query_samples",
            ),
        ]
    return sorted(lines, key=_order)


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


# --- Prices --------------------------------------------------------------------------------------------

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


def _meter_key(item: Item) -> tuple[str, str, str, str]:
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
        low = _n(row.get("tierMinimumUnits"))
        price = _n(row.get("retailPrice"), math.nan)
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
        groups.setdefault(_meter_key(item), []).append(item)
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


# --- The client ----------------------------------------------------------------------------------------

Opener = Callable[[str, float], IO[bytes]]


def _open(url: str, timeout: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "ray-aks tools.costs"})
    return urllib.request.urlopen(request, timeout=timeout)


def query_url(filter_text: str, currency: str) -> str:
    params = {"api-version": API_VERSION, "currencyCode": f"'{currency}'", "$filter": filter_text}
    return API_URL + "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def fetch(filter_text: str, currency: str, opener: Opener = _open, timeout: float = TIMEOUT_S) -> list[Item]:
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
        cls, filters: Iterable[str], currency: str, opener: Opener = _open, timeout: float = TIMEOUT_S
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


# --- The report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    line: LineItem
    price: Price | None
    idle_cost: float | None
    sweep_cost: float | None
    month_cost: float | None


def price_lines(lines: Sequence[LineItem], book: PriceBook, sweep_hours: float, today: str) -> list[Row]:
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


def stack_region(lines: Sequence[LineItem]) -> str:
    regions = sorted({line.meter.region for line in lines if line.meter is not None})
    return ", ".join(regions) or "unknown"


def list_meters(book: PriceBook, filter_items: Sequence[Item]) -> str:
    out = ["| type | armRegionName | productName | skuName | meterName | unitOfMeasure | tier | retailPrice | since |"]
    out.append("|---|---|---|---|---|---|---|---|---|")
    for i in sorted(filter_items, key=lambda i: (_meter_key(i), _n(i.get("tierMinimumUnits")))):
        out.append(
            f"| {i.get('type', '')} | {i.get('armRegionName', '')} | {i.get('productName', '')} | "
            f"{i.get('skuName', '')} | {i.get('meterName', '')} | {i.get('unitOfMeasure', '')} | "
            f"{_n(i.get('tierMinimumUnits')):g} | {i.get('retailPrice', '')} | "
            f"{str(i.get('effectiveStartDate', ''))[:10]} |"
        )
    return "\n".join(out) + f"\n\n{len(filter_items)} items in {book.currency}, fetched {book.fetched_at}.\n"


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


def main(argv: list[str] | None = None, opener: Opener = _open) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.costs", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to price (default: dev)")
    parser.add_argument("--currency", default="USD", choices=CURRENCIES, help="price currency (default: USD)")
    parser.add_argument("--offline", type=Path, metavar="FILE", help="prices from a file --save wrote (no network)")
    parser.add_argument("--save", type=Path, metavar="FILE", help="also write the fetched prices to FILE")
    parser.add_argument("--assume", action="append", default=[], metavar="KEY=VALUE", help="replace an assumption")
    parser.add_argument("--meters", metavar="FILTER", help="list the API's items for an OData filter and stop")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per request (default: 30)")
    args = parser.parse_args(argv)
    try:
        assumptions = assumptions_with(_parse_assume(args.assume))
        if args.meters:
            if args.offline:
                book = PriceBook.from_file(args.offline, args.currency)
                found = [i for i in book.items if _matches_text(i, args.meters)]
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


def _matches_text(item: Item, filter_text: str) -> bool:
    """`--meters` offline: the filter's `field eq 'value'` terms (the only form it needs) against an item."""
    terms = re.findall(r"(\w+) eq '((?:[^']|'')*)'", filter_text)
    return all(str(item.get(_ITEM_FIELD.get(f, f), "")) == v.replace("''", "'") for f, v in terms)


if __name__ == "__main__":
    sys.exit(main())
