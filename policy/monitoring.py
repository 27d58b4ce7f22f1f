"""The pack's observability rule: AKS clusters send metrics to managed Prometheus and logs to Container
Insights with managed-identity auth, unless the pack's config turns the rule off on purpose.

A stack that sets `ray-aks:monitoring false` must also say so to the pack (`--policy-pack-config` with
{"aks-monitoring-on": {"allowMonitoringOff": true}}): the choice is made twice, once where it is reviewed.
"""

from __future__ import annotations

from typing import Mapping

try:  # the pack's own process (`python -m pulumi.policy ... policy/`) has policy/ on sys.path
    import policies
except ImportError:  # the tests and tools import the pack as the `policy` package
    from policy import policies

POLICY_NAME = "aks-monitoring-on"
OPT_OUT = "allowMonitoringOff"


def aks_monitoring_on(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    if config.get(OPT_OUT):
        return []
    errors = policies._require(props, "azureMonitorProfile.metrics.enabled", [True],
                               "set azureMonitorProfile.metrics.enabled true (managed Prometheus)")
    omsagent = policies.lookup(props, "addonProfiles.omsagent", {})
    if policies.is_unknown(omsagent):
        return errors
    addon = policies._require(props, "addonProfiles.omsagent.enabled", [True],
                              "enable the omsagent add-on (Container Insights)")
    if addon:
        return errors + addon
    aad = policies.lookup(props, "addonProfiles.omsagent.config.useAADAuth")
    # Add-on config values are strings ("true"), as the Azure CLI writes them.
    if not policies.is_unknown(aad) and str(aad).lower() != "true":
        errors.append(f"addonProfiles.omsagent.config.useAADAuth is {policies._show(aad)}; set \"true\" so the "
                      "agent logs in with its managed identity, not a workspace key")
    return errors


RULE = policies.ResourceRule(
    POLICY_NAME,
    "AKS sends metrics to Azure Monitor managed Prometheus (azureMonitorProfile.metrics.enabled) and logs to "
    "Container Insights with managed-identity auth (omsagent add-on with useAADAuth), unless the pack's config "
    "sets allowMonitoringOff. The logs half mirrors CKV_AZURE_4 (AKS logging to Azure Monitor); the metrics "
    "half and the managed-identity auth are rules of this project.",
    (policies.MANAGED_CLUSTER,), aks_monitoring_on,
    {OPT_OUT: ({"type": "boolean"}, False)},
)

POLICIES = [RULE.policy()]
