"""Namespaces, each with the Pod Security level its pods need and no more.

Pod Security admission (kubernetes.io/docs/concepts/security/pod-security-admission) rejects pods that
break the namespace's `enforce` level: `restricted` for the KubeRay operator (its chart already runs it
non-root, no capabilities, RuntimeDefault seccomp) and for Ray (KubeRay copies the Ray container's
securityContext to the init containers it injects and gives its autoscaler sidecar
autoscalerOptions.securityContext: ray-operator/controllers/ray/common/pod.go at v1.7.0; we set both),
`privileged` for the NVIDIA device plugin (it mounts the kubelet's device-plugin directory from the host).
"""

from __future__ import annotations

from typing import Literal

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"


def namespace(name: str, pod_security: PodSecurityLevel) -> dict:
    """A Namespace whose pods must meet one Pod Security level."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {POD_SECURITY_ENFORCE: pod_security},
        },
    }
