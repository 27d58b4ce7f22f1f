"""The observability rule: AKS clusters send metrics to managed Prometheus and logs to Container Insights
with managed-identity auth, unless the pack's config turns the rule off on purpose.

A stack that sets `ray-aks:monitoring false` must also say so to the pack (`--policy-pack-config` with
{"aks-monitoring-on": {"allowMonitoringOff": true}}): the choice is made twice, once where it is reviewed.
"""

from __future__ import annotations

from collections.abc import Mapping

from policy.values import is_unknown, lookup, require, show

OPT_OUT = "allowMonitoringOff"


def aks_monitoring_on(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    if config.get(OPT_OUT):
        return []
    errors = require(
        props,
        "azureMonitorProfile.metrics.enabled",
        [True],
        "set azureMonitorProfile.metrics.enabled true (managed Prometheus)",
    )
    omsagent = lookup(props, "addonProfiles.omsagent", {})
    if is_unknown(omsagent):
        return errors
    addon = require(props, "addonProfiles.omsagent.enabled", [True], "enable the omsagent add-on (Container Insights)")
    if addon:
        return errors + addon
    aad = lookup(props, "addonProfiles.omsagent.config.useAADAuth")
    # Add-on config values are strings ("true"), as the Azure CLI writes them.
    if not is_unknown(aad) and str(aad).lower() != "true":
        errors.append(
            f'addonProfiles.omsagent.config.useAADAuth is {show(aad)}; set "true" so the '
            "agent logs in with its managed identity, not a workspace key"
        )
    return errors
