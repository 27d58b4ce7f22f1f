"""The post-deploy smoke check, on command outputs recorded from kubectl and `ray status`: one line per
check, PASS/FAIL/SKIP, exit 1 on any failure, and the commands it runs name the stack's objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

import settings
from manifests import mount_check, raycluster, volumes
from tools import smoke
from tools.mocks import stack_config
from tools.smoke import FAIL, PASS, SKIP, Output

STACK = settings.parse(stack_config("dev"))
TOKEN = "0123456789abcdef"
HEAD = "ray-tune-head-x7k2p"

CSI_DRIVER = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "CSIDriver",
    "metadata": {"name": "blob.csi.azure.com"},
    "spec": {
        "attachRequired": False,
        "podInfoOnMount": True,
        "tokenRequests": [{"audience": "api://AzureADTokenExchange"}],
    },
}
CSI_DRIVER_WITHOUT_TOKENS = {**CSI_DRIVER, "spec": {"attachRequired": False, "podInfoOnMount": True}}

GPU_NODE = {
    "metadata": {"name": "aks-gpu-12345678-vmss000000", "labels": {"ray-aks/pool": "gpu"}},
    "status": {"allocatable": {"cpu": "7820m", "memory": "49152Mi", "nvidia.com/gpu": "1"}},
}
GPU_NODE_WITHOUT_PLUGIN = {
    "metadata": {"name": "aks-gpu-12345678-vmss000001"},
    "status": {"allocatable": {"cpu": "7820m", "memory": "49152Mi"}},
}

RAY_STATUS = """======== Autoscaler status: 2026-12-02 01:02:03.456789 ========
Node status
---------------------------------------------------------------
Active:
 1 headgroup
 1 gpu
Idle:
 1 cpu
Pending:
 (no pending nodes)
Recent failures:
 (no failures)

Resources
---------------------------------------------------------------
Total Usage:
 4.0/12.0 CPU
 1.0/1.0 GPU
From request_resources:
 (none)
Pending Demands:
 (no resource demands)
"""
RAY_STATUS_SCALED_TO_ZERO = """======== Autoscaler status: 2026-12-02 01:02:03.456789 ========
Node status
---------------------------------------------------------------
Active:
 1 headgroup
Idle:
 (no idle nodes)
Pending:
 (no pending nodes)
Recent failures:
 gpu: LaunchFailed (latest_attempt: 01:00:00)

Resources
---------------------------------------------------------------
Total Usage:
 0B/8.00GiB memory
