"""Ray on Kubernetes: never exposed, token authentication, unprivileged pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.resource_types import (
    INGRESS,
    RAY_CLUSTER,
    RAY_JOB,
    RAY_SERVICE,
    SERVICE,
)
from policy.values import lookup, number, require

# Ports of the Ray head under KubeRay's names (manifests/raycluster.py): GCS, dashboard / Jobs API, client.
RAY_PORTS = {6379: "gcs-server", 8265: "dashboard", 10001: "client"}
# Labels KubeRay puts on every pod it creates (ray-operator/controllers/ray/utils/constant.go).
RAY_POD_LABELS = ("ray.io/cluster", "ray.io/node-type", "ray.io/group", "ray.io/is-ray-node")
_PUBLIC_SERVICE_TYPES = ("LoadBalancer", "NodePort")


_CLUSTER_SPEC_PATHS = {RAY_CLUSTER: "spec", RAY_JOB: "spec.rayClusterSpec", RAY_SERVICE: "spec.rayClusterConfig"}


def ray_cluster_specs(resource_type: str, props: Mapping) -> list[tuple[str, Mapping]]:
    """(path, RayCluster spec) of a RayCluster, or of the cluster a RayJob or RayService creates."""
    path = _CLUSTER_SPEC_PATHS.get(resource_type)
    spec = lookup(props, path) if path else None
    return [(path, spec)] if path and isinstance(spec, Mapping) else []


def ray_not_exposed(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    """Ray's dashboard, Jobs API, client and GCS stay inside the cluster: reach them with a port-forward."""
    fix = "Reach Ray through `kubectl port-forward` (ray-aks: the dashboardCommand output)."
    if resource_type == SERVICE:
        kind = lookup(props, "spec.type", "ClusterIP")
        if kind not in _PUBLIC_SERVICE_TYPES:
            return []
        selector = lookup(props, "spec.selector") or {}
        ray_labels = [k for k in selector if k in RAY_POD_LABELS] if isinstance(selector, Mapping) else []
        ray_ports = _ray_ports(lookup(props, "spec.ports") or [], ("port", "targetPort", "name"))
        if ray_labels or ray_ports:
            what = f"selects Ray pods ({', '.join(ray_labels)})" if ray_labels else f"exposes Ray ports {ray_ports}"
            return [f"A Service of type {kind} {what}. {fix}"]
        return []
    if resource_type == INGRESS:
        backends = [lookup(props, "spec.defaultBackend.service")]
        for rule in lookup(props, "spec.rules") or []:
            for item in lookup(rule, "http.paths") or []:
                backends.append(lookup(item, "backend.service"))
        hits = [
            f"{b.get('name')}:{lookup(b, 'port.number') or lookup(b, 'port.name')}"
            for b in backends
            if isinstance(b, Mapping)
            and (str(b.get("name", "")).endswith("-head-svc") or _ray_ports([b.get("port") or {}], ("number", "name")))
        ]
        return [f"An Ingress routes to the Ray head ({', '.join(hits)}). {fix}"] if hits else []
    messages = []
    for path, spec in ray_cluster_specs(resource_type, props):
        kind = lookup(spec, "headGroupSpec.serviceType")
        if kind in _PUBLIC_SERVICE_TYPES:
            messages.append(f"{path}.headGroupSpec.serviceType is {kind!r}; it must be 'ClusterIP'. {fix}")
        kind = lookup(spec, "headGroupSpec.headService.spec.type")
        if kind in _PUBLIC_SERVICE_TYPES:
            messages.append(f"{path}.headGroupSpec.headService.spec.type is {kind!r}; it must be 'ClusterIP'. {fix}")
    return messages


def _ray_ports(ports: Any, keys: tuple[str, ...]) -> list[Any]:
    found = []
    for port in ports if isinstance(ports, list) else []:
        for key in keys:
            value = lookup(port, key) if isinstance(port, Mapping) else None
            as_number = number(value)
            if (as_number is not None and int(as_number) in RAY_PORTS) or value in RAY_PORTS.values():
                found.append(int(as_number) if as_number is not None else value)
                break
    return found


def ray_token_auth(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    return [
        message
        for path, spec in ray_cluster_specs(resource_type, props)
        for message in require(
            spec,
            "authOptions.mode",
            ["token"],
            "Without it, anyone who reaches the dashboard or Jobs API runs code in the cluster "
            "as the Ray pods' identity.",
            at=path,
        )
    ]


def ray_pods_unprivileged(resource_type: str, props: Mapping, config: Mapping) -> list[str]:
    messages = []
    for path, spec in ray_cluster_specs(resource_type, props):
        templates = [(f"{path}.headGroupSpec.template", lookup(spec, "headGroupSpec.template"))]
        for i, group in enumerate(lookup(spec, "workerGroupSpecs") or []):
            name = lookup(group, "groupName") if isinstance(group, Mapping) else None
            templates.append((f"{path}.workerGroupSpecs[{name or i}].template", lookup(group, "template")))
        for where, template in templates:
            pod_context = lookup(template, "spec.securityContext") if isinstance(template, Mapping) else None
            for kind in ("initContainers", "containers"):
                containers = lookup(template, f"spec.{kind}") if isinstance(template, Mapping) else None
                for container in containers if isinstance(containers, list) else []:
                    if not isinstance(container, Mapping):
                        continue
                    at = f"{where}.spec.{kind}[{container.get('name')!r}].securityContext"
                    if lookup(container, "securityContext.privileged") is True:
                        messages.append(f"{at}.privileged is True; Ray containers must not be privileged.")
                    if lookup(container, "securityContext.allowPrivilegeEscalation") is True:
                        messages.append(f"{at}.allowPrivilegeEscalation is True; it must be False or unset.")
            if isinstance(pod_context, Mapping) and lookup(pod_context, "privileged") is True:
                messages.append(f"{where}.spec.securityContext.privileged is True; Ray pods must not be privileged.")
    return messages
