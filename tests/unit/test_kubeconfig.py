"""The kubeconfig rewrite: what `kubelogin convert-kubeconfig -l <mode>` would produce."""

import copy

import pytest
import yaml

from manifests.kubeconfig import kubelogin_kubeconfig
from tools.mocks import USER_KUBECONFIG

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


def converted(mode: str, source: dict = USER_KUBECONFIG) -> dict:
    return yaml.safe_load(kubelogin_kubeconfig(yaml.safe_dump(source), mode))


def exec_of(config: dict) -> dict:
    return config["users"][0]["user"]["exec"]


@pytest.mark.parametrize("mode", ["azurecli", "workloadidentity", "msi"])
def test_modes_that_take_identity_from_the_environment_keep_only_the_server_id(mode):
    assert exec_of(converted(mode))["args"] == ["get-token", "--login", mode, "--server-id", SERVER_ID]


def test_service_principal_login_keeps_client_tenant_and_environment():
    args = exec_of(converted("spn"))["args"]
    assert args[:5] == ["get-token", "--login", "spn", "--server-id", SERVER_ID]
    assert args[5:] == [
        "--client-id",
        "80faf920-1908-4b52-b5ef-a8e7bedfc67a",
        "--tenant-id",
        "11111111-1111-1111-1111-111111111111",
        "--environment",
        "AzurePublicCloud",
    ]


def test_the_interactive_device_code_login_is_gone():
    assert "devicecode" not in kubelogin_kubeconfig(yaml.safe_dump(USER_KUBECONFIG), "azurecli")


def test_clusters_and_contexts_are_kept_as_they_were():
    out = converted("azurecli")
    assert out["clusters"] == USER_KUBECONFIG["clusters"] and out["contexts"] == USER_KUBECONFIG["contexts"]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown kubelogin mode 'devicecode'"):
        converted("devicecode")


def test_a_kubeconfig_without_kubelogin_is_refused_rather_than_passed_through():
    static = copy.deepcopy(USER_KUBECONFIG)
    static["users"][0]["user"] = {"token": "abc"}
    with pytest.raises(ValueError, match="no kubelogin exec user"):
        converted("azurecli", static)


def test_a_kubelogin_user_without_server_id_is_refused():
    broken = copy.deepcopy(USER_KUBECONFIG)
    broken["users"][0]["user"]["exec"]["args"] = ["get-token", "--login", "devicecode"]
    with pytest.raises(ValueError, match="--server-id"):
        converted("azurecli", broken)
