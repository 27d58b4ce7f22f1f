"""Rules: what each resource type the program creates is billed on, and how much, at the stack's sizes.

Pure: sizes, counts, SKUs and regions come from the inputs the program gives each resource; what no input
says (data volumes, users, sweep hours) comes from the assumptions. A type without a rule is in NO_BILL, or
shows up as a line "not priced by the tool".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from manifests.vm_sizes import is_gpu_vm_size
from tools.costs import meters
from tools.costs.assumptions import ASSUMPTIONS, Assumption
from tools.costs.items import LineItem, Resource, in_table_order
from tools.costs.units import number

_WHERE = __name__.replace(".", "/") + ".py"  # where a missing rule goes: tools/costs/rules.py

# Azure resource types with no bill of their own, and why. Anything else the program creates without a
# rule in `_RULES` shows up as a line "not priced by the tool", so a new billable type is never missed.
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

_CLUSTER = "azure-native:containerservice:ManagedCluster"
_AGENT_POOL = "azure-native:containerservice:AgentPool"

# Included registry storage per SKU in GiB (learn.microsoft.com/azure/container-registry/container-registry-skus).
_REGISTRY_INCLUDED_GB = {"Basic": 10, "Standard": 100, "Premium": 500}

# Analytics logs keep 31 days in the ingestion price (learn.microsoft.com/azure/azure-monitor/logs/
# data-retention-configure: "31 days of analytics retention is included in the ingestion price").
_LOG_RETENTION_INCLUDED_DAYS = 31


@dataclass(frozen=True)
class _Pool:
    """A node pool: the cluster's system pool profiles and each AgentPool."""

    part: str
    inputs: Mapping[str, Any]
    minimum: float
    maximum: float

    @property
    def vm_size(self) -> str:
        return str(self.inputs.get("vmSize", ""))


def _pools(registration: Any) -> list[_Pool]:
    inputs = registration.inputs
    if registration.type == _CLUSTER:
        pools = []
        for profile in inputs.get("agentPoolProfiles") or []:
            count = number(profile.get("minCount"), number(profile.get("count"), 1))
            pools.append(_Pool("System pool", profile, count, number(profile.get("maxCount"), count)))
        return pools
    if registration.type == _AGENT_POOL:
        minimum = number(inputs.get("minCount"), number(inputs.get("count")))
        name = str(inputs.get("agentPoolName", registration.name))
        part = f"{name.upper() if len(name) <= 3 else name.capitalize()} pool"
        return [_Pool(part, inputs, minimum, number(inputs.get("maxCount"), minimum))]
    return []


def _pool_lines(r: Resource, pool: _Pool) -> list[LineItem]:
    hours, size, minimum, maximum = r.hours, pool.vm_size, pool.minimum, pool.maximum
    spot = pool.inputs.get("scaleSetPriority") == "Spot"
    gpu = is_gpu_vm_size(size)  # GPU pools are the ones that grow for a sweep and shrink to their minimum
    if gpu:
        per_sweep_hour = maximum - minimum
        basis = f"{minimum:g} nodes idle, {maximum:g} (the maximum) for each hour of a sweep"
    else:
        per_sweep_hour = 0.0
        more = f", the minimum: up to {maximum:g} nodes when Ray adds CPU workers" if maximum > minimum else ""
        basis = f"{minimum:g} × {hours:g} h{more}"
    vms = f"{pool.part}: {size} {'Spot ' if spot else ''}VMs"
    lines = [
        r.line(vms, meters.vm_meter(r.region, size, spot), minimum * hours, "h", basis, per_sweep_hour=per_sweep_hour)
    ]
    disk_type = str(pool.inputs.get("osDiskType", "Managed"))
    if disk_type != "Ephemeral":
        # A managed OS disk per node, billed per disk-month while the node exists.
        size_gb = number(pool.inputs.get("osDiskSizeGB"), 128)
        sku, meter = meters.os_disk_meter(r.region, size, size_gb)
        lines.append(
            r.line(
                f"{pool.part}: managed OS disks ({sku}, {size_gb:g} GB)",
                meter,
                minimum,
                "disk-months",
                f"osDiskType {disk_type}: one disk per node",
                per_sweep_hour=(maximum - minimum) / hours if gpu else 0.0,
            )
        )
    return lines


