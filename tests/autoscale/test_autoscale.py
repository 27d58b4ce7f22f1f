"""The job as the stack prints it, on Ray's own autoscaler scaling a local fake cluster up from zero.

The node types are not ours to guess: they are what Ray's KubeRay translation
(`ray.autoscaler._private.kuberay.autoscaling_config._derive_autoscaling_config_from_ray_cr`, the code the
autoscaler sidecar runs on AKS) makes of the RayCluster this program renders. Ray's fake multi-node
provider then launches those types as local raylets with logical resources (GPUs included: training runs on
the CPU), driven by autoscaler v2 as on the cluster. Every port is free-picked and only the processes this
test starts are ended: the helper `ray.cluster_utils.AutoscalingCluster` runs `ray stop --force`, which ends
every Ray on the machine, and reads `fake_multi_node/example.yaml`, which the wheel lacks.
"""

from __future__ import annotations

import http.client
import json
import secrets
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from ray.autoscaler._private.fake_multi_node.node_provider import FAKE_HEAD_NODE_ID, FAKE_HEAD_NODE_TYPE
from ray.autoscaler._private.kuberay.autoscaling_config import _derive_autoscaling_config_from_ray_cr

import settings
from manifests import commands, raycluster
from tests.workload.procs import RAY, free_port, ray_head, wait_for, whole_trials, workload_env
from tools.mocks import stack_config
from workloads import capacity, results

pytestmark = pytest.mark.slow

FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"
# Small enough for a 2-core CI machine: a few trials of one epoch on the 4,000 offline digits.
TRIALS = 4
SIZE_FLAGS = [*whole_trials(TRIALS, 1), "--checkpoint-every", "1"]
# Fake raylets each map an object store; the node types say nothing about it, this machine's memory does.
OBJECT_STORE_BYTES = 80 * 1024 * 1024


def dev_settings() -> settings.Settings:
    return settings.parse(stack_config("dev"))


def autoscaling_config(stack: settings.Settings, gcs_address: str) -> dict:
    """What the KubeRay autoscaler derives from our RayCluster, on the fake provider instead of KubeRay's."""
    config = _derive_autoscaling_config_from_ray_cr(raycluster.raycluster_manifest(stack))
    types = config["available_node_types"]
    # The fake provider knows its head by a fixed type name and node id.
    types[FAKE_HEAD_NODE_TYPE] = types.pop(config["head_node_type"])
    config["head_node_type"] = FAKE_HEAD_NODE_TYPE
    for node_type in types.values():
        # The fake provider passes every resource but CPU, GPU and object_store_memory to `ray start` as a
        # custom one, and Ray refuses `memory` there: fake nodes have this machine's memory instead.
        node_type["resources"].pop("memory", None)
        node_type["resources"]["object_store_memory"] = OBJECT_STORE_BYTES
    config["provider"] = {
        "type": "external",
        "module": FAKE_PROVIDER,
        "gcs_address": gcs_address,
        "launch_multiple": True,
        "head_node_id": FAKE_HEAD_NODE_ID,
        "disable_node_updaters": True,
        "disable_launch_config_check": True,
    }
    return config


