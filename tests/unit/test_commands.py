"""The commands the stack exports: they parse as shell, reach the right objects, and run the workload's CLI."""

from __future__ import annotations

import shlex

from hypothesis import given
from hypothesis import strategies as st

from manifests import commands
from tools.mocks import PROJECT_DIR
from workloads import defaults, tune

labels = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@given(labels, labels)
def test_the_dashboard_command_forwards_the_head_services_dashboard_port(namespace, cluster):
    assert shlex.split(commands.dashboard_port_forward(namespace, cluster)) == [
        "kubectl", "-n", namespace, "port-forward", f"svc/{cluster}-head-svc", "8265:8265"]


@given(labels, labels)
def test_the_token_command_decodes_the_auth_token_key_of_the_secret_named_after_the_cluster(namespace, cluster):
    kubectl, pipe, decode = commands.read_auth_token(namespace, cluster).partition(" | ")
    assert shlex.split(kubectl) == ["kubectl", "-n", namespace, "get", "secret", cluster,
                                    "-o", "jsonpath={.data.auth_token}"]
    assert (pipe, decode) == (" | ", "base64 -d")


def test_the_submit_command_authenticates_through_the_port_forward_and_runs_the_sweep_on_the_mounts():
    command = commands.job_submit("ray", "ray-tune", defaults.DATASETS_MOUNT, defaults.RESULTS_MOUNT)
    words = shlex.split(command)
    assert words[0] == "RAY_AUTH_MODE=token"
    assert words[1] == f"RAY_AUTH_TOKEN=$({commands.read_auth_token('ray', 'ray-tune')})"
    submit = words[2:words.index("--")]
    assert submit[:3] == ["ray", "job", "submit"]
    assert submit[submit.index("--address") + 1] == "http://localhost:8265"
    assert submit[submit.index("--working-dir") + 1] == "."
    assert submit[submit.index("--runtime-env") + 1] == commands.RUNTIME_ENV
    entrypoint = words[words.index("--") + 1:]
    assert entrypoint[:3] == ["python", "-m", "workloads.tune"]
    parsed = tune.build_parser().parse_args(entrypoint[3:])
    assert (str(parsed.data_dir), str(parsed.storage_path)) == (defaults.DATASETS_MOUNT, defaults.RESULTS_MOUNT)


def test_the_runtime_env_the_submit_command_names_is_in_the_repository():
    assert (PROJECT_DIR / commands.RUNTIME_ENV).is_file()
