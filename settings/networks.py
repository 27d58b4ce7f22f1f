"""The IPv4 ranges a stack's addresses are checked against, and the checks of one setting's range(s).

Checks take the value as it was written and return it, or raise ValueError with the reason; the
settings types (settings/types.py) attach them to fields.
"""

from __future__ import annotations

import ipaddress

# Addresses AKS keeps for itself: no pod, service, VNet or subnet range may overlap them
# (MicrosoftDocs/azure-aks-docs articles/aks/concepts-network-cni-overview.md, configure-kubenet.md).
AKS_RESERVED_RANGES = [
    ipaddress.IPv4Network(n) for n in ("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24")
]
# Ranges no machine running `pulumi` or kubectl can come from, as the API server sees it: documentation
# (RFC 5737), private (RFC 1918), shared (RFC 6598), loopback, link-local, "this network", benchmarking
# (RFC 2544), multicast and reserved. An allow-list of only these lets the cluster be created and then
# every Kubernetes call time out.
NOT_AN_INTERNET_SOURCE = {
    kind: [ipaddress.IPv4Network(n) for n in ranges]
    for kind, ranges in {
        "a documentation range (RFC 5737)": ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"),
        "a private range (RFC 1918)": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
        "a shared carrier-grade NAT range (RFC 6598)": ("100.64.0.0/10",),
        "a loopback, link-local or unspecified range": ("127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8"),
        "a benchmarking range (RFC 2544)": ("198.18.0.0/15",),
        "a multicast or reserved range": ("224.0.0.0/3",),
    }.items()
}
# AKS accepts at most 200 authorized IP ranges (articles/aks/api-server-authorized-ip-ranges.md).
MAX_AUTHORIZED_RANGES = 200
# A public address that passes every rule, for messages and offline runs; never one of yours.
EXAMPLE_PUBLIC_CIDR = "20.37.0.1/32"

# Ranges Azure storage IP rules refuse (learn.microsoft.com/azure/storage/common/storage-network-security).
NON_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16")
]


def network(value: str) -> ipaddress.IPv4Network:
    """An IPv4 CIDR with its host bits zero."""
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"{value!r} is not an IPv4 CIDR with its host bits zero ({err})") from None


def _address_or_network(cidr: str) -> ipaddress.IPv4Network:
    """Allow-lists take a single address without a prefix too."""
    return network(cidr if "/" in cidr else f"{cidr}/32")


def private_cidr(value: str) -> str:
    """A range of the VNet, node subnet, pods or services."""
    cidr = network(value)
    if not cidr.is_private:
        raise ValueError(f"{value!r} is not a private range (RFC 1918)")
    if cidr.prefixlen > 29:
        raise ValueError(f"{value!r} is too small (a /29 at most)")
    reserved = next((r for r in AKS_RESERVED_RANGES if cidr.overlaps(r)), None)
    if reserved is not None:
        raise ValueError(f"{value!r} overlaps {reserved}, which AKS reserves for itself")
    return value


def service_cidr(value: str) -> str:
    """A private range (private_cidr) that Kubernetes can hand service addresses from."""
    # Kubernetes' service range is limited to 20 host bits; AKS refuses a /12 or larger.
    if network(value).prefixlen <= 12:
        raise ValueError(f"{value!r} is too large for Kubernetes services (smaller than a /12, e.g. a /16)")
    return value


def ipv4_address(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address") from None
    return value


def authorized_ranges(value: list[str]) -> list[str]:
    """The API server's allow-list: required, at most what AKS takes, and only ranges a client can come from."""
    if not value:
        raise ValueError("[] leaves the API server without an allow-list; give the CIDRs that run pulumi and kubectl")
    if len(value) > MAX_AUTHORIZED_RANGES:
        raise ValueError(
            f"{len(value)} ranges are more than AKS accepts ({MAX_AUTHORIZED_RANGES}); merge them into wider CIDRs"
        )
    for cidr in value:
        source = _address_or_network(cidr)
        if source.prefixlen == 0:
            raise ValueError(f"{cidr!r} opens the API server to the whole internet")
        for kind, ranges in NOT_AN_INTERNET_SOURCE.items():
            if any(source.overlaps(r) for r in ranges):
                raise ValueError(
                    f"{cidr!r} is {kind}: no machine reaches the API server from there; "
                    "give the public IP that runs pulumi and kubectl (curl -s https://ifconfig.me)"
                )
    return value


def storage_ip_rules(value: list[str]) -> list[str]:
    """Storage firewall rules take public IPv4 addresses or ranges up to /30 (no /31, /32, no private)."""
    for cidr in value:
        source = _address_or_network(cidr)
        if "/" in cidr and source.prefixlen > 30:
            raise ValueError(f"{cidr!r}: write a single address without a prefix, or a range up to /30")
        if any(source.overlaps(private) for private in NON_PUBLIC):
            raise ValueError(f"{cidr!r} is not a public range; storage IP rules take public addresses only")
    return value