def _get(address: str, path: str, token: str) -> dict:
    request = urllib.request.Request(f"{address}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _state(address: str, kind: str, token: str, attempts: int = 20) -> list[dict]:
    """Ray's state API (dashboard `/api/v0/<kind>`), dead entries included. A dashboard on a loaded 2-core
    machine drops a connection now and then: retried."""
    for attempt in range(attempts):
        try:
            reply = _get(address, f"/api/v0/{kind}?detail=1&limit=1000", token)
            return reply["data"]["result"]["result"]
        except (OSError, http.client.HTTPException):
            if attempt == attempts - 1:
                raise
            time.sleep(3)
    return []


@pytest.fixture
def cluster(tmp_path):
    """A 0-CPU fake head whose autoscaler (v2) launches our RayCluster's worker types on demand."""
    stack = dev_settings()
    token = secrets.token_hex(32)
    gcs_port = free_port()
    config_path = tmp_path / "autoscaling.json"
    config_path.write_text(json.dumps(autoscaling_config(stack, f"127.0.0.1:{gcs_port}")))
    # The variables ray.cluster_utils.AutoscalingCluster sets for the fake provider and autoscaler v2.
    env = workload_env(
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=token,
        RAY_FAKE_CLUSTER="1",
        AUTOSCALER_UPDATE_INTERVAL_S="1",
        RAY_enable_autoscaler_v2="1",
        RAY_CLOUD_INSTANCE_ID=FAKE_HEAD_NODE_ID,
        RAY_OVERRIDE_NODE_ID_FOR_TESTING=FAKE_HEAD_NODE_ID,
    )
    head_flags = (f"--autoscaling-config={config_path}", f"--object-store-memory={OBJECT_STORE_BYTES}")
    with ray_head(tmp_path / "ray-start.log", env, 0, *head_flags, gcs_port=gcs_port, timeout=180) as address:
        yield stack, address, env, token


def submitted_entrypoint(stack: settings.Settings, data_dir: Path, storage: Path) -> tuple[list[str], list[str]]:
    """jobSubmitCommand's environment assignments and entrypoint, with this machine's data and storage."""
    words = shlex.split(
        commands.job_submit(
            stack.ray_namespace, stack.ray_cluster_name, str(data_dir), str(storage), commands.sweep_sizing(stack)
        )
    )
    assignments = [w for w in words[: words.index("ray")] if "=" in w]
    return assignments, words[words.index("--") + 1 :]


def test_the_printed_job_scales_gpu_nodes_from_zero_and_runs_trials_on_gpu_shares_at_once(cluster, data_dir, tmp_path):
    stack, address, env, token = cluster
    assignments, entrypoint = submitted_entrypoint(stack, data_dir, tmp_path / "results")
    (tmp_path / "results").mkdir()
    assert [a.split("=", 1)[0] for a in assignments] == ["RAY_AUTH_MODE", "RAY_AUTH_TOKEN"]
    assert "RAY_AUTH_MODE=token" in assignments
    nodes_before = wait_for(
        lambda: [n for n in _state(address, "nodes", token) if n["state"] == "ALIVE"], 60, "the head in the node table"
    )
    assert [n["is_head_node"] for n in nodes_before] == [True]  # scaled to zero: the head only

    # The code reaches the fake raylets through PYTHONPATH: they share the head's session directory, so a
    # --working-dir upload would be unpacked over the driver's; the runtime env's pip pins are this venv's.
    started = time.monotonic()
    result = subprocess.run(
        [
            RAY,
            "job",
            "submit",
            "--address",
            address,
            "--submission-id",
            "autoscale-1",
            "--",
            *entrypoint,
            "--name",
            "autoscale-1",
            *SIZE_FLAGS,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    print(f"job wall time {time.monotonic() - started:.0f} s")
    assert result.returncode == 0 and "succeeded" in output, output[-6000:]

    gpu_type = raycluster.GPU_GROUP
    nodes = _state(address, "nodes", token)
    gpu_nodes = [n for n in nodes if n["resources_total"].get("GPU", 0) > 0]
    assert gpu_nodes, f"no GPU node was launched: {[n['resources_total'] for n in nodes]}"
    assert all(n["labels"].get("ray.io/node-group", gpu_type) == gpu_type for n in gpu_nodes)

    trial_actors = [a for a in _state(address, "actors", token) if a["class_name"] == "ImplicitFunc"]
    assert trial_actors, "no trial ran"
    gpu_node_ids = {n["node_id"] for n in gpu_nodes}
    for actor in trial_actors:
        # Tune places each trial in a placement group: its bundle's GPU shows as GPU_group_<id>.
        gpu_shares = {v for k, v in actor["required_resources"].items() if k == "GPU" or k.startswith("GPU_group_")}
        assert gpu_shares == {capacity.GPUS_PER_TRIAL}, actor["required_resources"]
        assert actor["node_id"] in gpu_node_ids
    run_dir = tmp_path / "results" / "autoscale-1"
    intervals = _trial_intervals(run_dir)
    assert len(intervals) == TRIALS
    assert _most_at_once(intervals) >= 2, intervals

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_trials"] == TRIALS and summary["num_errors"] == 0, summary


def _trial_intervals(run_dir: Path) -> list[tuple[float, float]]:
    """(start, end) of each trial in wall-clock seconds, from its reports (Tune's ExperimentAnalysis): each
    carries the trial's own `wall_time` and Tune's `time_total_s` since the trial started."""
    return [
        (reports[0]["wall_time"] - reports[0]["time_total_s"], reports[-1]["wall_time"])
        for reports in results.trial_reports(run_dir).values()
        if reports
    ]


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    alive = most = 0
    for _, step in events:
        alive += step
        most = max(most, alive)
    return most
