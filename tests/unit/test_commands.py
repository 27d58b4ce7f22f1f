"""The commands the stack exports: they parse as shell, reach the right objects, and run the workload's CLI."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

import settings
from manifests import commands
from tools.mocks import PROJECT_DIR, stack_config
from workloads import capacity, cli, defaults

DEV = settings.parse(stack_config("dev"))

labels = st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@given(labels, labels)
def test_the_dashboard_command_forwards_the_head_services_dashboard_port(namespace, cluster):
    assert shlex.split(commands.dashboard_port_forward(namespace, cluster)) == [
        "kubectl",
        "-n",
        namespace,
        "port-forward",
        f"svc/{cluster}-head-svc",
        "8265:8265",
    ]


@given(labels, labels)
def test_the_token_command_decodes_the_auth_token_key_of_the_secret_named_after_the_cluster(namespace, cluster):
    kubectl, pipe, decode = commands.read_auth_token(namespace, cluster).partition(" | ")
    assert shlex.split(kubectl) == [
        "kubectl",
        "-n",
        namespace,
        "get",
        "secret",
        cluster,
        "-o",
        "jsonpath={.data.auth_token}",
    ]
    assert (pipe, decode) == (" | ", "base64 -d")


def test_the_submit_command_authenticates_through_the_port_forward_and_runs_the_sweep_on_the_mounts():
    command = commands.job_submit(
        "ray", "ray-tune", defaults.DATASETS_MOUNT, defaults.RESULTS_MOUNT, commands.sweep_sizing(DEV)
    )
    words = shlex.split(command)
    assert words[0] == "RAY_AUTH_MODE=token"
    assert words[1] == f"RAY_AUTH_TOKEN=$({commands.read_auth_token('ray', 'ray-tune')})"
    submit = words[2 : words.index("--")]
    assert submit[:3] == ["ray", "job", "submit"]
    assert submit[submit.index("--address") + 1] == "http://localhost:8265"
    assert submit[submit.index("--working-dir") + 1] == "."
    assert submit[submit.index("--runtime-env") + 1] == commands.RUNTIME_ENV
    entrypoint = words[words.index("--") + 1 :]
    assert entrypoint[:3] == ["python", "-m", "workloads.tune"]
    parsed = cli.build_parser().parse_args(entrypoint[3:])
    assert (str(parsed.data_dir), str(parsed.storage_path)) == (defaults.DATASETS_MOUNT, defaults.RESULTS_MOUNT)


def test_the_runtime_env_the_submit_command_names_is_in_the_repository():
    assert (PROJECT_DIR / commands.RUNTIME_ENV).is_file()


def entrypoint_args(stack: settings.Settings):
    words = shlex.split(
        commands.job_submit(
            stack.ray_namespace,
            stack.ray_cluster_name,
            defaults.DATASETS_MOUNT,
            defaults.RESULTS_MOUNT,
            commands.sweep_sizing(stack),
        )
    )
    return cli.build_parser().parse_args(words[words.index("--") + 4 :])


def test_the_printed_job_asks_every_trial_for_a_gpu_share_though_the_gpu_pool_starts_at_zero():
    # A fresh cluster shows no GPU (a 0-CPU head, no workers): without the flag the job would ask for none
    # and the GPU pool would never scale up.
    assert entrypoint_args(DEV).gpus_per_trial == capacity.GPUS_PER_TRIAL > 0


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({}, 8),  # dev: 2 T4 nodes x (1 GPU / 0.25), 6 CPUs each
        ({"gpuMaxCount": 5}, 20),
        ({"gpuVmSize": "Standard_NC64as_T4_v3", "gpusPerNode": 4, "gpuWorkerCpus": 8, "gpuMaxCount": 1}, 8),
    ],
)
def test_the_printed_job_runs_as_many_trials_at_once_as_the_gpu_groups_maxima_hold(overrides, expected):
    stack = settings.parse(stack_config("dev", overrides))
    assert entrypoint_args(stack).max_concurrent == expected
