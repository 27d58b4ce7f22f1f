"""The sweep on Blob through FUSE, locally: Azurite stands in for the storage account, `rclone mount` for
BlobFuse2, one mount pair (datasets, results) per Ray node at the cluster's mount paths.

Two raylets on this machine, each in its own mount namespace with its own two rclone mounts, so every
node reads and writes the containers through its own FUSE cache, as Ray pods do through their own
BlobFuse2 mounts. The mounts use the PVs' metadata-cache timeouts (manifests/volumes.py). The scenario, as
a user runs it with `ray job submit`: prepare the data, a sweep whose trials run on both nodes, a trial
worker killed (retried from its checkpoint, possibly on the other node), the driver stopped with
`ray job stop` and submitted again. Then, read from Azurite's blobs (not through any mount): every trial
is there with all its epochs, and the summary says so.

What this cannot show about BlobFuse2 (a first real deploy must check these):
- BlobFuse2's block cache (datasets) and its prefetch and memory pool; rclone reads through without a
  cache (`--vfs-cache-mode off`, which, like the block cache, refuses random writes).
- BlobFuse2's file cache (results) keeps whole files on the node's disk; rclone streams them (`minimal`),
  which keeps what our code relies on: a file is uploaded when its close() returns (tests/blob/azurite.py
  says why, tests/blob/test_mounts.py checks it).
- `negative_timeout` (BlobFuse2 hands it to libfuse; rclone's FUSE layer has no such option), so a
  missing file's absence is cached differently.
- Workload identity, the CSI driver's mount lifecycle (a mount per pod, remounts on pod restart), the
  node's temp disk as the cache's home, and real Blob's latency, throughput and throttling.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from settings import DATASETS_CONTAINER, RESULTS_CONTAINER
from tests.blob.azurite import Blob, mount_command, rclone_errors, require
from tests.workload.procs import (
    LOOPBACK,
    RAY,
    REPO,
    free_port,
    jobs_api_up,
    kill_tree,
    ray_head_command,
    ray_node_ports,
    wait_for,
    whole_trials,
    workload_env,
)
from workloads import defaults

pytestmark = pytest.mark.slow

NAME, NUM_SAMPLES, MAX_EPOCHS = "blob", 4, 3


def node_script(cache_dir: Path, ray_args: list[str]) -> str:
    """Inside a new mount namespace: a private /mnt, the raylet, then this node's two rclone mounts.

    Ray first: started with the FUSE mounts in place, its node missed its registration deadline on every
    try here, and without them it starts at once. Ray's daemons leave the process tree (`ray start`
    without --block), so the node is its namespace: `sleep` holds it, cleanup ends every process in it.
    """
    mounts = [
        shlex.join(mount_command(container, path, cache_dir / container, cache_dir / f"rclone-{container}.log"))
        for container, path in (
            (DATASETS_CONTAINER, defaults.DATASETS_MOUNT),
            (RESULTS_CONTAINER, defaults.RESULTS_MOUNT),
        )
    ]
    # tmpfs on /mnt, private to this namespace: nothing appears in the machine's own /mnt.
    return " && ".join(
        [
            f"mkdir -p {cache_dir}",
            "mount --make-rprivate /",
            "mount -t tmpfs ray-node /mnt",
            f"mkdir -p {defaults.DATASETS_MOUNT} {defaults.RESULTS_MOUNT}",
            " ".join(ray_args),
            *mounts,
            f"touch {cache_dir}/mounted",
            "exec sleep infinity",
        ]
    )


@pytest.fixture(scope="module")
def cluster():
    """Azurite, a Ray head and one worker node, each node with its own mounts; the job API's address."""
    require("azurite-blob", "rclone", "unshare", "fusermount3")
    # Not pytest's tmp_path: other pytest sessions on the machine prune old ones while this one runs.
    work = Path(tempfile.mkdtemp(prefix="ray-aks-blob-"))
    blob = Blob(work)
    env = {**workload_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32)), **blob.env}
    temp_dir = Path(tempfile.mkdtemp(prefix="rayb-", dir="/tmp"))  # short: Ray's socket paths
    gcs_port, dashboard_port = free_port(), free_port()

    # One CPU a node: two trials at once, one on each node.
    head = ray_head_command(temp_dir, gcs_port, dashboard_port, 1)
    worker = [RAY, "start", "--address", f"{LOOPBACK}:{gcs_port}", "--node-ip-address", LOOPBACK, "--num-cpus", "1"]
    worker += ["--num-gpus", "0", *ray_node_ports()]
    address = f"http://{LOOPBACK}:{dashboard_port}"
    nodes, namespaces = [], set()
    # The head counts once its raylet is registered (alive in the state API), not when the dashboard answers.
    ready = {
        "head": lambda: jobs_api_up(address, env["RAY_AUTH_TOKEN"]) and _alive_nodes(address, env) >= 1,
        "worker": lambda: _alive_nodes(address, env) >= 2,
    }
    try:
        for role, args in (("head", head), ("worker", worker)):
            nodes.append(start_node(role, args, work, env, ready[role], namespaces))
        yield {"address": address, "env": env, "blob": blob, "work": work, "namespaces": namespaces}
    finally:
        for node in reversed(nodes):
            kill_tree(node)  # the raylet and its workers
        stop_namespaces(namespaces)
        blob.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


