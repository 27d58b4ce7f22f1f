"""Post-deploy smoke check of a real cluster: python -m tools.smoke [--stack dev] (or `make smoke`).

Run it after `pulumi up` with kubectl logged in to the cluster (getCredentialsCommand). It checks what the
offline tests cannot see, one PASS/FAIL/SKIP line each, and exits 1 if anything failed:

- the Blob CSI driver's CSIDriver requests the workload-identity token (`tokenRequests`); without it the
  driver bind-mounts an empty directory and nothing fails (blob-csi-driver#1240);
- both mounts are BlobFuse2 FUSE mounts inside the head (the pods' own init check, run again);
- a write and read back through the results container;
- every GPU node advertises `nvidia.com/gpu` (skipped until a GPU node has joined; --expect-gpu fails it);
- `ray status` answers, and lists both worker groups once they have nodes (--expect-gpu requires the
  GPU group).

Names (namespace, cluster, mount paths, pool label) come from the stack's settings, as `pulumi up` used them.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import settings
from manifests import mount_check, pools, raycluster, volumes
from tools.mocks import stack_config

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
GPU_RESOURCE = "nvidia.com/gpu"
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass(frozen=True)
class Output:
    returncode: int
    stdout: str
    stderr: str = ""


Runner = Callable[[list[str]], Output]


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.detail}"


def run_command(command: list[str]) -> Output:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return Output(127, "", str(err))
    return Output(done.returncode, done.stdout, done.stderr)


def _failed(output: Output) -> str:
    """The last line the command wrote (kubectl and sh put the reason there)."""
    text = (output.stderr or output.stdout).strip()
    return text.splitlines()[-1] if text else f"exit {output.returncode}"


def check_token_requests(run: Runner) -> Check:
    name = "CSIDriver tokenRequests"
    output = run(["kubectl", "get", "csidriver", volumes.DRIVER, "-o", "json"])
    if output.returncode != 0:
        return Check(FAIL, name, f"cannot read CSIDriver {volumes.DRIVER}: {_failed(output)}")
    requests = json.loads(output.stdout).get("spec", {}).get("tokenRequests") or []
    if any(r.get("audience") == TOKEN_AUDIENCE for r in requests):
        return Check(PASS, name, f"{volumes.DRIVER} requests a token for {TOKEN_AUDIENCE}")
    return Check(
        FAIL,
        name,
        f"{volumes.DRIVER} has no tokenRequests for {TOKEN_AUDIENCE}: workload-identity "
        "mounts become empty directories on the node's disk",
    )


def head_pod(run: Runner, namespace: str, cluster: str) -> tuple[str | None, Check | None]:
    selector = f"{raycluster.CLUSTER_LABEL}={cluster},{raycluster.NODE_TYPE_LABEL}={raycluster.HEAD_NODE_TYPE}"
    output = run(
        [
            "kubectl",
            "-n",
            namespace,
            "get",
            "pods",
            "-l",
            selector,
            "--field-selector",
            "status.phase=Running",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]
    )
    names = output.stdout.split()
    if output.returncode != 0 or not names:
        return None, Check(FAIL, "head pod", f"no running head pod of {cluster} in {namespace}: {_failed(output)}")
    return names[0], None


def _exec(namespace: str, pod: str, *command: str) -> list[str]:
    return ["kubectl", "-n", namespace, "exec", pod, "-c", raycluster.HEAD_CONTAINER, "--", *command]


def check_fuse_mounts(run: Runner, namespace: str, pod: str, paths: list[str]) -> Check:
    name = "BlobFuse2 mounts in the head"
    output = run(_exec(namespace, pod, "sh", "-c", mount_check.mount_check_script(paths)))
    if output.returncode == 0:
        return Check(PASS, name, " ".join(paths))
    return Check(FAIL, name, _failed(output))


def check_round_trip(run: Runner, namespace: str, pod: str, results_path: str, token: str) -> Check:
    name = "results container round trip"
    path = f"{results_path}/.smoke-{token}"
    script = (
        f"printf %s {shlex.quote(token)} > {shlex.quote(path)} && cat {shlex.quote(path)}; "
        f"status=$?; rm -f {shlex.quote(path)}; exit $status"
    )
    output = run(_exec(namespace, pod, "sh", "-c", script))
    if output.returncode == 0 and output.stdout.strip() == token:
        return Check(PASS, name, f"wrote and read back {path}")
    return Check(FAIL, name, f"wrote {token!r} to {path}, read {output.stdout.strip()!r}: {_failed(output)}")


def check_gpu_allocatable(run: Runner, expect_gpu: bool) -> Check:
    name = f"{GPU_RESOURCE} allocatable"
    label = f"{pools.POOL_LABEL}={pools.gpu_labels()[pools.POOL_LABEL]}"
    output = run(["kubectl", "get", "nodes", "-l", label, "-o", "json"])
    if output.returncode != 0:
        return Check(FAIL, name, f"cannot list GPU nodes: {_failed(output)}")
    nodes = json.loads(output.stdout).get("items", [])
    if not nodes:
        return Check(
            FAIL if expect_gpu else SKIP,
            name,
            "no GPU node has joined yet (the pool scales from zero; "
            "run a sweep, then run this again with --expect-gpu)",
        )
    missing = [
        n["metadata"]["name"]
        for n in nodes
        if int(n.get("status", {}).get("allocatable", {}).get(GPU_RESOURCE, "0")) < 1
    ]
    if missing:
        return Check(
            FAIL,
            name,
            f"GPU nodes without {GPU_RESOURCE}: {', '.join(missing)} (is the NVIDIA device plugin running there?)",
        )
    return Check(PASS, name, f"{len(nodes)} GPU node(s), each with {GPU_RESOURCE}")


def check_ray_status(run: Runner, namespace: str, pod: str, expect_gpu: bool) -> list[Check]:
    output = run(_exec(namespace, pod, "ray", "status"))
    if output.returncode != 0 or "Node status" not in output.stdout:
        return [Check(FAIL, "ray status", f"the autoscaler's status is unavailable: {_failed(output)}")]
    checks = [Check(PASS, "ray status", "the autoscaler reports the cluster")]
    listed = _node_types(output.stdout)
    for group in (raycluster.CPU_GROUP, raycluster.GPU_GROUP):
        if group in listed:
            checks.append(Check(PASS, f"worker group {group}", f"in ray status ({listed[group]})"))
        elif group == raycluster.GPU_GROUP and expect_gpu:
            checks.append(Check(FAIL, f"worker group {group}", "not in ray status: no GPU worker is up or launching"))
        else:
            checks.append(
                Check(
                    SKIP,
                    f"worker group {group}",
                    "no node yet (groups appear in ray status once the autoscaler adds one)",
                )
            )
    return checks


def _node_types(status: str) -> dict[str, str]:
    """Node types under Active/Idle/Pending in `ray status` (autoscaler v2's format: ' 1 gpu',
    ' gpu, 1 launching', ' <ip>: gpu, <state>'), by type, with the section they are in."""
    found: dict[str, str] = {}
    section = None
    for line in status.splitlines():
        stripped = line.strip()
        if stripped in ("Active:", "Idle:", "Pending:"):
            section = stripped[:-1].lower()
            continue
        if not line.startswith(" ") or section is None:
            if stripped and not line.startswith(" "):
                section = None
            continue
        if stripped.startswith("(no"):
            continue
        words = stripped.replace(",", " ").replace(":", " ").split()
        for word in words:
            if word in (raycluster.CPU_GROUP, raycluster.GPU_GROUP):
                found.setdefault(word, section)
    return found


def smoke(stack: settings.Settings, run: Runner, expect_gpu: bool = False, token: str | None = None) -> list[Check]:
    token = token or secrets.token_hex(8)
    checks = [check_token_requests(run)]
    pod, missing = head_pod(run, stack.ray_namespace, stack.ray_cluster_name)
    if missing is not None or pod is None:
        checks.append(missing or Check("FAIL", "ray head pod", "no running head pod"))
    else:
        paths = [v.mount_path for v in volumes.blob_volumes(stack)]
        checks.append(check_fuse_mounts(run, stack.ray_namespace, pod, paths))
        checks.append(check_round_trip(run, stack.ray_namespace, pod, stack.results_mount_path, token))
    checks.append(check_gpu_allocatable(run, expect_gpu))
    if pod:
        checks.extend(check_ray_status(run, stack.ray_namespace, pod, expect_gpu))
    return checks


def main(argv: Sequence[str] | None = None, run: Runner = run_command) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stack", default="dev", help="the stack whose settings name the objects (Pulumi.<stack>.yaml)"
    )
    parser.add_argument(
        "--expect-gpu",
        action="store_true",
        help="fail, rather than skip, when no GPU node or GPU worker is up (after a sweep)",
    )
    args = parser.parse_args(argv)
    stack = settings.parse(stack_config(args.stack))
    checks = smoke(stack, run, args.expect_gpu)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if c.status == FAIL]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed or skipped; {'FAILED' if failed else 'OK'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
