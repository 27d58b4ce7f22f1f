"""manifests/registry.py and the registry settings: names ACR accepts, image references in the stack's
registry and nowhere else."""

from __future__ import annotations

import pytest

from manifests import registry
from settings import SettingsError, parse

VALID = {"ray-aks:apiServerAuthorizedIpRanges": '["20.37.0.1/32"]'}
LOGIN = "rayaksdev1234abcd.azurecr.io"


@pytest.mark.parametrize(("value", "why"), [("ab", "5-50"), ("ray-aks-registry", "letters and digits")])
def test_a_bad_registry_name_is_refused_before_any_resource(value, why):
    with pytest.raises(SettingsError, match=f"registryName.*{why}"):
        parse({**VALID, "ray-aks:registryName": value})


@pytest.mark.parametrize(
    "image",
    [
        "docker.io/rayproject/ray:2.60.0-py311",
        "myacr.azurecr.io/ray-aks/workload:2.60.0-py311",
        "localhost:5000/workload:2.60.0-py311",
    ],
)
def test_an_image_setting_naming_a_registry_is_refused(image):
    with pytest.raises(SettingsError, match="names a registry"):
        parse({**VALID, "ray-aks:rayImage": image})


def pod(image: str) -> dict:
    return {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "c", "image": image}],
                    "initContainers": [{"name": "i", "image": image}],
                }
            }
        }
    }


def test_every_container_and_init_container_is_put_in_the_stacks_registry():
    qualified = registry.in_registry(pod("ray-aks/workload:2.60.0-py311"), LOGIN)
    assert registry.container_images(qualified) == [f"{LOGIN}/ray-aks/workload:2.60.0-py311"] * 2


def test_the_original_manifest_is_left_as_it_was():
    manifest = pod("ray-aks/workload:2.60.0-py311")
    registry.in_registry(manifest, LOGIN)
    assert registry.container_images(manifest) == ["ray-aks/workload:2.60.0-py311"] * 2


@pytest.mark.parametrize("image", ["docker.io/rayproject/ray:2.60.0", "other.azurecr.io/x:1"])
def test_an_image_from_another_registry_is_refused(image):
    with pytest.raises(ValueError, match="not in the stack's registry"):
        registry.in_registry(pod(image), LOGIN)


def test_an_image_already_in_the_stacks_registry_is_kept():
    image = f"{LOGIN}/ray-aks/workload:2.60.0-py311"
    assert registry.container_images(registry.in_registry(pod(image), LOGIN)) == [image] * 2