# Ray gives a node 30 s to register (ray/_private/node.py, raylet_start_wait_time_s), which a loaded CI
# machine sometimes misses. Not a behaviour under test: start that node again.
RAY_START_TIMEOUT = "timed out during startup"
START_ATTEMPTS = 5


def start_node(role: str, args: list[str], work: Path, env: dict, ready, namespaces: set[str]) -> subprocess.Popen:
    """A Ray node in a mount namespace of its own with its two mounts; returns once `ready()` holds."""
    host_namespace = mount_namespace(os.getpid())
    for attempt in range(START_ATTEMPTS):
        log = work / f"{role}-{attempt}.log"
        (work / role / "mounted").unlink(missing_ok=True)
        with log.open("w") as out:
            node = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", node_script(work / role, args)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline, mine = time.monotonic() + 240, None
        while time.monotonic() < deadline and node.poll() is None:
            namespace = mount_namespace(node.pid)
            if namespace not in (None, host_namespace):
                mine = namespace
                namespaces.add(mine)
                if (work / role / "mounted").exists() and ready():
                    return node
            time.sleep(1)
        kill_tree(node)
        if mine is not None:
            stop_namespaces({mine})
            namespaces.discard(mine)
        if RAY_START_TIMEOUT not in log.read_text():
            pytest.fail(f"the {role} node did not start:\n{log.read_text()[-3000:]}")
    pytest.fail(f"the {role} node timed out during startup {START_ATTEMPTS} times:\n{log.read_text()[-3000:]}")


