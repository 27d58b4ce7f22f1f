"""The valid example in a settings error is a command the Pulumi CLI accepts for that setting's type."""

from __future__ import annotations

import shlex

import pytest
import yaml

from settings import SettingsError, parse
from tools.mocks import PROJECT_DIR

DECLARED = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]


def message_for(key: str, raw: str) -> str:
    config = {"ray-aks:apiServerAuthorizedIpRanges": '["203.0.113.7/32"]', f"ray-aks:{key}": raw}
    with pytest.raises(SettingsError) as caught:
        parse(config)
    [line] = [line for line in str(caught.value).splitlines() if line.strip().startswith(f"ray-aks:{key} ")]
    return line


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("apiServerAuthorizedIpRanges", '["0.0.0.0/0"]'),
        ("storageAllowedIpRanges", '["10.0.0.0/8"]'),
        ("availabilityZones", '["9"]'),
    ],
)
def test_a_list_setting_is_set_one_element_at_a_time_with_path(key, raw):
    # `pulumi config set key '[...]'` stores a string, which the CLI then refuses against `type: array`.
    assert DECLARED[f"ray-aks:{key}"]["type"] == "array"
    command = message_for(key, raw).split("Valid example: ", 1)[1]
    words = shlex.split(command)
    assert words[:4] == ["pulumi", "config", "set", "--path"]
    assert words[4] == f"ray-aks:{key}[0]" and len(words) == 6 and not words[5].startswith("[")


def test_a_scalar_setting_keeps_the_plain_example():
    command = message_for("gpuVmSize", "Standard_D8ds_v5").split("Valid example: ", 1)[1]
    assert shlex.split(command) == ["pulumi", "config", "set", "ray-aks:gpuVmSize", "Standard_NC4as_T4_v3"]
