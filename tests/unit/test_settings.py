"""The settings model: same defaults as Pulumi.yaml, and one clear message for every bad value."""

from __future__ import annotations

import json
import typing
from datetime import date

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

import settings
from manifests import vm_sizes
from settings import EXAMPLE_PUBLIC_CIDR, Settings, SettingsError, parse
from tools.mocks import PROJECT_DIR

VALID = {"ray-aks:apiServerAuthorizedIpRanges": json.dumps([EXAMPLE_PUBLIC_CIDR])}
PULUMI_TYPES = {int: "integer", bool: "boolean", str: "string"}


def pulumi_yaml_config() -> dict:
    return yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]


def test_every_setting_is_declared_in_pulumi_yaml_with_the_same_type_default_and_a_description():
    declared = pulumi_yaml_config()
    for name, field in Settings.model_fields.items():
        spec = declared.pop(f"ray-aks:{to_camel(name)}")
        annotation = field.annotation
        if typing.get_origin(annotation) is list:
            assert spec["type"] == "array" and spec["items"] == {"type": "string"}, name
        elif typing.get_origin(annotation) is typing.Literal:
            assert spec["type"] == "string", name
            for choice in typing.get_args(annotation):
                assert choice in spec["description"], f"{name}: {choice} not documented"
        else:
            assert spec["type"] == PULUMI_TYPES[annotation], name
        assert spec["default"] == field.default, name
        assert len(spec["description"]) > 15, name
    assert declared == {}, f"declared in Pulumi.yaml but not in Settings: {sorted(declared)}"


def test_pulumi_yaml_defaults_alone_pass_except_for_the_api_server_allow_list():
    defaults = {key: value for key, spec in pulumi_yaml_config().items() for value in [spec["default"]]}
    with pytest.raises(SettingsError, match="apiServerAuthorizedIpRanges"):
        parse(defaults)
    assert parse({**defaults, "ray-aks:apiServerAuthorizedIpRanges": ["20.37.0.0/24"]}).gpu_min_count == 0


def test_the_dev_stack_ships_no_allow_list_and_asks_for_the_users_own_ip():
    # A placeholder that passes would let the cluster be created and every Kubernetes call time out.
    stack = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"]
    assert "ray-aks:apiServerAuthorizedIpRanges" not in stack
    with pytest.raises(SettingsError, match=r"ray-aks:apiServerAuthorizedIpRanges = \[\] .*without an allow-list"):
        parse(stack)
    loaded = parse({**stack, **VALID})
    assert loaded.gpu_spot is True and loaded.gpu_vm_size == "Standard_NC8as_T4_v3"


def test_values_arrive_as_text_like_the_pulumi_cli_sends_them():
    loaded = parse(
        {**VALID, "ray-aks:gpuMaxCount": "4", "ray-aks:gpuSpot": "true", "ray-aks:availabilityZones": '["1","2"]'}
    )
    assert (loaded.gpu_max_count, loaded.gpu_spot, loaded.availability_zones) == (4, True, ["1", "2"])


def test_keys_of_other_namespaces_are_left_to_their_providers():
    assert parse({**VALID, "azure-native:location": "eastus2", "kubernetes:context": "x"}).location == "eastus2"


def test_settings_are_frozen():
    with pytest.raises(ValidationError):
        parse(VALID).gpu_max_count = 9


