"""The stack's container registry: keyless, nothing anonymous, the cluster's kubelet allowed to pull.

The workload images get here by `az acr import` (the Ray bases) and `az acr build` (the workload images),
the commands the `imageBuildCommand` output prints (manifests/registry.py, docs/workload.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerregistry

from manifests import azure, names, registry
from settings import Settings


@dataclass(frozen=True)
class RegistryArgs:
    settings: Settings
    """Registry name (empty: derived), SKU, location, the workload images."""
    resource_group_name: pulumi.Input[str]
    """The cluster's resource group: the registry goes with the stack."""
    kubelet_object_id: pulumi.Input[str]
    """Object id of the AKS kubelet identity, the identity nodes pull images with."""
    subscription_id: pulumi.Input[str]
    """For the default name (names are global) and the role definition id."""
    tags: dict[str, str]


class Registry(pulumi.ComponentResource):
    name: pulumi.Output[str]
    login_server: pulumi.Output[str]
    """`<name>.azurecr.io`: what every image reference starts with."""
    build_command: pulumi.Output[str]
    """Import the Ray bases and build both workload images on ACR (run from the repository root)."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:registry:Registry", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # Named, never autonamed: the logical name's hyphen would make an invalid ACR name.
        registry_name = (
            pulumi.Output.from_input(s.registry_name)
            if s.registry_name
            else pulumi.Output.from_input(args.subscription_id).apply(
                lambda sub: names.registry_name(pulumi.get_project(), pulumi.get_stack(), sub)
            )
        )
        acr = containerregistry.Registry(
            f"{name}-acr",
            registry_name=registry_name,
            resource_group_name=args.resource_group_name,
            location=s.location,
            sku={"name": s.registry_sku},
            # No keys and nobody anonymous: pulls authenticate with Entra ID (the kubelet identity), builds
            # with the caller's Azure login (ACR Tasks).
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=args.tags,
            opts=child,
        )
        authorization.RoleAssignment(
            f"{name}-kubelet-pull",
            principal_id=args.kubelet_object_id,
            principal_type="ServicePrincipal",
            role_definition_id=pulumi.Output.from_input(args.subscription_id).apply(
                lambda sub: azure.role_definition_id(sub, registry.ACR_PULL)
            ),
            scope=acr.id,
            opts=child,
        )
        self.name = acr.name
        self.login_server = acr.login_server
        self.build_command = pulumi.Output.all(acr.name, acr.login_server).apply(
            lambda values: registry.build_command(values[0], values[1], s.ray_image, s.ray_gpu_image)
        )
        self.register_outputs(
            {"name": self.name, "login_server": self.login_server, "build_command": self.build_command}
        )
