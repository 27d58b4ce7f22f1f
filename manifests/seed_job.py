"""The one-shot Job that fills the datasets container with the full MNIST, as part of `pulumi up`.

It runs the CPU workload image, whose build fetched the four MNIST files and checked their SHA-256
(workloads/mnist_source.py); the Job (workloads/seed.py) checks them again, packs them onto the datasets volume and exits.
Idempotent twice over: Pulumi creates the Job once (a second `up` with nothing changed leaves it alone),
and a Job that runs again (a new image, a replaced Job) finds valid packs of 60,000 / 10,000 digits and
writes nothing.

Pulumi waits for a batch/v1 Job until its `Complete` condition and fails at once on `Failed`
(pulumi-kubernetes provider/pkg/await, the Job awaiter; the Job class's docstring says the same).
"""

from __future__ import annotations

from manifests import pools, volumes, workload_identity
from manifests.containers import POD_SECURITY_CONTEXT, guaranteed
from settings import Settings

JOB_SUFFIX = "seed-mnist"
CONTAINER = "seed"
# A pull of the multi-GB image on a fresh CPU node, then ~55 MB written through BlobFuse.
ACTIVE_DEADLINE_SECONDS = 1800
BACKOFF_LIMIT = 2


def job_name(settings: Settings) -> str:
    return f"{settings.ray_cluster_name}-{JOB_SUFFIX}"


def command(settings: Settings) -> list[str]:
    return ["python", "-m", "workloads.seed", "--data-dir", settings.datasets_mount_path]


def seed_job(settings: Settings) -> dict:
    """The Job, in the Ray namespace, as the Ray service account (the datasets volume mounts with its
    workload identity token), on the CPU pool, meeting Pod Security `restricted`."""
    datasets = volumes.blob_volumes(settings)[0]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(settings),
            "namespace": settings.ray_namespace,
            # A Job that failed in an earlier `up` is replaced, not waited on again, by the next one.
            "annotations": {"pulumi.com/replaceUnready": "true"},
        },
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            # No ttlSecondsAfterFinished: a Job deleted by its TTL would be created again by the next `up`.
            "template": {
                "metadata": {"labels": {**workload_identity.pod_labels(), "app.kubernetes.io/name": JOB_SUFFIX}},
                "spec": {
                    "serviceAccountName": settings.ray_service_account,
                    "restartPolicy": "Never",
                    "nodeSelector": pools.cpu_node_selector(),
                    # As the Ray image's user (uid 1000, gid 100); BlobFuse mounts with allow_other.
                    "securityContext": POD_SECURITY_CONTEXT,
                    "containers": [
                        {
                            "name": CONTAINER,
                            "image": settings.ray_image,
                            "command": command(settings),
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                            "resources": guaranteed({"cpu": "1", "memory": "2Gi"}),
                            "volumeMounts": [{"name": datasets.claim_name, "mountPath": datasets.mount_path}],
                        }
                    ],
                    "volumes": [
                        {"name": datasets.claim_name, "persistentVolumeClaim": {"claimName": datasets.claim_name}}
                    ],
                },
            },
        },
    }
