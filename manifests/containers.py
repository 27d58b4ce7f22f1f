"""What every container of the Ray pods (and the seed Job) shares: Pod Security `restricted` and Guaranteed QoS.

Pod Security `restricted` (kubernetes.io/docs/concepts/security/pod-security-standards). The Ray images run
as user `ray`, uid 1000, gid 100. KubeRay copies the Ray container's securityContext to the init containers
it injects (common/pod.go: wait-gcs-ready) and gives the autoscaler sidecar autoscalerOptions.securityContext.
"""

from __future__ import annotations

RAY_UID, RAY_GID = 1000, 100
POD_SECURITY_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": RAY_UID,
    "runAsGroup": RAY_GID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def guaranteed(quantities: dict[str, str]) -> dict:
    """Requests equal to limits: Guaranteed QoS, and Ray sizes its node from the limits."""
    return {"requests": dict(quantities), "limits": dict(quantities)}
