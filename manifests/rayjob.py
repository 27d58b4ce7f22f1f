"""The declarative sweep (setting sweepOnUp): a KubeRay 1.7 RayJob that runs `python -m workloads.tune`
on the stack's RayCluster, and what its final status means for `pulumi up`.

Field names and values are KubeRay 1.7.0's (ray-operator/apis/ray/v1/rayjob_types.go,
controllers/ray/rayjob_controller.go, utils/validation.go); tests validate the manifest against the
v1.7.0 CRD schema.

- clusterSelector `ray.io/cluster: <cluster>`: the job runs on the stack's cluster, whose workers the
  autoscaler brings up from zero; the RayJob makes no cluster of its own and deletes none.
- HTTPMode: the operator submits the job to the head's dashboard itself, with the cluster's auth token
  (utils.GetRayDashboardClientFunc reads Secret <cluster>, key auth_token, and sends it as a bearer
  token). No submitter pod exists, so the NetworkPolicies need nothing beyond the operator → dashboard
  rule they already have.
- backoffLimit 0: KubeRay refuses any other value with a clusterSelector ("BackoffLimit is incompatible
  with ClusterSelector mode"); a retry is a resubmission of the same --name, which Tune resumes.
- activeDeadlineSeconds (sweepDeadlineSeconds): past it KubeRay stops the job and marks the RayJob
  Failed / DeadlineExceeded.
- The name is a hash of what defines the sweep (entrypoint, images, deadline, cluster): a later `up`
  with the same settings finds the same RayJob and runs nothing; a change makes a new RayJob (Pulumi
  replaces it, KubeRay stops the old one's job on deletion).

Waiting: `pulumi.com/waitFor` only knows success conditions (pulumi-kubernetes
provider/pkg/metadata/overrides.go, ReadyCondition), so waiting for SUCCEEDED would turn every failure
into a timeout. Pulumi waits instead for any terminal jobDeploymentStatus (Complete, Failed, and
ValidationFailed, which KubeRay never leaves), and the program then reads the status and fails the
`up` with the job's own message (`outcome`).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from manifests.raycluster import HEAD_CONTAINER, HEAD_NODE_TYPE, NODE_TYPE_LABEL
from settings import Settings

API_VERSION = "ray.io/v1"
KIND = "RayJob"
SUBMISSION_MODE = "HTTPMode"
# utils.RayJobClusterSelectorKey: the selector's value is the RayCluster's name.
CLUSTER_SELECTOR_KEY = "ray.io/cluster"
BACKOFF_LIMIT = 0
NAME_PREFIX = "sweep-"
# utils.MaxRayJobNameLength (MaxRayClusterNameLength 53 - 6).
MAX_NAME_LENGTH = 47

# rayjob_types.go: JobDeploymentStatus values that end a RayJob's reconciliation.
TERMINAL_DEPLOYMENT_STATUSES = ("Complete", "Failed", "ValidationFailed")
SUCCEEDED = "SUCCEEDED"
COMPLETE = "Complete"
# One RFC 9535 filter over .status's members (pulumi-kubernetes >= 4.24): true once any member equals a
# terminal deployment status. Job statuses are upper case and reasons longer, so only
# jobDeploymentStatus can match.
WAIT_FOR = "jsonpath={.status[?" + " || ".join(f"@ == '{s}'" for s in TERMINAL_DEPLOYMENT_STATUSES) + "]}"
# Before the deadline hits, GPU nodes may take ~10 min to come up from zero; KubeRay's own deadline
# must fire before Pulumi gives up, so the user sees the job's message, not a timeout.
WAIT_MARGIN_SECONDS = 1800

RUNTIME_ENV_FILE = Path(__file__).resolve().parent.parent / "workloads" / "runtime_env.yaml"


class SweepFailed(Exception):
    """The declarative sweep ended without success; the message is the RayJob's."""


def entrypoint(settings: Settings) -> list[str]:
    return [
        "python",
        "-m",
        "workloads.tune",
        "--data-dir",
        settings.datasets_mount_path,
        "--storage-path",
        settings.results_mount_path,
        *settings.sweep_args,
    ]


def runtime_env(settings: Settings) -> dict:
    """What travels with the job: the environment variables of workloads/runtime_env.yaml. The code and
    packages are in the image, so no working_dir and no pip."""
    env = yaml.safe_load(RUNTIME_ENV_FILE.read_text()) or {}
    return {"env_vars": env.get("env_vars", {})}


def rayjob_name(settings: Settings) -> str:
    identity = json.dumps(
        {
            "entrypoint": entrypoint(settings),
            "runtime_env": runtime_env(settings),
            "deadline": settings.sweep_deadline_seconds,
            "cluster": settings.ray_cluster_name,
            "images": [settings.ray_image, settings.ray_gpu_image],
        },
        sort_keys=True,
    )
    name = NAME_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:10]
    assert len(name) <= MAX_NAME_LENGTH
    return name


def rayjob_manifest(settings: Settings) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": rayjob_name(settings),
            "namespace": settings.ray_namespace,
            "annotations": {
                "pulumi.com/waitFor": WAIT_FOR,
                "pulumi.com/timeoutSeconds": str(settings.sweep_deadline_seconds + WAIT_MARGIN_SECONDS),
            },
        },
        "spec": {
            "clusterSelector": {CLUSTER_SELECTOR_KEY: settings.ray_cluster_name},
            "submissionMode": SUBMISSION_MODE,
            "entrypoint": shlex.join(entrypoint(settings)),
            "runtimeEnvYAML": yaml.safe_dump(runtime_env(settings), sort_keys=True),
            "activeDeadlineSeconds": settings.sweep_deadline_seconds,
            "backoffLimit": BACKOFF_LIMIT,
            # The cluster is the stack's: never shut it down when the job ends.
            "shutdownAfterJobFinishes": False,
        },
    }


def outcome(name: str, namespace: str, status: dict[str, Any] | None) -> str:
    """`SUCCEEDED` for a sweep that finished well; raises SweepFailed with the job's message otherwise.

    None (no status recorded, as under mocks) is not a verdict and passes as "unknown"."""
    if not status:
        return "unknown"
    deployment, job = status.get("jobDeploymentStatus"), status.get("jobStatus")
    if deployment == COMPLETE and job == SUCCEEDED:
        return SUCCEEDED
    reason = status.get("reason") or "no reason given"
    message = status.get("message") or "no message"
    raise SweepFailed(
        f"RayJob {name} ended {deployment or 'without a deployment status'} "
        f"(job {job or 'never started'}, {reason}): {message}. Details: kubectl -n {namespace} describe "
        f"rayjob {name}; the driver's log: kubectl -n {namespace} logs -l "
        f"{NODE_TYPE_LABEL}={HEAD_NODE_TYPE} -c {HEAD_CONTAINER}, or the dashboard's Jobs tab. "
        "To run it again unchanged: pulumi up --replace <the RayJob's URN>"
    )
