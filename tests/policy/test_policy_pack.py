"""The pack as the Pulumi CLI runs it: `python -m pulumi.policy <engine> policy/` serves pulumi-policy's gRPC
analyzer on a port it prints; the CLI then asks for the pack's info, configures it and sends every resource.
This drives that same server with the same messages, without the CLI or a cloud."""

from __future__ import annotations

import re
import subprocess
import sys

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policy import policies
from pulumi_internals import UNKNOWN_NUMBER_VALUE
from tests.policy.test_policy_rules import GPU_POOL as RULES_GPU_POOL
from tools import pins
from tools.mocks import PROJECT_DIR

PACK = PROJECT_DIR / "policy"
GPU_POOL_URN = "urn:pulumi:dev::ray-aks::azure-native:containerservice:AgentPool::cluster-gpu"


@pytest.fixture(scope="module")
def analyzer():
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PROJECT_DIR / "tests",
    )
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not start: {port!r} {server.stderr.read() if server.poll() else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def analyze(analyzer, props: dict) -> list[proto.AnalyzeDiagnostic]:
    request = proto.AnalyzeRequest(
        type=policies.AGENT_POOL,
        properties=struct(props),
        urn=GPU_POOL_URN,
        name="cluster-gpu",
        options=proto.AnalyzerResourceOptions(),
    )
    return list(analyzer.Analyze(request).diagnostics)


GPU_POOL = {**RULES_GPU_POOL, "tags": {"project": "ray-aks", "stack": "dev", "managed-by": "pulumi"}}


def test_the_pack_describes_itself_with_every_policy_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "ray-aks-baseline"
    assert [p.name for p in info.policies] == [p.name for p in policies.POLICIES]
    assert {p.enforcementLevel for p in info.policies} == {proto.MANDATORY}
    gpu = next(p for p in info.policies if p.name == "gpu-pool-autoscales-from-zero")
    assert gpu.configSchema.properties["maxNodes"]["default"] == 8
    stack = next(p for p in info.policies if p.name == policies.BLOB_ROLE_POLICY_NAME)
    assert stack.policy_type == proto.POLICY_TYPE_STACK


def test_a_compliant_gpu_pool_gets_no_diagnostic(analyzer):
    assert analyze(analyzer, GPU_POOL) == []


def test_a_gpu_pool_over_the_bound_is_a_mandatory_violation_naming_the_policy(analyzer):
    [diagnostic] = analyze(analyzer, {**GPU_POOL, "maxCount": 9})
    assert diagnostic.policyName == "gpu-pool-autoscales-from-zero"
    assert diagnostic.enforcementLevel == proto.MANDATORY
    assert "maxCount is 9; at most 8 GPU nodes" in diagnostic.message


def test_an_unknown_value_at_preview_is_neither_a_violation_nor_an_error(analyzer):
    assert analyze(analyzer, {**GPU_POOL, "maxCount": UNKNOWN_NUMBER_VALUE}) == []


def test_policy_config_from_the_cli_raises_the_bound(analyzer):
    config = proto.PolicyConfig(enforcementLevel=proto.MANDATORY, properties=struct({"maxNodes": 16}))
    analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={"gpu-pool-autoscales-from-zero": config}))
    try:
        assert analyze(analyzer, {**GPU_POOL, "maxCount": 9}) == []
    finally:
        analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig={}))


def test_the_stack_policy_runs_over_the_stack(analyzer, dev):
    resources = [
        proto.AnalyzerResource(
            type=r.type,
            properties=struct(r.outputs),
            urn=r.urn,
            name=r.name,
            parent=r.parent,
            dependencies=r.dependencies,
            propertyDependencies={
                k: proto.AnalyzerPropertyDependencies(urns=v) for k, v in r.property_dependencies.items()
            },
        )
        for r in dev.resources.values()
    ]
    assert list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources)).diagnostics) == []
    without_results_role = [r for r in resources if not r.urn.endswith("::identity-results-data")]
    [diagnostic] = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=without_results_role)).diagnostics
    assert diagnostic.policyName == policies.BLOB_ROLE_POLICY_NAME
    assert diagnostic.urn.endswith("::ray-results-pv")


# --- The pack's files ----------------------------------------------------------------------------------


def test_the_pack_runs_in_the_projects_virtualenv_with_its_deploy_pins():
    # One virtualenv, one set of pins: pulumi-policy is in pyproject.toml's deploy group beside pulumi.
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    options = project["runtime"]["options"]
    program = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert project["runtime"]["name"] == "python" and options["toolchain"] == "pip"
    assert (PACK / options["virtualenv"]).resolve() == (PROJECT_DIR / program["virtualenv"]).resolve()
    assert {"pulumi", "pulumi-policy"} <= set(pins.pins("deploy"))
    assert not (PACK / "requirements.txt").exists()
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])


def test_every_policy_names_the_rule_it_mirrors_or_says_it_has_none():
    for policy in policies.POLICIES:
        assert re.search(
            r"Mirrors (CKV2?_[A-Z0-9_]+|Azure Policy)|Related to|Extends|no external id", policy.description
        ), policy.name


def test_the_pack_serves_the_monitoring_rule_as_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    served = {p.name: p for p in info.policies}
    assert served["aks-monitoring-on"].enforcementLevel == proto.MANDATORY
    assert served["aks-monitoring-on"].configSchema.properties["allowMonitoringOff"]["default"] is False
