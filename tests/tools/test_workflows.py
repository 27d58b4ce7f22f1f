"""The GitHub workflows: valid against GitHub's schema (vendored in check-jsonschema, no network), and saying
what docs/pull-requests.md promises: tests and a plan on every PR, a policy-checked preview commented on the
PR, OIDC instead of cloud secrets, and a destroy that needs the stack's name typed twice."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from tools import pins
from tools.mocks import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def step_using(workflow: dict, job: str, action: str) -> dict:
    [step] = [s for s in steps(workflow, job) if s.get("uses", "").startswith(action + "@")]
    return step


def test_every_workflow_is_valid_against_githubs_schema():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {f.name for f in FILES} == {"preview.yml", "up.yml", "destroy.yml", "pulumi.yml"}


def test_every_action_is_pinned_to_a_major_version():
    for path in FILES:
        for use in re.findall(r"uses:\s*(\S+)", path.read_text()):
            assert use.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", use), f"{path.name}: {use}"


def test_pull_requests_run_the_tests_and_the_offline_plan_and_upload_the_plan():
    preview = load("preview.yml")
    assert "pull_request" in preview["on"]
    commands = "\n".join(s.get("run", "") for s in steps(preview, "test"))
    assert "make test" in commands and "python -m tools.plan" in commands and "apt-get install" in commands
    assert step_using(preview, "test", "actions/upload-artifact")["with"]["path"] == "plan/"


def test_a_new_push_cancels_the_previous_preview_of_the_same_pull_request():
    assert load("preview.yml")["concurrency"] == {
        "group": "preview-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }


def test_the_preview_job_previews_the_configured_stack_after_the_tests_with_only_the_rights_it_needs():
    job = load("preview.yml")["jobs"]["preview"]
    assert job["needs"] == "test"
    assert job["uses"] == "./.github/workflows/pulumi.yml"
    assert job["with"] == {"command": "preview", "stack": "${{ vars.PULUMI_STACK || 'dev' }}"}
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert "head.repo.full_name == github.repository" in job["if"]


def test_pulumi_runs_with_the_policy_pack_and_comments_once_per_pull_request():
    action = step_using(load("pulumi.yml"), "pulumi", "pulumi/actions")["with"]
    assert action["policyPacks"] == "${{ inputs.command != 'destroy' && format('{0}/policy', github.workspace) || '' }}"
    assert action["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    assert action["edit-pr-comment"] is True
    assert action["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert (PROJECT_DIR / "policy" / "PulumiPolicy.yaml").exists()


def test_the_pulumi_cli_matches_the_pinned_sdk():
    pinned = pins.pins("deploy")["pulumi"]
    assert step_using(load("pulumi.yml"), "pulumi", "pulumi/actions")["with"]["pulumi-version"] == pinned


def test_azure_is_reached_by_oidc_without_a_stored_secret():
    workflow = load("pulumi.yml")
    env = workflow["jobs"]["pulumi"]["env"]
    assert env["ARM_USE_OIDC"] == "true"
    client_id = "${{ inputs.command == 'preview' && vars.AZURE_PREVIEW_CLIENT_ID || vars.AZURE_CLIENT_ID }}"
    assert env["ARM_CLIENT_ID"] == env["AZURE_CLIENT_ID"] == client_id
    assert env["AAD_LOGIN_METHOD"] == "workloadidentity"
    login = step_using(workflow, "pulumi", "azure/login")["with"]
    assert set(login) == {"client-id", "tenant-id", "subscription-id"} and login["client-id"] == client_id
    assert "kubelogin-version" in step_using(workflow, "pulumi", "azure/use-kubelogin")["with"]
    text = (WORKFLOWS / "pulumi.yml").read_text()
    assert "AZURE_CLIENT_SECRET" not in text and "creds:" not in text


def test_the_program_and_the_pack_are_installed_where_pulumi_looks_for_them():
    # pulumi.yml installs the deploy group with the Makefile, into the virtualenv Pulumi.yaml and the pack name.
    install = "\n".join(s.get("run", "") for s in steps(load("pulumi.yml"), "pulumi"))
    assert "make deploy-venv" in install
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert re.search(r"^VENV := (\S+)$", makefile, re.MULTILINE)[1] == project["runtime"]["options"]["virtualenv"]
    assert re.search(
        r"^\$\(DEPLOY_READY\):.*\n\t\$\(PIP\) install -c constraints.txt --group deploy$", makefile, re.MULTILINE
    )


def test_pull_requests_are_linted_and_tested_with_the_readmes_command_and_torchs_cpu_build():
    run = [s.get("run", "") for s in steps(load("preview.yml"), "test")]
    assert "make venv TORCH_INDEX=https://download.pytorch.org/whl/cpu" in run
    assert run.index("make lint") < run.index("make test")


def test_up_and_destroy_are_started_by_hand_and_never_overlap_or_get_cancelled():
    for name, command in (("up.yml", "up"), ("destroy.yml", "destroy")):
        workflow = load(name)
        assert list(workflow["on"]) == ["workflow_dispatch"]
        assert workflow["concurrency"]["group"].startswith("pulumi-${{ inputs.stack")
        assert workflow["concurrency"]["cancel-in-progress"] is False
        job = workflow["jobs"][command]
        assert job["with"]["command"] == command
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_destroy_runs_only_after_the_confirmation_job():
    destroy = load("destroy.yml")
    assert destroy["on"]["workflow_dispatch"]["inputs"]["confirm"]["required"] is True
    assert destroy["jobs"]["destroy"]["needs"] == "confirm"
    assert list(destroy["jobs"]) == ["confirm", "destroy"]


@pytest.mark.parametrize(("typed", "passes"), [("dev", True), ("prod", False), ("", False), ("dev ", False)])
def test_the_confirmation_step_passes_only_when_the_typed_name_is_the_stack(typed, passes):
    [step] = steps(load("destroy.yml"), "confirm")
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        capture_output=True,
        text=True,
        env={"STACK": "dev", "CONFIRM": typed, "PATH": "/usr/bin:/bin"},
    )
    assert (result.returncode == 0) == passes
    if not passes:
        assert "nothing destroyed" in result.stdout


def test_destroy_leaves_the_protected_data_and_gets_past_an_unreachable_api_server():
    step = step_using(load("pulumi.yml"), "pulumi", "pulumi/actions")
    assert step["with"]["exclude-protected"] == "${{ inputs.command == 'destroy' }}"
    assert step["env"]["PULUMI_K8S_DELETE_UNREACHABLE"] == "${{ inputs.command == 'destroy' }}"


def test_up_builds_the_workload_images_into_the_registry_before_the_update():
    assert load("up.yml")["jobs"]["up"]["with"]["images"] is True
    pulumi = load("pulumi.yml")
    names = [s.get("name", s.get("uses", "")) for s in steps(pulumi, "pulumi")]
    build = next(i for i, s in enumerate(steps(pulumi, "pulumi")) if "python -m images targets" in s.get("run", ""))
    update = names.index(next(n for n in names if n.startswith("pulumi/actions@")))
    assert build < update
    script = steps(pulumi, "pulumi")[build]["run"]
    assert script.index("pulumi up") < script.index("python -m images build-command")
    assert steps(pulumi, "pulumi")[build]["if"] == "inputs.images"


def test_the_workflows_identity_is_granted_cluster_admin_as_a_service_principal():
    action = step_using(load("pulumi.yml"), "pulumi", "pulumi/actions")["with"]
    config = yaml.safe_load(action["config-map"])
    value = config["ray-aks:deployerPrincipalType"]["value"]
    assert value == "${{ vars.PULUMI_DEPLOYER_PRINCIPAL_TYPE || 'ServicePrincipal' }}"
    assert config["ray-aks:deployerPrincipalType"]["secret"] is False
    # The key and the default are ones the program accepts.
    from settings import Settings, parse

    assert "deployer_principal_type" in Settings.model_fields
    assert (
        parse(
            {
                "ray-aks:apiServerAuthorizedIpRanges": ["20.37.0.1/32"],
                "ray-aks:deployerPrincipalType": "ServicePrincipal",
            }
        ).deployer_principal_type
        == "ServicePrincipal"
    )


def test_the_preview_identity_is_told_to_hold_what_a_kubernetes_dry_run_needs():
    # Kubernetes authorizes a dry-run like the write itself; RBAC Writer covers neither cluster-scoped
    # objects nor custom resources (the CRDs, the RayCluster), so the preview would answer 403.
    text = (PROJECT_DIR / "docs" / "pull-requests.md").read_text()
    section = text[text.index("second, read-mostly application for previews") :]
    section = section[: section.index("**4.")]
    assert "Azure Kubernetes Service RBAC Cluster Admin" in section
    assert "RBAC Writer" not in section
    assert "Reader" in section and "dry-run" in section