"""


class Recorded:
    """Answers each command from recorded outputs by the first words that identify it; records the calls."""

    def __init__(self, **overrides: Output):
        self.calls: list[list[str]] = []
        self.outputs: dict[str, Any] = {
            "csidriver": Output(0, json.dumps(CSI_DRIVER)),
            "pods": Output(0, HEAD),
            "mounts": Output(0, "BlobFuse2 mounts: /mnt/datasets /mnt/results\n"),
            "round trip": None,  # the container gives back what was written
            "nodes": Output(0, json.dumps({"items": [GPU_NODE]})),
            "ray status": Output(0, RAY_STATUS),
            **{key.replace("_", " "): value for key, value in overrides.items()},
        }

    def __call__(self, command: list[str]) -> Output:
        self.calls.append(command)
        if command[:3] == ["kubectl", "get", "csidriver"]:
            return self.outputs["csidriver"]
        if command[:3] == ["kubectl", "get", "nodes"]:
            return self.outputs["nodes"]
        if "get" in command and "pods" in command:
            return self.outputs["pods"]
        if "exec" in command:
            inner = command[command.index("--") + 1 :]
            if inner[:2] == ["ray", "status"]:
                return self.outputs["ray status"]
            if "mountinfo" in inner[-1]:
                return self.outputs["mounts"]
            written = inner[-1].split(".smoke-", 1)[1].split("'", 1)[0].split(" ", 1)[0]
            return self.outputs["round trip"] or Output(0, written)
        raise AssertionError(f"unexpected command {command}")


def statuses(checks) -> dict[str, str]:
    return {c.name: c.status for c in checks}


def test_a_healthy_scaled_cluster_passes_every_check_and_exits_0(capsys):
    run = Recorded()
    assert smoke.main(["--stack", "dev", "--expect-gpu"], run=run) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith(PASS + " ") for line in lines[:-1]), lines
    assert lines[-1].endswith("OK")
    assert len(lines) == 1 + 7


def test_the_commands_name_the_stacks_namespace_cluster_head_container_and_mount_paths():
    run = Recorded()
    smoke.smoke(STACK, run, token=TOKEN)
    pods = next(c for c in run.calls if "pods" in c)
    assert pods[:3] == ["kubectl", "-n", STACK.ray_namespace]
    assert f"ray.io/cluster={STACK.ray_cluster_name},ray.io/node-type=head" in pods
    execs = [c for c in run.calls if "exec" in c]
    assert all(c[c.index("exec") + 1 : c.index("exec") + 4] == [HEAD, "-c", raycluster.HEAD_CONTAINER] for c in execs)
    check = next(c for c in execs if "mountinfo" in c[-1])
    assert check[-1] == mount_check.mount_check_script([v.mount_path for v in volumes.blob_volumes(STACK)])
    round_trip = next(c for c in execs if TOKEN in c[-1])
    assert f"{STACK.results_mount_path}/.smoke-{TOKEN}" in round_trip[-1] and "rm -f" in round_trip[-1]


def test_a_csidriver_without_token_requests_fails_and_the_exit_is_1(capsys):
    run = Recorded(csidriver=Output(0, json.dumps(CSI_DRIVER_WITHOUT_TOKENS)))
    assert smoke.main(["--stack", "dev"], run=run) == 1
    out = capsys.readouterr().out
    assert "FAIL CSIDriver tokenRequests: blob.csi.azure.com has no tokenRequests" in out
    assert out.splitlines()[-1].endswith("FAILED")


def test_a_mount_that_is_not_blobfuse2_fails_with_the_checks_own_reason():
    reason = "/mnt/results is not a BlobFuse2 mount: refusing to start (is tokenRequests set?)"
    checks = smoke.smoke(STACK, Recorded(mounts=Output(1, "", reason + "\n")), token=TOKEN)
    failed = next(c for c in checks if c.name == "BlobFuse2 mounts in the head")
    assert (failed.status, failed.detail) == (FAIL, reason)


@pytest.mark.parametrize("output", [Output(0, "something else"), Output(1, "", "sh: can't create: Permission denied")])
def test_a_round_trip_that_does_not_read_back_what_it_wrote_fails(output):
    checks = smoke.smoke(STACK, Recorded(round_trip=output), token=TOKEN)
    assert statuses(checks)["results container round trip"] == FAIL


def test_no_head_pod_fails_and_skips_the_checks_that_need_one():
    checks = smoke.smoke(STACK, Recorded(pods=Output(0, "")), token=TOKEN)
    assert statuses(checks)["head pod"] == FAIL
    assert "ray status" not in statuses(checks) and "results container round trip" not in statuses(checks)


def test_before_any_gpu_node_joins_the_gpu_checks_skip_unless_expected():
    run = Recorded(nodes=Output(0, json.dumps({"items": []})), ray_status=Output(0, RAY_STATUS_SCALED_TO_ZERO))
    relaxed = statuses(smoke.smoke(STACK, run, token=TOKEN))
    assert relaxed["nvidia.com/gpu allocatable"] == relaxed["worker group gpu"] == relaxed["worker group cpu"] == SKIP
    assert FAIL not in relaxed.values()
    strict = statuses(smoke.smoke(STACK, run, expect_gpu=True, token=TOKEN))
    assert strict["nvidia.com/gpu allocatable"] == strict["worker group gpu"] == FAIL
    assert strict["worker group cpu"] == SKIP  # a failed launch under "Recent failures" is not a node


def test_a_gpu_node_without_the_device_plugins_resource_fails():
    run = Recorded(nodes=Output(0, json.dumps({"items": [GPU_NODE, GPU_NODE_WITHOUT_PLUGIN]})))
    check = smoke.check_gpu_allocatable(run, expect_gpu=False)
    assert check.status == FAIL and "aks-gpu-12345678-vmss000001" in check.detail
    assert "aks-gpu-12345678-vmss000000" not in check.detail


def test_ray_status_that_does_not_answer_fails():
    run = Recorded(ray_status=Output(1, "", "ConnectionError: GCS not reachable"))
    checks = statuses(smoke.smoke(STACK, run, token=TOKEN))
    assert checks["ray status"] == FAIL


def test_the_worker_groups_are_read_from_active_idle_and_pending_nodes():
    status = RAY_STATUS.replace(" 1 cpu\n", " (no idle nodes)\n").replace(" (no pending nodes)", " cpu, 1 launching")
    assert smoke._node_types(status) == {"gpu": "active", "cpu": "pending"}
