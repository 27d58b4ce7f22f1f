"""The declarative sweep's RayJob (manifests/rayjob.py): valid for KubeRay 1.7, on the stack's cluster,
named by its settings, and its end read as success or a failure with the job's message."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from manifests import rayjob
from settings import parse
from tests.schemas import crd
from workloads import cli

VALID = {"ray-aks:apiServerAuthorizedIpRanges": '["20.37.0.1/32"]', "ray-aks:sweepOnUp": "true"}


def settings_of(**config):
    return parse(
        {**VALID, **{f"ray-aks:{k}": (json.dumps(v) if isinstance(v, list) else v) for k, v in config.items()}}
    )


def validator():
    return crd.validator("rayjob")


def test_the_rayjob_matches_the_kuberay_1_7_crd_schema_with_no_unknown_field():
    manifest = rayjob.rayjob_manifest(settings_of())
    assert [e.message for e in validator().iter_errors(manifest)] == []


def test_the_rayjob_runs_on_the_stacks_cluster_through_the_operator_with_no_submitter_pod():
    s = settings_of()
    spec = rayjob.rayjob_manifest(s)["spec"]
    assert spec["clusterSelector"] == {"ray.io/cluster": s.ray_cluster_name}
    assert spec["submissionMode"] == "HTTPMode"
    assert "rayClusterSpec" not in spec and "submitterPodTemplate" not in spec
    assert spec["shutdownAfterJobFinishes"] is False


def test_kuberay_rules_for_a_cluster_selector_hold():
    # utils/validation.go ValidateRayJobSpec: no backoffLimit > 0 with a clusterSelector, a positive deadline,
    # a DNS-1035 name of at most 47 characters.
    manifest = rayjob.rayjob_manifest(settings_of(sweepDeadlineSeconds=3600))
    assert manifest["spec"]["backoffLimit"] == 0
    assert manifest["spec"]["activeDeadlineSeconds"] == 3600
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", manifest["metadata"]["name"])
    assert len(manifest["metadata"]["name"]) <= 47


def test_the_entrypoint_is_the_tuning_cli_on_the_mounts_with_the_settings_flags():
    s = settings_of(sweepArgs=["--name", "a100", "--num-samples", "32"])
    words = shlex.split(rayjob.rayjob_manifest(s)["spec"]["entrypoint"])
    assert words[:3] == ["python", "-m", "workloads.tune"]
    parsed = cli.build_parser().parse_args(words[3:])
    assert (str(parsed.data_dir), str(parsed.storage_path)) == (s.datasets_mount_path, s.results_mount_path)
    assert (parsed.name, parsed.num_samples) == ("a100", 32)


def test_the_job_brings_no_packages_and_no_code_upload():
    runtime_env = yaml.safe_load(rayjob.rayjob_manifest(settings_of())["spec"]["runtimeEnvYAML"])
    assert set(runtime_env) == {"env_vars"}


def test_the_same_settings_name_the_same_rayjob_so_a_later_up_runs_nothing():
    assert rayjob.rayjob_name(settings_of()) == rayjob.rayjob_name(settings_of())
    assert rayjob.rayjob_name(settings_of(gpuMaxCount=4)) == rayjob.rayjob_name(settings_of())


@pytest.mark.parametrize(
    "change",
    [
        {"sweepArgs": ["--name", "mnist-sweep", "--num-samples", "8"]},
        {"sweepDeadlineSeconds": 7200},
        {"rayImage": "ray-aks/workload:2.60.0-py311-b"},
        {"rayClusterName": "other"},
    ],
)
def test_a_changed_sweep_setting_names_a_new_rayjob(change):
    assert rayjob.rayjob_name(settings_of(**change)) != rayjob.rayjob_name(settings_of())


def test_pulumi_waits_for_every_terminal_status_and_past_kuberays_own_deadline():
    s = settings_of()
    annotations = rayjob.rayjob_manifest(s)["metadata"]["annotations"]
    assert annotations["pulumi.com/waitFor"] == rayjob.WAIT_FOR
    for status in ("Complete", "Failed", "ValidationFailed"):
        assert f"@ == '{status}'" in rayjob.WAIT_FOR
    assert int(annotations["pulumi.com/timeoutSeconds"]) > s.sweep_deadline_seconds


def test_a_succeeded_sweep_is_success():
    assert (
        rayjob.outcome("sweep-1", "ray", {"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}) == "SUCCEEDED"
    )


@pytest.mark.parametrize(
    "status",
    [
        {
            "jobDeploymentStatus": "Failed",
            "jobStatus": "FAILED",
            "reason": "AppFailed",
            "message": "Job entrypoint command failed with exit code 1",
        },
        {
            "jobDeploymentStatus": "Failed",
            "jobStatus": "RUNNING",
            "reason": "DeadlineExceeded",
            "message": "The RayJob has passed the activeDeadlineSeconds.",
        },
        {"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED", "message": "Job was intentionally stopped."},
        {"jobDeploymentStatus": "ValidationFailed", "reason": "ValidationFailed", "message": "invalid spec"},
    ],
)
def test_any_other_end_fails_with_the_jobs_message(status):
    with pytest.raises(rayjob.SweepFailed) as failure:
        rayjob.outcome("sweep-1", "ray", status)
    assert status["message"] in str(failure.value) and "sweep-1" in str(failure.value)
    assert "kubectl -n ray describe rayjob sweep-1" in str(failure.value)


@given(st.sampled_from(["--data-dir", "--storage-path", "--local"]))
def test_flags_the_stack_sets_are_refused_in_the_settings(flag):
    with pytest.raises(Exception, match="set by the stack"):
        settings_of(sweepArgs=["--name", "x", flag] + ([] if flag == "--local" else ["/x"]))


def test_flags_the_cli_refuses_are_refused_in_the_settings_before_any_resource():
    with pytest.raises(Exception, match=r"sweepArgs.*num-samples"):
        settings_of(sweepArgs=["--name", "x", "--num-samples", "0"])
    with pytest.raises(Exception, match="no --name"):
        settings_of(sweepArgs=["--num-samples", "4"])
