"""The stack's container registry: its name, the image references every pod uses, and the commands that
fill it (import the Ray bases, build the workload images) without Docker on the user's machine.

Why import and not an artifact cache rule: ACR's artifact cache supports Docker Hub for authenticated pulls
only; a Docker Hub rule needs a credential set (a Docker Hub user and token kept in Key Vault)
(MicrosoftDocs/azure-docs articles/container-registry/artifact-cache-overview.md, "Upstream support").
`az acr import` copies a public image once, registry to registry, with no secret to keep; the build then
starts FROM the registry's own copy, and every node pulls from the registry only.
"""

from __future__ import annotations

import copy
import shlex
from typing import Any

import versions

# Built-in role id (learn.microsoft.com/azure/role-based-access-control/built-in-roles#acrpull).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"

# Docker Hub as `az acr import --source` spells it.
DOCKER_HUB = "docker.io"
DOCKERFILE = "images/Dockerfile"
# Paths relative to the repository root, which is the build context (images/Dockerfile COPYs from it).
BUILD_CONTEXT = "."


def has_registry_host(image: str) -> bool:
    """Whether an image reference names its registry (Docker's rule: a first path part with '.' or ':',
    or 'localhost')."""
    first, slash, _ = image.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def image_ref(login_server: str, repository_tag: str) -> str:
    """`<login server>/<repository>:<tag>`: an image in the stack's registry."""
    if has_registry_host(repository_tag):
        raise ValueError(f"{repository_tag!r} already names a registry; give repository:tag")
    return f"{login_server}/{repository_tag}"


def in_registry(manifest: dict, login_server: str) -> dict:
    """A copy of `manifest` whose every container image is pulled from the stack's registry.

    Builders write images as repository:tag (settings.ray_image); this puts the registry in front. An
    image that names any other registry is refused, so nothing is pulled from Docker Hub by mistake.
    """
    result = copy.deepcopy(manifest)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for container in node.get(key) or []:
                    image = container.get("image")
                    if image is None:
                        continue
                    if has_registry_host(image):
                        if not image.startswith(f"{login_server}/"):
                            raise ValueError(
                                f"container {container.get('name')!r}: {image!r} is not in the "
                                f"stack's registry {login_server}"
                            )
                    else:
                        container["image"] = image_ref(login_server, image)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


def container_images(manifest: Any) -> list[str]:
    """Every container image a manifest names (pod templates at any depth)."""
    found: list[str] = []
    if isinstance(manifest, dict):
        for key in ("containers", "initContainers"):
            found += [c["image"] for c in manifest.get(key) or [] if "image" in c]
        for value in manifest.values():
            found += container_images(value)
    elif isinstance(manifest, list):
        for value in manifest:
            found += container_images(value)
    return found


# (workload image setting, upstream base image, torch wheel index) for the CPU and the GPU image.
def image_builds(cpu_image: str, gpu_image: str) -> list[tuple[str, str, str]]:
    return [
        (cpu_image, versions.RAY_IMAGE, versions.TORCH_CPU_INDEX),
        (gpu_image, versions.RAY_GPU_IMAGE, versions.TORCH_GPU_INDEX),
    ]


def build_commands(registry: str, login_server: str, cpu_image: str, gpu_image: str) -> list[str]:
    """`az acr import` of each Ray base, then `az acr build` of each workload image on ACR's own builders
    (ACR Tasks: no Docker on the machine that runs it). Run from the repository root."""
    imports, builds = [], []
    for image, base, torch_index in image_builds(cpu_image, gpu_image):
        imports.append(
            shlex.join(
                [
                    "az",
                    "acr",
                    "import",
                    "--name",
                    registry,
                    "--source",
                    f"{DOCKER_HUB}/{base}",
                    "--image",
                    base,
                    "--force",
                ]
            )
        )
        builds.append(
            shlex.join(
                [
                    "az",
                    "acr",
                    "build",
                    "--registry",
                    registry,
                    "--image",
                    image,
                    "--file",
                    DOCKERFILE,
                    "--build-arg",
                    f"BASE_IMAGE={image_ref(login_server, base)}",
                    "--build-arg",
                    f"TORCH_INDEX={torch_index}",
                    BUILD_CONTEXT,
                ]
            )
        )
    return imports + builds


def build_command(registry: str, login_server: str, cpu_image: str, gpu_image: str) -> str:
    """The build as one shell command (the `imageBuildCommand` output)."""
    return " && ".join(build_commands(registry, login_server, cpu_image, gpu_image))
