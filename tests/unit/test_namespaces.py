"""Namespaces and the Ray service account: valid objects carrying the labels and annotations that matter."""

from __future__ import annotations

import kubernetes_validate
import pytest

import versions
from manifests import namespaces, workload_identity

K8S_VERSION = f"{versions.KUBERNETES_VERSION}.0"


@pytest.mark.parametrize("level", ["privileged", "baseline", "restricted"])
def test_a_namespace_enforces_its_pod_security_level(level):
    ns = namespaces.namespace("ray", level)
    kubernetes_validate.validate(ns, K8S_VERSION, strict=True)
    assert ns["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": level}


def test_the_service_account_names_the_managed_identity_for_the_webhook():
    sa = workload_identity.service_account("ray-workload", "ray", "client-uuid", "tenant-uuid")
    kubernetes_validate.validate(sa, K8S_VERSION, strict=True)
    assert sa["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": "client-uuid",
        "azure.workload.identity/tenant-id": "tenant-uuid",
    }


def test_pods_opt_in_to_workload_identity_with_the_string_true():
    assert workload_identity.pod_labels() == {"azure.workload.identity/use": "true"}
