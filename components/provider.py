"""The one Kubernetes provider, and why it leaves `deleteUnreachable` to the environment of a destroy.

pulumi-kubernetes 4.34 (provider/pkg/provider/provider.go): with `deleteUnreachable` on and the API server
unreachable, Delete *and Read* drop the resource from the Pulumi state. On a `pulumi destroy` that is what
unsticks a stack whose cluster is gone or whose allow-list no longer admits the caller: every Kubernetes
object lives inside the cluster that is deleted next. On `pulumi up --refresh` (what the workflows run) it
would silently forget every Kubernetes resource whenever the API server is out of reach, and the next `up`
would try to create them all again. So the provider never carries the flag: Configure falls back to the
`PULUMI_K8S_DELETE_UNREACHABLE` variable of the process that runs the operation when the flag is absent (and
ignores the variable when the flag is set, even to false), so `PULUMI_K8S_DELETE_UNREACHABLE=true pulumi
destroy` works, while the Python SDK would otherwise copy the same variable into the provider's inputs
whenever a `pulumi up` happens to run with it set, making it stick for every later refresh.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"


def kubernetes_provider(name: str, kubeconfig: pulumi.Input[str], cluster_id: pulumi.Input[str]) -> k8s.Provider:
    """The provider, logged in with `kubeconfig`; `cluster_id` (the AKS resource id) identifies the cluster,
    so a changed kubeconfig updates the provider instead of replacing every Kubernetes resource."""
    saved = os.environ.pop(DELETE_UNREACHABLE_ENV, None)
    try:
        return k8s.Provider(name, kubeconfig=kubeconfig, cluster_identifier=cluster_id)
    finally:
        if saved is not None:
            os.environ[DELETE_UNREACHABLE_ENV] = saved
