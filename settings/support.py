"""What AKS's support calendar (versions.AKS_END_OF_LIFE) says of a Kubernetes version on a date, and the
warnings a valid configuration still deserves."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

import versions
from settings.constants import PROJECT

if TYPE_CHECKING:
    from settings.model import Settings


def _minor_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def kubernetes_support(version: str, today: date) -> tuple[Literal["error", "warning"], str] | None:
    """What AKS's support calendar (versions.AKS_END_OF_LIFE) says of `version` on `today`: an error for a
    version past its end of life or older than the calendar, a warning for one close to it or newer than
    the calendar; None when it is supported."""
    minor = ".".join(version.split(".")[:2])
    calendar = versions.AKS_END_OF_LIFE
    source = f"AKS support calendar, read {versions.AKS_CALENDAR_READ}: {versions.AKS_CALENDAR_SOURCE}"
    supported = sorted((v for v, end in calendar.items() if end >= today), key=_minor_key)
    use = f"use {supported[-1]}" if supported else "re-read the calendar and move versions.KUBERNETES_VERSION"
    end = calendar.get(minor)
    if end is None:
        if _minor_key(minor) < min(map(_minor_key, calendar)):
            return "error", f"is older than every version AKS supports; {use} ({source})"
        return "warning", (
            f"Kubernetes {version} is newer than the AKS support calendar kept in versions.py; "
            f"check that AKS offers it in your region ({source})"
        )
    if today > end:
        return "error", (f"reached end of life on {end}: AKS creates no clusters or node pools on it; {use} ({source})")
    if (end - today).days <= versions.AKS_EOL_WARNING_DAYS:
        return "warning", (
            f"Kubernetes {version} reaches end of life on {end}, in {(end - today).days} days: "
            f"plan the upgrade ({use}; {source})"
        )
    return None


def advisories(settings: Settings, today: date) -> list[str]:
    """Warnings for a valid configuration: a Kubernetes version close to its end of life, a single system node."""
    found = []
    support = kubernetes_support(settings.kubernetes_version, today)
    if support and support[0] == "warning":
        found.append(support[1])
    if settings.system_node_count == 1:
        found.append(
            f"{PROJECT}:systemNodeCount = 1: a single system node has no redundancy (AKS wants at least 2 "
            "for production: articles/aks/use-system-pools.md); CoreDNS and the add-ons stop with it"
        )
    return found
