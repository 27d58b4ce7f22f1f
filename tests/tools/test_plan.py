"""python -m tools.plan: the dev stack's picture, manifests and resource table, written offline."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest
import yaml

from tools import plan
from tools.graph import component_graph
from tools.mocks import PROJECT_DIR

DOCS = PROJECT_DIR / "docs"

DOT_HINT = "Graphviz's `dot` is not installed here: apt-get install graphviz (CI installs it before the tests)"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    if shutil.which("dot") is None:
        pytest.fail(DOT_HINT)
    folder = tmp_path_factory.mktemp("plan")
    assert plan.main(["--stack", "dev", "--out", str(folder)]) == 0
    return folder


def test_the_plan_draws_the_graph_as_svg_and_png(out):
    root = ET.parse(out / "graph.svg").getroot()
    assert root.tag.endswith("svg")
    assert (out / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "digraph plan" in (out / "graph.dot").read_text()


def test_every_kubernetes_object_and_chart_gets_a_manifest(out, dev):
    expected = {plan.manifest_filename(r) for r in dev.resources.values() if plan.is_manifest(r)}
    written = {p.name for p in (out / "manifests").iterdir()}
    assert written == expected
    assert {
        "raycluster-ray-ray-tune.yaml",
        "chart-kuberay-operator.values.yaml",
        "chart-nvidia-device-plugin.values.yaml",
        "persistentvolume-ray-datasets.yaml",
    } <= written
    assert not any(name.startswith("provider") for name in written)


def test_manifests_are_the_objects_as_applied(out):
    ray = yaml.safe_load((out / "manifests" / "raycluster-ray-ray-tune.yaml").read_text())
    assert (ray["apiVersion"], ray["kind"], ray["metadata"]["namespace"]) == ("ray.io/v1", "RayCluster", "ray")
    assert ray["spec"]["authOptions"] == {"mode": "token"}
    namespace = yaml.safe_load((out / "manifests" / "namespace-ray.yaml").read_text())
    assert (namespace["apiVersion"], namespace["kind"]) == ("v1", "Namespace")
    for path in (out / "manifests").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        assert isinstance(document, dict), path.name
        if not path.name.startswith("chart-"):
            assert {"apiVersion", "kind", "metadata"} <= set(document), path.name


def test_chart_files_hold_the_values_pulumi_passes_and_say_which_chart(out):
    text = (out / "manifests" / "chart-kuberay-operator.values.yaml").read_text()
    assert text.startswith("# Helm chart kuberay-operator 1.7.0 from https://ray-project.github.io/kuberay-helm/")
    assert yaml.safe_load(text)["watchNamespace"] == ["ray"]


def test_the_resource_table_lists_every_resource_and_the_pack_verdict(out, dev):
    table = (out / "resources.md").read_text()
    assert "No violations." in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == len(dev.resources)
    assert "| cluster | `azure-native:containerservice:ManagedCluster` | cluster-aks |" in table


def test_a_folder_the_plan_did_not_write_is_never_emptied(tmp_path, capsys):
    # `--out .` in a checkout must not delete it: only folders an earlier plan wrote (or empty ones) are emptied.
    mine = tmp_path / "checkout"
    mine.mkdir()
    (mine / "README.md").write_text("keep me")
    assert plan.main(["--out", str(mine)]) == 2
    assert (mine / "README.md").read_text() == "keep me" and list(mine.iterdir()) == [mine / "README.md"]
    assert "nothing was deleted" in capsys.readouterr().err
    with pytest.raises(plan.NotOurFolder):
        plan.prepare_out(mine)


def test_a_folder_an_earlier_plan_wrote_is_emptied_and_an_empty_one_is_used(out, tmp_path):
    (out / "stale.yaml").write_text("from an older plan")
    plan.prepare_out(out)
    assert sorted(p.name for p in out.iterdir()) == [plan.MARKER, "manifests"]
    empty = tmp_path / "empty"
    empty.mkdir()
    plan.prepare_out(empty)
    assert (empty / plan.MARKER).is_file()


def test_the_readmes_component_picture_is_the_dev_stacks_and_legible_at_githubs_width(dev):
    # GitHub shows README images at most about 880 px wide: wider pictures shrink, and their labels with them.
    root = ET.parse(DOCS / "components.svg").getroot()
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    first_lines = set(re.findall(r'\tc\d+ \[label="([^"\\]*)', component_graph(dev).source))
    assert len(first_lines) >= 9 and first_lines <= texts, (
        "docs/components.svg is stale: python -m tools.plan, then copy components.svg (CONTRIBUTING.md)"
    )
    width = float(root.get("width").removesuffix("pt")) * 4 / 3  # SVG pt to CSS px
    scale = min(1.0, 880 / width)
    sizes = {float(t.get("font-size")) * 4 / 3 * scale for t in root.iter() if t.tag.endswith("text")}
    assert sizes and min(sizes) >= 12, sizes


def test_without_dot_the_plan_says_how_to_install_it_and_still_writes_the_rest(tmp_path, monkeypatch, capsys, dev):
    monkeypatch.setattr(plan, "run_program", lambda config, stack: dev)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert plan.main(["--out", str(tmp_path / "plan")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert (tmp_path / "plan" / "resources.md").exists() and (tmp_path / "plan" / "graph.dot").exists()
    assert any((tmp_path / "plan" / "manifests").iterdir())
