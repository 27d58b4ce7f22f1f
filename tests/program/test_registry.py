"""The registry, the seed Job and the declarative sweep in the whole program under Pulumi's mocks: no keys,
the kubelet allowed to pull, every Ray container's image from the stack's registry, the order of things,
and a failed sweep failing the run with the job's message."""

from __future__ import annotations

import re

import pytest

from manifests import rayjob, registry
from tools.mocks import AzureMocks, run_program, stack_config

ACR = "azure-native:containerregistry:Registry"
AKS = "azure-native:containerservice:ManagedCluster"
ROLE = "azure-native:authorization:RoleAssignment"
RAYCLUSTER = "kubernetes:ray.io/v1:RayCluster"
RAYJOB = "kubernetes:ray.io/v1:RayJob"
JOB = "kubernetes:batch/v1:Job"


@pytest.fixture(scope="module")
def with_sweep():
    return run_program(stack_config("dev", {"sweepOnUp": True}))


def login_server(rec) -> str:
    return rec.one(ACR).outputs["loginServer"]


def test_the_registry_has_no_admin_user_and_no_anonymous_pull(dev):
    acr = dev.one(ACR)
    assert acr.inputs["adminUserEnabled"] is False
    assert acr.inputs["anonymousPullEnabled"] is False
    assert re.fullmatch(r"[a-z0-9]{5,50}", acr.inputs["registryName"])


def test_the_kubelet_identity_and_nothing_else_may_pull_from_the_registry(dev):
    acr = dev.one(ACR)
    kubelet = dev.one(AKS).outputs["identityProfile"]["kubeletidentity"]["objectId"]
    on_registry = [r for r in dev.of_type(ROLE) if r.inputs["scope"] == acr.id]
    assert [(r.inputs["principalId"], r.inputs["principalType"]) for r in on_registry] == [
        (kubelet, "ServicePrincipal")
    ]
    assert on_registry[0].inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{registry.ACR_PULL}")


def test_every_ray_container_image_comes_from_the_stacks_registry(with_sweep):
    server = login_server(with_sweep)
    images = registry.container_images(with_sweep.one(RAYCLUSTER).inputs["spec"])
    images += registry.container_images(with_sweep.one(JOB).inputs["spec"])
    # head, CPU workers, GPU workers (each with its mount-check init container and log forwarder), seed job
    assert len(images) == 10
    assert all(image.startswith(f"{server}/") for image in images), images
    # The RayJob starts no pod of its own (HTTPMode, clusterSelector): it names no image to pull.
    assert registry.container_images(with_sweep.one(RAYJOB).inputs["spec"]) == []
    assert "docker.io" not in " ".join(images)


def test_the_build_command_builds_into_the_registry_the_pods_pull_from(dev):
    acr = dev.one(ACR)
    command = dev.stack_outputs["imageBuildCommand"]
    assert f"--registry {acr.inputs['registryName']} " in command
    spec = dev.one(RAYCLUSTER).inputs["spec"]
    for image in registry.container_images(spec):
        repository_tag = image.removeprefix(f"{login_server(dev)}/")
        assert f"--image {repository_tag} " in command


def test_ray_pods_wait_for_the_pull_role(dev):
    cluster = dev.one(RAYCLUSTER)
    role = next(r for r in dev.of_type(ROLE) if r.inputs["scope"] == dev.one(ACR).id)
    assert role.urn in cluster.dependencies


def test_the_seed_job_comes_after_the_volumes_and_the_pull_role_and_up_waits_for_it(dev):
    job = dev.one(JOB)
    deps = set(job.dependencies)  # a component dependency is recorded as its children
    claims = {r.urn for r in dev.of_type("kubernetes:core/v1:PersistentVolumeClaim")}
    role = next(r for r in dev.of_type(ROLE) if r.inputs["scope"] == dev.one(ACR).id)
    assert claims <= deps and role.urn in deps
    assert job.options["customTimeouts"]["create"]
    assert "pulumi.com/skipAwait" not in job.inputs["metadata"].get("annotations", {})


def test_the_sweep_is_off_by_default(dev):
    assert dev.of_type(RAYJOB) == []
    assert "sweepResult" not in dev.stack_outputs


def test_the_sweep_runs_after_the_seed_and_the_cluster(with_sweep):
    job = with_sweep.one(RAYJOB)
    assert {with_sweep.one(JOB).urn, with_sweep.one(RAYCLUSTER).urn} <= set(job.dependencies)
    assert job.inputs["spec"]["clusterSelector"] == {
        "ray.io/cluster": with_sweep.one(RAYCLUSTER).inputs["metadata"]["name"]
    }
    assert with_sweep.stack_outputs["sweepRayJob"] == job.inputs["metadata"]["name"]


class _EndedSweep(AzureMocks):
    """What the provider returns once Pulumi's wait on the RayJob ended: KubeRay's final status."""

    def __init__(self, status: dict) -> None:
        super().__init__()
        self.status = status

    def new_resource(self, args):
        resource_id, outputs = super().new_resource(args)
        if args.typ == RAYJOB:
            outputs["status"] = self.status
        return resource_id, outputs


def test_a_succeeded_sweep_lets_up_finish_and_says_so():
    rec = run_program(
        stack_config("dev", {"sweepOnUp": True}),
        mocks=_EndedSweep({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}),
    )
    assert rec.stack_outputs["sweepResult"] == "SUCCEEDED"


def test_a_failed_sweep_fails_up_with_the_jobs_message():
    status = {
        "jobDeploymentStatus": "Failed",
        "jobStatus": "FAILED",
        "reason": "AppFailed",
        "message": "Job entrypoint command failed with exit code 1",
    }
    with pytest.raises(rayjob.SweepFailed, match="exit code 1"):
        run_program(stack_config("dev", {"sweepOnUp": True}), mocks=_EndedSweep(status))


# --- python -m images: what the `up` workflow runs before the update -----------------------------------


def test_the_targeted_update_creates_the_registry_and_only_what_it_needs(dev):
    from images.__main__ import registry_targets

    targets = registry_targets(dev)
    types = sorted(urn.split("::")[2].rsplit("$", 1)[-1] for urn in targets)
    assert types == ["azure-native:containerregistry:Registry", "azure-native:resources:ResourceGroup"]
    assert all(urn.startswith("urn:pulumi:dev::ray-aks::") and "pulumi:pulumi:Stack" not in urn for urn in targets)


def test_the_build_command_comes_from_the_registry_in_the_stacks_state(dev):
    from images.__main__ import build_command_from_state
    from settings import parse

    acr = dev.one(ACR)
    state = {
        "deployment": {
            "resources": [
                {"type": "azure-native:resources:ResourceGroup", "outputs": {"name": "rg"}},
                {"type": ACR, "outputs": {"name": acr.outputs["name"], "loginServer": acr.outputs["loginServer"]}},
            ]
        }
    }
    assert build_command_from_state(state, parse(stack_config("dev"))) == dev.stack_outputs["imageBuildCommand"]
    with pytest.raises(SystemExit, match="targeted"):
        build_command_from_state({"deployment": {"resources": []}}, parse(stack_config("dev")))