BAD = [
    # (key, bad value, words the message must contain)
    ("gpuMaxCount", "-1", "greater than or equal to 1"),
    ("cpuMinCount", "0", "greater than or equal to 1"),
    ("gpuMinCount", "-2", "greater than or equal to 0"),
    ("cpuMaxCount", "2.5", "valid integer"),
    ("systemNodeCount", "two", "valid integer"),
    ("gpuMinCount", "3", "greater than gpuMaxCount"),
    ("cpuMinCount", "5", "greater than cpuMaxCount"),
    ("gpuVmSize", "Standard_D8ds_v5", "has no GPU"),
    ("gpuVmSize", "Standard_E16s_v5", "has no GPU"),
    ("cpuVmSize", "D8ds_v5", "not an Azure VM size"),
    ("gpusPerNode", "2", "has 1"),
    ("rayImage", "rayproject/ray:2.50.0-py311", "disagrees with Ray"),
    ("rayGpuImage", "rayproject/ray:latest-gpu", "disagrees with Ray"),
    ("rayImage", "rayproject/ray", "has no tag"),
    ("storageAccountName", "Ray_Data", "3-24 characters"),
    ("storageAccountName", "ab", "3-24 characters"),
    ("storageAccountName", "a" * 25, "3-24 characters"),
    ("vnetCidr", "10.10.0.0/33", "not an IPv4 CIDR"),
    ("vnetCidr", "10.10.0.1/16", "host bits"),
    ("vnetCidr", "8.8.0.0/16", "not a private range"),
    ("nodeSubnetCidr", "10.20.0.0/22", "not inside vnetCidr"),
    ("podCidr", "10.10.128.0/17", "overlaps vnetCidr"),
    ("serviceCidr", "192.168.0.0/20", "overlaps podCidr"),
    ("dnsServiceIp", "10.0.0.10", "not a usable address of serviceCidr"),
    ("dnsServiceIp", "172.16.0.1", "not a usable address of serviceCidr"),
    ("networkPolicy", "weave", "'cilium', 'calico' or 'azure'"),
    ("kubeloginMode", "devicecode", "'azurecli'"),
    ("upgradeChannel", "latest", "'patch'"),
    ("storageSku", "Premium_GRS", "'Premium_LRS'"),
    ("apiServerAuthorizedIpRanges", "[]", "without an allow-list"),
    ("apiServerAuthorizedIpRanges", '["0.0.0.0/0"]', "whole internet"),
    ("apiServerAuthorizedIpRanges", "20.37.0.1/32", "not a JSON array"),
    ("apiServerAuthorizedIpRanges", '["203.0.113.7/32"]', "documentation range (RFC 5737)"),
    ("apiServerAuthorizedIpRanges", '["198.51.100.0/24"]', "documentation range (RFC 5737)"),
    ("apiServerAuthorizedIpRanges", '["20.37.0.1/32","192.0.2.10"]', "documentation range (RFC 5737)"),
    ("apiServerAuthorizedIpRanges", '["10.1.2.3/32"]', "private range (RFC 1918)"),
    ("apiServerAuthorizedIpRanges", '["192.168.1.0/24"]', "private range (RFC 1918)"),
    ("apiServerAuthorizedIpRanges", '["100.64.0.1"]', "carrier-grade NAT"),
    ("apiServerAuthorizedIpRanges", '["127.0.0.1"]', "loopback"),
    ("podCidr", "172.30.0.0/16", "AKS reserves"),
    ("serviceCidr", "172.31.0.0/16", "AKS reserves"),
    ("podCidr", "192.0.2.0/24", "AKS reserves"),
    ("vnetCidr", "169.254.0.0/16", "AKS reserves"),
    ("nodeSubnetCidr", "172.30.1.0/24", "AKS reserves"),
    ("serviceCidr", "10.0.0.0/12", "too large for Kubernetes services"),
    ("systemVmSize", "Standard_D2ds_v5", "AKS system pools need at least 4"),
    ("systemVmSize", "Standard_B4ms", "B-series"),
    ("gpuVmSize", "Standard_NC6s_v3", "retired on 2025-09-30"),
    ("gpuVmSize", "Standard_NC24s_v3", "retired on 2025-09-30"),
    ("gpuVmSize", "Standard_NV16as_v4", "AMD GPU"),
    ("deployerPrincipalType", "None", "without any admin"),
    ("deployerPrincipalType", "Application", "'User'"),
    ("clusterSkuTier", "Basic", "'Free'"),
    ("maintenanceDay", "Sun", "'Monday'"),
    ("maintenanceStartHour", "24", "less than or equal to 23"),
    ("maintenanceDurationHours", "2", "greater than or equal to 4"),
    ("storageAllowedIpRanges", '["10.1.0.0/16"]', "not a public range"),
    ("storageAllowedIpRanges", '["203.0.113.7/32"]', "up to /30"),
    ("availabilityZones", '["1","4"]', "zones are distinct"),
    ("adminGroupObjectIds", '["admins"]', "not an object id"),
    ("softDeleteDays", "0", "greater than or equal to 1"),
    ("softDeleteDays", "400", "less than or equal to 365"),
    ("rayNamespace", "Ray_NS", "DNS-1123"),
    ("rayClusterName", "1-ray", "DNS-1035"),
    ("rayClusterName", "r" * 54, "at most 53"),
    ("location", "East US", "not an Azure region"),
    ("kubernetesVersion", "latest", "not a Kubernetes version"),
    ("resultsMountPath", "/mnt/datasets/results", "overlaps datasetsMountPath"),
    ("datasetsMountPath", "relative/path", "absolute path"),
    ("gpuWorkerCpus", "24", "does not fit on Standard_NC24ads_A100_v4"),
    ("autoscalerIdleTimeoutSeconds", "5", "greater than or equal to 30"),
    ("extraTags", '["no-equals-sign"]', "key=value"),
]