def _cluster(r: Resource) -> list[LineItem]:
    hours = r.hours
    tier = str((r.inputs.get("sku") or {}).get("tier", "Free"))
    if tier == "Free":
        free = "the Free tier has no cluster management fee: no meter exists"
        lines = [r.line("AKS control plane (Free tier)", None, hours, "h", "clusterSkuTier Free", free=free)]
    else:
        control = f"AKS control plane ({tier} tier)"
        lines = [r.line(control, meters.aks_meter(r.region, tier), hours, "h", f"1 cluster × {hours:g} h")]
    for pool in _pools(r.registration):
        lines += _pool_lines(r, pool)
    network = r.inputs.get("networkProfile") or {}
    outbound = network.get("outboundType", "loadBalancer")
    if str(network.get("loadBalancerSku", "standard")).lower() == "standard" and outbound == "loadBalancer":
        # AKS's outbound rule on its Standard Load Balancer, and one managed outbound public IP unless the
        # profile asks for more (learn.microsoft.com/azure/aks/load-balancer-standard).
        ips = number(((network.get("loadBalancerProfile") or {}).get("managedOutboundIPs") or {}).get("count"), 1)
        lb = "Standard Load Balancer (AKS outbound)"
        rules = "the first five rules are one hourly charge; AKS makes one outbound rule"
        data = meters.load_balancer_meter(r.region, "data processed")
        lines += [
            r.line(f"{lb}: rules", meters.load_balancer_meter(r.region, "rules"), hours, "h", rules),
            r.assumed(f"{lb}: data processed", data, "lb_data_processed_gb", "GB"),
            r.line(
                "Public IP (AKS outbound), Standard static IPv4",
                meters.public_ip_meter(r.region),
                ips * hours,
                "h",
                f"{ips:g} managed outbound IP × {hours:g} h",
            ),
        ]
    elif outbound not in ("userDefinedRouting", "userAssignedNATGateway"):
        unpriced = f"outboundType {outbound} has no rule in {_WHERE}"
        basis = f"networkProfile.outboundType {outbound}"
        lines.append(r.line(f"AKS outbound ({outbound})", None, hours, "h", basis, unpriced=unpriced))
    return lines


def _agent_pool(r: Resource) -> list[LineItem]:
    return [line for pool in _pools(r.registration) for line in _pool_lines(r, pool)]


def _storage(r: Resource) -> list[LineItem]:
    sku_name = str((r.inputs.get("sku") or {}).get("name", "Standard_LRS"))
    access = str(r.inputs.get("accessTier", "Hot"))  # StorageV2's default access tier
    part = f"Storage account ({r.inputs.get('kind', 'StorageV2')}, {sku_name})"
    stored = r.a["datasets_gb"] + r.a["results_gb"]
    lines = [
        r.line(
            f"{part}: data stored",
            meters.storage_meter(r.region, sku_name, access, "data stored"),
            stored,
            "GB-months",
            "assumptions datasets_gb + results_gb",
        )
    ]
    operations: tuple[tuple[meters.StorageMeter, str], ...] = (
        ("write operations", "blob_write_operations"),
        ("read operations", "blob_read_operations"),
    )
    for what, key in operations:
        meter = meters.storage_meter(r.region, sku_name, access, what)
        lines.append(r.assumed(f"{part}: {what}", meter, key, "operations"))
    return lines


def _registry(r: Resource) -> list[LineItem]:
    sku = str((r.inputs.get("sku") or {}).get("name", "Basic"))
    daily = meters.registry_meter(r.region, sku, "unit")
    lines = [r.line(f"Container registry ({sku})", daily, r.hours / 24, "days", f"{r.hours:g} h / 24")]
    included = _REGISTRY_INCLUDED_GB.get(sku, 0)
    extra = r.a["registry_images_gb"] - included
    if extra > 0:
        lines.append(
            r.line(
                f"Container registry ({sku}): storage above the included {included} GB",
                meters.registry_meter(r.region, sku, "storage"),
                extra,
                "GB-months",
                "assumption registry_images_gb minus the SKU's included storage",
            )
        )
    return lines


def _grafana(r: Resource) -> list[LineItem]:
    sku = str((r.inputs.get("sku") or {}).get("name", "Standard"))
    instance, users = (
        meters.grafana_meter(r.region, sku, "instance"),
        meters.grafana_meter(r.region, sku, "active users"),
    )
    return [
        r.line(f"Managed Grafana ({sku}): instance", instance, r.hours, "h", f"always on: {r.hours:g} h"),
        r.assumed(f"Managed Grafana ({sku}): active users", users, "grafana_active_users", "user-months"),
    ]


