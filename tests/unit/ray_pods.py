"""What the tests of the Ray pods' builders share: settings from Pulumi config keys, and a RayCluster's pods."""

from __future__ import annotations

from manifests import log_sidecar
from settings import EXAMPLE_PUBLIC_CIDR, Settings, parse
from tests.schemas import crd

VALID = {"ray-aks:apiServerAuthorizedIpRanges": [EXAMPLE_PUBLIC_CIDR]}


def settings_of(**config: object) -> Settings:
    return parse({**VALID, **{f"ray-aks:{key}": value for key, value in config.items()}})


def validator():
    return crd.validator("raycluster")


def schema_errors(manifest: dict) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator().iter_errors(manifest)]


def pods(manifest: dict) -> dict[str, dict]:
    spec = manifest["spec"]
    return {
        "head": spec["headGroupSpec"]["template"],
        **{group["groupName"]: group["template"] for group in spec["workerGroupSpecs"]},
    }


def forwarder(template: dict) -> dict | None:
    """The log forwarder among a pod template's init containers, if it runs one."""
    found = [c for c in template["spec"]["initContainers"] if c["name"] == log_sidecar.LOG_FORWARDER_CONTAINER]
    assert len(found) <= 1
    return found[0] if found else None