@pytest.mark.parametrize(("key", "value", "words"), BAD, ids=[f"{k}={v}" for k, v, _ in BAD])
def test_a_bad_value_is_refused_naming_the_key_the_value_and_a_valid_example(key, value, words):
    with pytest.raises(SettingsError) as caught:
        parse({**VALID, f"ray-aks:{key}": value})
    message = str(caught.value)
    line = next(line for line in message.splitlines() if f"ray-aks:{key} = " in line)
    assert words in line
    assert value.strip('"') in line or value in line
    example = settings.example(next(n for n in Settings.model_fields if to_camel(n) == key))
    if isinstance(example, list):  # arrays are set element by element (tests/unit/test_settings_examples.py)
        assert f"pulumi config set --path 'ray-aks:{key}[0]' '{example[0]}'" in line
        return
    assert f"pulumi config set ray-aks:{key}" in line
    # The example it gives is itself valid.
    shown = example if isinstance(example, str) else __import__("json").dumps(example)
    assert shown in line


def test_a_misspelt_key_is_refused_with_the_setting_it_probably_meant():
    with pytest.raises(SettingsError, match=r"ray-aks:gpuMaxcount = \"3\" is not a setting .* ray-aks:gpuMaxCount"):
        parse({**VALID, "ray-aks:gpuMaxcount": "3"})


def test_an_unknown_key_without_a_close_match_points_to_pulumi_yaml():
    with pytest.raises(SettingsError, match=r"see Pulumi\.yaml"):
        parse({**VALID, "ray-aks:enableTurbo": "true"})


def test_every_bad_key_is_reported_in_one_message():
    with pytest.raises(SettingsError) as caught:
        parse({**VALID, "ray-aks:gpuMaxCount": "-1", "ray-aks:storageAccountName": "X", "ray-aks:typo": "1"})
    assert str(caught.value).count("\n  ") == 3


def test_every_example_in_the_model_is_itself_a_valid_value():
    for name in Settings.model_fields:
        example = settings.example(name)
        key = f"ray-aks:{to_camel(name)}"
        overrides = {key: example}
        if name == "gpu_vm_size":  # a 4-vCPU, 28 GiB T4 size needs a smaller GPU worker than the default
            overrides["ray-aks:gpuWorkerCpus"] = 3
            overrides["ray-aks:gpuWorkerMemoryGi"] = 16
        parse({**VALID, **overrides})