def _log_analytics(r: Resource) -> list[LineItem]:
    # GB ingested; the first GB of each month may be free per billing account (a zero-price tier), applied
    # as the API's tiers say.
    ingested = r.a["log_analytics_idle_gb"]
    per_hour = r.a["log_analytics_gb_per_sweep_hour"]
    lines = [
        r.line(
            "Log Analytics: analytics logs ingested",
            meters.log_analytics_meter(r.region, "ingestion"),
            ingested,
            "GB",
            "assumptions log_analytics_idle_gb, log_analytics_gb_per_sweep_hour",
            per_sweep_hour=per_hour,
        )
    ]
    retention = number(r.inputs.get("retentionInDays"), 30)
    if retention > _LOG_RETENTION_INCLUDED_DAYS:
        share = (retention - _LOG_RETENTION_INCLUDED_DAYS) / 30
        lines.append(
            r.line(
                f"Log Analytics: retention past {_LOG_RETENTION_INCLUDED_DAYS} days ({retention:g} days kept)",
                meters.log_analytics_meter(r.region, "retention"),
                ingested * share,
                "GB-months",
                "a month's logs held past the included days",
                per_sweep_hour=per_hour * share,
            )
        )
    return lines


def _prometheus(r: Resource) -> list[LineItem]:
    # Managed Prometheus: samples ingested and samples processed by queries; the workspace, collection
    # endpoint, rule and association cost nothing on their own.
    per_series_hour = 3600 / r.a["prometheus_scrape_interval_s"]
    queries = "Managed Prometheus: samples processed by queries"
    return [
        r.line(
            "Managed Prometheus: samples ingested",
            meters.prometheus_meter(r.region, "ingested"),
            r.a["prometheus_idle_series"] * per_series_hour * r.hours,
            "samples",
            "active series × scrapes an hour × hours, and the GPU nodes' series during a sweep",
            per_sweep_hour=r.a["prometheus_series_per_gpu_node"] * r.gpu_nodes_max * per_series_hour,
        ),
        r.assumed(queries, meters.prometheus_meter(r.region, "queries"), "prometheus_query_samples", "samples"),
    ]


_RULES: dict[str, Callable[[Resource], list[LineItem]]] = {
    _CLUSTER: _cluster,
    _AGENT_POOL: _agent_pool,
    "azure-native:storage:StorageAccount": _storage,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:dashboard:Grafana": _grafana,
    "azure-native:operationalinsights:Workspace": _log_analytics,
    "azure-native:monitor:AzureMonitorWorkspace": _prometheus,
}


def _unruled(r: Resource) -> list[LineItem]:
    """A billable registration no rule prices: a line that says so, never a silent zero."""
    t = r.registration.type
    if t.startswith("azure-native:") and t not in NO_BILL:
        unpriced = f"a resource type {_WHERE} has no rule for"
        return [r.line(t.removeprefix("azure-native:"), None, 0, "", "", unpriced=unpriced)]
    if t == "kubernetes:core/v1:Service" and ((r.inputs.get("spec") or {}).get("type") == "LoadBalancer"):
        part = f"Kubernetes Service {r.registration.name} of type LoadBalancer (a public IP and a rule)"
        return [r.line(part, None, r.hours, "h", "", unpriced=f"a LoadBalancer Service has no rule in {_WHERE}")]
    return []


def line_items(resources: Iterable[Any], assumptions: Mapping[str, Assumption] = ASSUMPTIONS) -> list[LineItem]:
    """Every line Azure bills for these registrations (tools.mocks.Registration: type, name, inputs), in the
    table's order."""
    a = {key: x.value for key, x in assumptions.items()}
    regs = list(resources)
    clusters = [r for r in regs if r.type == _CLUSTER]
    cluster_region = str(clusters[0].inputs.get("location", "")) if clusters else ""
    gpu_nodes_max = sum((p.maximum for r in regs for p in _pools(r) if is_gpu_vm_size(p.vm_size)), 0.0)
    lines: list[LineItem] = []
    for reg in regs:
        r = Resource(reg, str(reg.inputs.get("location") or cluster_region), a, gpu_nodes_max)
        lines += _RULES.get(reg.type, _unruled)(r)
    return in_table_order(lines)
