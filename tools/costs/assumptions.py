"""The quantities the program does not say (data volumes, users, sweep hours): declared once, with reasons.

The table prints each value and reason under its totals; `--assume KEY=VALUE` replaces one for a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from tools.costs import CostsError


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
