"""The virtual network and node subnet the cluster lives in."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network


@dataclass(frozen=True)
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    """Resource group of the network."""
    location: str
    """Azure region."""
    vnet_cidr: str
    """Address space of the virtual network."""
    node_subnet_cidr: str
    """Node subnet (Azure CNI overlay: pods take their addresses from the overlay, not from here)."""
    tags: dict[str, str]


class Network(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:network:Network", name, None, opts)
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [args.vnet_cidr]},
            tags=args.tags,
            # No `subnets` here and no ignore_changes: the subnet is its own resource below, and azure-native
            # keeps sub-resources a VNet was not given. `subnets` holds Subnet bodies, a standalone resource,
            # so it is generated as maintain-if-unset (provider/pkg/gen/properties.go genProperty): an update
            # reads the live subnets into the PUT (provider/pkg/provider/crud/crud.go
            # MaintainSubResourcePropertiesIfNotSet) and a refresh leaves them out of the inputs (provider.go
            # Read, resetUnsetSubResourceProperties). ignore_changes on it only hid changes made to the list.
            opts=pulumi.ResourceOptions(parent=self),
        )
        subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=args.resource_group_name,
            virtual_network_name=vnet.name,
            address_prefix=args.node_subnet_cidr,
            # The storage account admits this subnet only; the service endpoint is what makes that rule work.
            service_endpoints=[{"service": "Microsoft.Storage"}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.vnet_id = vnet.id
        self.subnet_id = subnet.id
        self.register_outputs({"vnet_id": self.vnet_id, "subnet_id": self.subnet_id})
