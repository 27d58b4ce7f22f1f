"""The RayCluster's autoscaler: Ray's autoscaler v2 in tree, and the time it gives a cold worker to start."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from manifests import autoscaler
from manifests.raycluster import raycluster_manifest
from tests.unit.ray_pods import pods, settings_of


@given(st.integers(30, 86400))
def test_the_autoscaler_is_v2_in_tree_with_the_configured_idle_timeout(seconds):
    spec = raycluster_manifest(settings_of(autoscalerIdleTimeoutSeconds=seconds))["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["version"] == "v2"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == seconds


def test_autoscaler_v2_is_left_to_kuberay_to_switch_on():
    # KubeRay 1.7 rejects RAY_enable_autoscaler_v2 beside autoscalerOptions.version, and any restartPolicy
    # but Never; it sets both itself (validation.go, pod.go).
    for template in pods(raycluster_manifest(settings_of())).values():
        env = template["spec"]["containers"][0].get("env", [])
        assert all(variable["name"] != "RAY_enable_autoscaler_v2" for variable in env)
        assert template["spec"].get("restartPolicy", "Never") == "Never"


def test_the_autoscaler_waits_the_cold_start_budget_before_giving_up_on_a_new_worker():
    env = {e["name"]: e["value"] for e in raycluster_manifest(settings_of())["spec"]["autoscalerOptions"]["env"]}
    timeout = int(env["RAY_AUTOSCALER_RECONCILE_ALLOCATE_STATUS_TIMEOUT_S"])
    assert timeout == autoscaler.COLD_START_BUDGET_SECONDS == sum(autoscaler.COLD_START_SECONDS.values())
    # A Spot GPU node, a multi-GB image and the pod's set-up: well past the 300 s of older Ray releases.
    assert timeout >= 1800
