"""Logs that outlive the pods (with `monitoring`): the log-forwarder sidecar of every Ray pod.

Container Insights collects container stdout and stderr, but Ray writes what trials print and log to files
under its temp dir (worker-*.out|.err; Ray docs ray-observability/user-guides/configure-logging.md, "Log
files in logging directory"). A native sidecar, following KubeRay's guide
(cluster/kubernetes/user-guides/persist-kuberay-custom-resource-logs.md: a log-processing sidecar sharing
/tmp/ray with the Ray container through a volume), copies those files' lines to its own stdout as JSON,
labelled with the file (manifests/log_forwarder.py, the script it runs).

Not RAY_LOG_TO_STDERR=1: in Ray 2.60 it makes the core worker write no log files at all
(ray/_private/node.py should_redirect_logs; worker.py connect passes an empty logs_dir), so the log monitor,
which reads worker*.out|err (log_monitor.py update_log_filenames), has nothing to stream to the driver:
trials' lines vanish from `ray job logs` (the driver's job-driver-<id>.log), the dashboard's log view and
`ray logs` find no files, and every Ray component's INFO logs (raylet, GCS, dashboard) go to the container
output and the Log Analytics bill. The sidecar changes nothing in Ray: files, dashboard, job logs and
log_to_driver stay as they are.
"""

from __future__ import annotations

from pathlib import Path

from manifests import log_forwarder
from manifests.containers import CONTAINER_SECURITY_CONTEXT, guaranteed
from settings import Settings
from workloads import defaults

# The volume has KubeRay's own name and path for the Ray log volume (common/pod.go RayLogVolumeName
# "ray-logs", RayLogVolumeMountPath "/tmp/ray"): on the head KubeRay then finds /tmp/ray mounted in the Ray
# container and mounts this same volume in its autoscaler sidecar (addEmptyDir: checkIfVolumeMounted, then
# checkIfVolumeExists), as it does with its own; another name would give the autoscaler a second, empty one.
LOG_VOLUME = "ray-logs"
RAY_TEMP_DIR = "/tmp/ray"
LOG_FORWARDER_CONTAINER = "ray-log-forwarder"
# Its offsets, kept across a restart of the sidecar (an emptyDir lives as long as the pod).
LOG_FORWARDER_STATE_VOLUME = "ray-log-forwarder-state"
LOG_FORWARDER_STATE_DIR = "/var/run/ray-log-forwarder"
LOG_FORWARDER_STATE_SIZE = "16Mi"
# Measured with Python 3.11: following 200 worker files while one gains 1,000 lines a second takes about
# 15 millicores and 13 MiB resident (2 millicores idle). The limit leaves room for bursts of ~7,000 lines a
# second; its reads are bounded (log_forwarder.BUDGET_BYTES a file a poll). Requests equal limits, like
# every other container here.
LOG_FORWARDER_CPU_M = 100
LOG_FORWARDER_MEMORY_MI = 64
LOG_FORWARDER_SOURCE = Path(log_forwarder.__file__).read_text(encoding="utf-8")


def log_forwarder_command(root: str = RAY_TEMP_DIR, state_dir: str = LOG_FORWARDER_STATE_DIR) -> list[str]:
    """The Ray image's Python (on PATH in rayproject/ray images) runs the forwarder's source: no new image.
    -I ignores PYTHON* variables and user site-packages, -u leaves nothing in a buffer."""
    return [
        "python",
        "-I",
        "-u",
        "-c",
        LOG_FORWARDER_SOURCE,
        "--root",
        root,
        "--state",
        f"{state_dir}/state.json",
        # The trial each line of a (reused) worker belongs to, from the line the trainable prints first.
        "--label-line",
        f"{defaults.TRIAL_LOG_MARKER}=trial",
    ]


def log_forwarder_container(image: str) -> dict:
    """The forwarder as a native sidecar (an init container with restartPolicy Always, Kubernetes >= 1.29):
    it starts before Ray, so it sees every file from its first byte; the kubelet restarts it if it dies,
    whatever the pod's restartPolicy (Never under autoscaler v2); it does not keep a pod whose Ray container
    has exited alive; and on deletion it is stopped only after the Ray container, so Ray's last lines are
    read (kubernetes.io/docs/concepts/workloads/pods/sidecar-containers). It reads /tmp/ray read-only."""
    return {
        "name": LOG_FORWARDER_CONTAINER,
        "image": image,  # the Ray container's, already pulled for it
        "restartPolicy": "Always",
        "command": log_forwarder_command(),
        "volumeMounts": [
            {"name": LOG_VOLUME, "mountPath": RAY_TEMP_DIR, "readOnly": True},
            {"name": LOG_FORWARDER_STATE_VOLUME, "mountPath": LOG_FORWARDER_STATE_DIR},
        ],
        "resources": guaranteed({"cpu": f"{LOG_FORWARDER_CPU_M}m", "memory": f"{LOG_FORWARDER_MEMORY_MI}Mi"}),
        "securityContext": {**CONTAINER_SECURITY_CONTEXT, "readOnlyRootFilesystem": True},
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def ray_log_mount() -> dict:
    """The Ray container's mount of its temp dir, which the sidecar reads."""
    return {"name": LOG_VOLUME, "mountPath": RAY_TEMP_DIR}


def log_volumes() -> list[dict]:
    return [
        {"name": LOG_VOLUME, "emptyDir": {}},
        {"name": LOG_FORWARDER_STATE_VOLUME, "emptyDir": {"sizeLimit": LOG_FORWARDER_STATE_SIZE}},
    ]


def sidecar_requests(settings: Settings) -> tuple[int, int]:
    """(millicores, MiB) every Ray pod asks for besides its Ray container: the log forwarder, with monitoring."""
    return (LOG_FORWARDER_CPU_M, LOG_FORWARDER_MEMORY_MI) if settings.monitoring else (0, 0)