@pytest.mark.parametrize(
    ("size", "gpu"),
    [
        ("Standard_NC24ads_A100_v4", True),
        ("Standard_NC4as_T4_v3", True),
        ("Standard_ND96isr_H100_v5", True),
        ("Standard_NV36ads_A10_v5", True),
        ("Standard_NC6s_v3", True),
        ("Standard_NCC40ads_H100_v5", True),
        ("Standard_D8ds_v5", False),
        ("Standard_E64-32s_v5", False),
        ("Standard_B2ms", False),
        ("Standard_HB120rs_v3", False),
        ("Standard_L8s_v3", False),
    ],
)
def test_gpu_families_are_recognised_from_the_vm_size_name(size, gpu):
    assert vm_sizes.is_gpu_vm_size(size) is gpu


@given(st.integers(min_value=1, max_value=100), st.integers(min_value=0, max_value=100))
def test_gpu_min_above_max_is_always_refused(high, low):
    config = {**VALID, "ray-aks:gpuMaxCount": str(high), "ray-aks:gpuMinCount": str(low)}
    if low > high:
        with pytest.raises(SettingsError, match="greater than gpuMaxCount"):
            parse(config)
    else:
        assert parse(config).gpu_min_count == low


def test_premium_skus_make_a_block_blob_account_and_standard_skus_a_general_purpose_one():
    assert parse(VALID).storage_kind == "BlockBlobStorage"
    assert parse({**VALID, "ray-aks:storageSku": "Standard_ZRS"}).storage_kind == "StorageV2"


def test_tags_always_carry_project_stack_and_manager_plus_extra_tags():
    tags = parse({**VALID, "ray-aks:extraTags": '["owner=ml", "cost-center=42"]'}).tags("prod")
    assert tags == {"project": "ray-aks", "stack": "prod", "managed-by": "pulumi", "owner": "ml", "cost-center": "42"}


def test_upgrade_channel_node_image_requires_the_node_image_os_channel():
    with pytest.raises(SettingsError) as caught:
        parse({**VALID, "ray-aks:upgradeChannel": "node-image", "ray-aks:nodeOsUpgradeChannel": "SecurityPatch"})
    line = next(line for line in str(caught.value).splitlines() if "ray-aks:nodeOsUpgradeChannel = " in line)
    assert '"SecurityPatch"' in line and "requires NodeImage" in line
    assert "pulumi config set ray-aks:nodeOsUpgradeChannel" in line
    assert parse({**VALID, "ray-aks:upgradeChannel": "node-image", "ray-aks:nodeOsUpgradeChannel": "NodeImage"})


def test_public_allow_lists_take_up_to_200_ranges_as_aks_does():
    ranges = [f"20.{i // 250}.{i % 250}.0/24" for i in range(201)]
    assert (
        len(
            parse(
                {**VALID, "ray-aks:apiServerAuthorizedIpRanges": json.dumps(ranges[:200])}
            ).api_server_authorized_ip_ranges
        )
        == 200
    )
    with pytest.raises(SettingsError) as caught:
        parse({**VALID, "ray-aks:apiServerAuthorizedIpRanges": json.dumps(ranges)})
    line = str(caught.value).splitlines()[1]
    assert line.startswith("  ray-aks:apiServerAuthorizedIpRanges = [")
    assert "201 ranges are more than AKS accepts (200)" in line
    assert "pulumi config set --path 'ray-aks:apiServerAuthorizedIpRanges[0]'" in line


def test_a_single_system_node_is_accepted_with_a_warning_and_two_are_the_default():
    assert Settings.model_fields["system_node_count"].default == 2
    assert settings.advisories(parse(VALID), date(2026, 12, 2)) == []
    [warning] = settings.advisories(parse({**VALID, "ray-aks:systemNodeCount": "1"}), date(2026, 12, 2))
    assert "ray-aks:systemNodeCount = 1" in warning and "at least 2" in warning


def test_the_dev_stack_asks_for_its_single_system_node_explicitly():
    stack = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())["config"]
    assert stack["ray-aks:systemNodeCount"] == 1
