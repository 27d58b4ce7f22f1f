"""The committed Grafana dashboards (monitoring/dashboards) are what the pinned Ray generates, valid JSON with
the Prometheus data source variable, and the deploy path loads them without importing Ray."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import versions
from manifests import monitoring, scrape
from tools import dashboards
from tools.mocks import PROJECT_DIR


@pytest.fixture(scope="module")
def committed() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in monitoring.dashboard_files()}


def test_regenerating_from_the_installed_ray_gives_the_committed_files():
    assert dashboards.differences() == [], "run: python -m tools.dashboards"


def test_the_check_reports_a_file_that_no_longer_matches(tmp_path):
    dashboards.write(tmp_path)
    assert dashboards.differences(tmp_path) == []
    board = tmp_path / "gpus.json"
    board.write_text(board.read_text().replace("GPU utilisation", "GPU use"))
    (tmp_path / "old.json").write_text("{}")
    assert dashboards.differences(tmp_path) == ["gpus.json", "old.json"]


def test_there_are_rays_dashboards_and_the_gpu_dashboard(committed):
    assert set(committed) == {"ray-default", "ray-data", "ray-train", "gpus"}
    assert committed["ray-default"]["uid"] == "rayDefaultDashboard"


def test_rays_dashboards_come_from_the_pinned_ray(committed):
    for stem in ("ray-default", "ray-data", "ray-train"):
        assert f"rayVersion:{versions.RAY_VERSION}" in committed[stem]["tags"], stem


def test_every_dashboard_queries_through_the_prometheus_datasource_variable(committed):
    for stem, board in committed.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        panels = [p for p in board["panels"] if p.get("type") != "row"]
        assert panels, stem
        for panel in panels:
            source = panel["datasource"]
            uid = source["uid"] if isinstance(source, dict) else source
            assert uid == "${datasource}", (stem, panel.get("title"))
            assert all(t.get("expr") for t in panel["targets"]), (stem, panel.get("title"))


def test_rays_dashboards_filter_on_the_cluster_label_our_pod_monitors_set(committed):
    exprs = [t["expr"] for p in committed["ray-default"]["panels"] for t in p.get("targets", [])]
    assert sum(f'{scrape.RAY_CLUSTER_METRIC_LABEL}=~"$Cluster"' in e for e in exprs) > len(exprs) // 2


def test_the_gpu_dashboard_plots_dcgm_metrics_per_gpu_and_pod(committed):
    board = committed["gpus"]
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    assert all(e.startswith("DCGM_FI_") for e in exprs)
    assert any(e.startswith("DCGM_FI_DEV_GPU_UTIL{") for e in exprs)
    assert all("{{pod}}" in t["legendFormat"] for p in board["panels"] for t in p["targets"])
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_a_developers_ray_overrides_do_not_leak_into_the_files(monkeypatch):
    monkeypatch.setenv("RAY_GRAFANA_DEFAULT_DASHBOARD_UID", "mine")
    monkeypatch.setenv("RAY_GRAFANA_DEFAULT_DASHBOARD_GLOBAL_FILTERS", 'team="x"')
    assert dashboards.dashboards()["ray-default"]["uid"] == "rayDefaultDashboard"
    assert dashboards.differences() == []


def test_the_monitoring_component_loads_without_ray():
    # `pulumi up` must not need Ray: block it and import what the program imports.
    code = (
        "import sys; sys.modules['ray'] = None; "
        "import components.monitoring, manifests.monitoring; "
        "assert len(manifests.monitoring.dashboard_files()) == 4"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, check=True)