def stop_namespaces(namespaces: set[str]) -> None:
    """SIGKILL what is left in these mount namespaces: rclone's daemons left the nodes' process trees."""
    for pid in processes_in(namespaces):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def _alive_nodes(address: str, env: dict) -> int:
    """Alive nodes, from the dashboard's state API (not `address="auto"`: other Rays run on this machine)."""
    request = urllib.request.Request(
        f"{address}/api/v0/nodes?limit=10", headers={"Authorization": f"Bearer {env['RAY_AUTH_TOKEN']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            nodes = json.load(response)["data"]["result"]["result"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(node.get("state") == "ALIVE" for node in nodes)


def mount_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def processes_in(namespaces: set[str]) -> list[int]:
    return [
        int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and mount_namespace(int(e.name)) in namespaces
    ]


def job(cluster, command: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`ray job <command> --address <ours> <args>` (other Rays run on this machine: never auto-detect)."""
    return subprocess.run(
        [RAY, "job", command, "--address", cluster["address"], *args],
        capture_output=True,
        text=True,
        env=cluster["env"],
        timeout=timeout,
        cwd=REPO,
    )


def submit(cluster, submission_id: str, *entrypoint: str, wait: bool) -> subprocess.CompletedProcess:
    # The supervisor reads RAY_JOB_STOP_WAIT_TIME_S from the job's runtime_env: 3 s by default, too short
    # for Tune's final save and the summary (ray/dashboard/modules/job/job_supervisor.py).
    runtime_env = json.dumps({"env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": "120", "TUNE_GLOBAL_CHECKPOINT_S": "1"}})
    return job(
        cluster,
        "submit",
        "--submission-id",
        submission_id,
        "--runtime-env-json",
        runtime_env,
        *([] if wait else ["--no-wait"]),
        "--",
        *entrypoint,
    )


def trial_workers(namespaces: set[str]) -> dict[int, str | None]:
    """pid -> mount namespace of the Tune trial workers of our nodes (others' Rays may run here too)."""
    found = {}
    for pid in processes_in(namespaces):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::ImplicitFunc"):
                found[pid] = mount_namespace(pid)
        except OSError:
            continue
    return found


def wait_for_json(blob: Blob, path: str, accept, what: Callable[[], str]) -> dict:
    """A JSON blob from Azurite (not through a mount), polled until `accept(content)` holds."""

    def ready():
        try:
            content = json.loads(blob.read(RESULTS_CONTAINER, path))
        except (subprocess.CalledProcessError, ValueError):
            return None
        return content if accept(content) else None

    return wait_for(ready, 120, what)


def mount_errors(work: Path) -> str:
    """The last errors the nodes' rclone mounts logged, for a failure's message."""
    errors = rclone_errors(sorted(work.glob("*/rclone-*.log")))
    return "\nrclone's errors:\n" + "\n".join(errors) if errors else "\nrclone logged no error"


def reported_epochs(blob: Blob) -> dict[str, list[int]]:
    """{trial directory: the epochs its result.json holds}, read from the blobs in Azurite themselves.

    Tune's own file, read directly on purpose: the test is about what reached the storage account through
    the FUSE mounts, not about what Tune's ExperimentAnalysis would make of a run directory.
    """
    epochs = {}
    for path in blob.files(RESULTS_CONTAINER, NAME):
        if path.endswith("/result.json"):
            rows = [
                json.loads(line) for line in blob.read(RESULTS_CONTAINER, f"{NAME}/{path}").splitlines() if line.strip()
            ]
            epochs[path.split("/")[0]] = [row["epoch"] for row in rows]
    return epochs


@pytest.fixture(scope="module")
def scenario(cluster):
    blob, steps, namespaces = cluster["blob"], {}, cluster["namespaces"]
    sweep = [
        "python",
        "-m",
        "workloads.tune",
        "--name",
        NAME,
        *whole_trials(NUM_SAMPLES, MAX_EPOCHS),
        "--checkpoint-every",
        "1",
        "--max-failures",
        "3",
    ]
    steps["prepare"] = submit(
        cluster,
        "prepare",
        "python",
        "-m",
        "workloads.data",
        "prepare",
        "--data-dir",
        defaults.DATASETS_MOUNT,
        wait=True,
    )
    assert steps["prepare"].returncode == 0, steps["prepare"].stdout[-3000:] + steps["prepare"].stderr[-2000:]
    first = submit(cluster, "sweep-1", *sweep, wait=False)
    assert first.returncode == 0, first.stderr[-2000:]
    # Both nodes train at once, each in its own mount namespace (not this test's).
    workers = wait_for(
        lambda: (w := trial_workers(namespaces)) and len(set(w.values())) >= 2 and w, 400, "trials on both nodes"
    )
    steps["namespaces"] = set(workers.values())
    victim = max(workers)
    os.kill(victim, 9)  # a lost worker: Tune retries the trial from its checkpoint
    steps["killed"] = victim
    wait_for(lambda: any(len(e) >= 1 for e in reported_epochs(blob).values()), 300, "a report in Azurite")
    time.sleep(10)  # let the retried trial start again, so the stop interrupts work in flight
    steps["stop"] = job(cluster, "stop", "sweep-1", timeout=300)
    steps["logs_1"] = job(cluster, "logs", "sweep-1").stdout
    steps["status_1"] = job(cluster, "status", "sweep-1").stdout
    steps["summary_1"] = wait_for_json(
        blob,
        f"{NAME}/summary.json",
        lambda s: True,
        lambda: (
            f"the stopped run's summary; its status and log:\n{steps['status_1'][-1500:]}\n"
            f"{steps['logs_1'][-3000:]}" + mount_errors(cluster["work"])
        ),
    )
    steps["resubmit"] = submit(cluster, "sweep-2", *sweep, wait=True)
    resubmitted = steps["resubmit"].stdout[-3000:] + steps["resubmit"].stderr[-2000:]
    steps["summary"] = wait_for_json(
        blob,
        f"{NAME}/summary.json",
        lambda s: s["resumed"],
        lambda: f"the resumed summary; the resubmitted job:\n{resubmitted}" + mount_errors(cluster["work"]),
    )
    steps["epochs"] = reported_epochs(blob)
    steps["blobs"] = blob.files(RESULTS_CONTAINER, NAME)
    return steps


def test_trials_ran_on_both_nodes_through_their_own_mounts(scenario):
    assert len(scenario["namespaces"]) >= 2


def test_ray_job_stop_ends_the_sweep_with_its_state_saved_and_an_incomplete_summary(scenario):
    assert "was stopped" in scenario["status_1"], scenario["status_1"]  # `ray job status`: STOPPED
    summary = scenario["summary_1"]
    assert summary["stopped_by"] == "SIGTERM" and summary["complete"] is False, scenario["logs_1"][-3000:]
    assert summary["num_retried"] + summary["num_interrupted"] >= 1


def test_the_resubmitted_sweep_finishes_with_no_trial_lost_as_azurite_holds_it(scenario):
    resubmit = scenario["resubmit"]
    assert resubmit.returncode == 0, resubmit.stdout[-4000:] + resubmit.stderr[-2000:]
    summary = scenario["summary"]
    assert summary["complete"] is True and summary["resumed"] is True
    assert summary["num_trials"] == NUM_SAMPLES == summary["num_completed"]
    # From the blobs themselves: every trial reported every epoch (a resumed trial may repeat some).
    assert len(scenario["epochs"]) == NUM_SAMPLES
    for trial, epochs in scenario["epochs"].items():
        assert set(epochs) == set(range(1, MAX_EPOCHS + 1)), (trial, epochs)
        assert any(p.startswith(f"{trial}/checkpoint_") for p in scenario["blobs"]), trial
    assert "driver.lease.json" not in scenario["blobs"]


def test_the_killed_worker_was_retried_not_lost(scenario):
    summary = scenario["summary"]
    assert summary["num_failures"] >= 1 and summary["num_retried"] >= 1 and summary["num_errors"] == 0
