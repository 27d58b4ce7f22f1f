"""Ready-to-paste commands for the stack's outputs: reach the dashboard, read the token, submit the sweep.

The head is never exposed: `kubectl port-forward` (through the API server and the kubelet, so Kubernetes
RBAC decides who may) carries the dashboard to localhost. Ray >= 2.52 clients read the token from
RAY_AUTH_MODE / RAY_AUTH_TOKEN; KubeRay 1.7 keeps it in Secret <cluster name>, key auth_token.
"""

from __future__ import annotations

import shlex

from manifests.raycluster import AUTH_TOKEN_KEY, DASHBOARD_PORT, auth_secret_name, head_service_name, worker_groups
from settings import Settings
from workloads import capacity

# The workload's runtime environment (what travels with a job: its code and env vars, no packages).
RUNTIME_ENV = "workloads/runtime_env.yaml"
LOCAL_DASHBOARD = f"http://localhost:{DASHBOARD_PORT}"


def dashboard_port_forward(namespace: str, cluster_name: str) -> str:
    """Leave running in its own terminal; the dashboard is then at http://localhost:8265."""
    return shlex.join(
        [
            "kubectl",
            "-n",
            namespace,
            "port-forward",
            f"svc/{head_service_name(cluster_name)}",
            f"{DASHBOARD_PORT}:{DASHBOARD_PORT}",
        ]
    )


def read_auth_token(namespace: str, cluster_name: str) -> str:
    """Prints the token (the dashboard asks for it in the browser)."""
    jsonpath = "jsonpath={.data." + AUTH_TOKEN_KEY + "}"
    return (
        shlex.join(["kubectl", "-n", namespace, "get", "secret", auth_secret_name(cluster_name), "-o", jsonpath])
        + " | base64 -d"
    )


def sweep_sizing(settings: Settings) -> capacity.Choice:
    """What each trial holds and how many run at once, from the RayCluster's worker groups at their
    maxima: a GPU share whenever a group has GPUs (the GPU pool starts at zero, and only trials that ask for
    a GPU make the autoscaler add a GPU node), and as many trials as the groups hold."""
    return capacity.choose(
        worker_groups(settings),
        cpus_per_trial=capacity.CPUS_PER_TRIAL,
        gpus_per_trial=None,
        max_concurrent=None,
        num_samples=None,
    )


def job_submit(namespace: str, cluster_name: str, data_dir: str, storage_path: str, sizing: capacity.Choice) -> str:
    """Submits the tuning sweep from the repository root, through the port-forward, sized by `sizing`."""
    submit = shlex.join(
        [
            "ray",
            "job",
            "submit",
            "--address",
            LOCAL_DASHBOARD,
            "--working-dir",
            ".",
            "--runtime-env",
            RUNTIME_ENV,
            "--",
            "python",
            "-m",
            "workloads.tune",
            "--data-dir",
            data_dir,
            "--storage-path",
            storage_path,
            "--cpus-per-trial",
            f"{sizing.cpus_per_trial:g}",
            "--gpus-per-trial",
            f"{sizing.gpus_per_trial:g}",
            "--max-concurrent",
            str(sizing.max_concurrent),
        ]
    )
    return f'RAY_AUTH_MODE=token RAY_AUTH_TOKEN="$({read_auth_token(namespace, cluster_name)})" {submit}'
