"""The declarative sweep (sweepOnUp): a RayJob on the stack's RayCluster that `pulumi up` waits for, and
whose failure fails the `up` with the job's message (manifests/rayjob.py says how and why)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from manifests import rayjob
from settings import Settings


class _RayJob(pulumi.CustomResource):
    """A ray.io/v1 RayJob whose `status` is an output: what KubeRay wrote when Pulumi's wait ended.

    `kubernetes.apiextensions.CustomResource` declares no status output; like every typed
    pulumi_kubernetes resource, this declares it as an output-only property (sent as None)."""

    status: pulumi.Output[Any]

    def __init__(self, name: str, manifest: dict, opts: pulumi.ResourceOptions) -> None:
        props = {
            "apiVersion": manifest["apiVersion"],
            "kind": manifest["kind"],
            "metadata": manifest["metadata"],
            "spec": manifest["spec"],
            "status": None,
        }
        super().__init__(f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}", name, props, opts)


@dataclass(frozen=True)
class SweepArgs:
    settings: Settings
    """The sweep's flags and deadline, the Ray namespace and cluster name, the mount paths."""
    depends_on: list[pulumi.Resource]
    """What the job needs first: the RayCluster (a ready head) and the seeded data."""


class Sweep(pulumi.ComponentResource):
    job_name: pulumi.Output[str]
    result: pulumi.Output[str]
    """`SUCCEEDED` once the sweep succeeded; resolving it fails the `up` with the job's message otherwise."""

    def __init__(self, name: str, args: SweepArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:sweep:Sweep", name, None, opts)
        s = args.settings
        manifest = rayjob.rayjob_manifest(s)
        job = _RayJob(f"{name}-rayjob", manifest, pulumi.ResourceOptions(parent=self, depends_on=args.depends_on))
        job_name = manifest["metadata"]["name"]
        self.job_name = pulumi.Output.from_input(job_name)
        self.result = job.status.apply(lambda status: rayjob.outcome(job_name, s.ray_namespace, status))
        self.register_outputs({"job_name": self.job_name, "result": self.result})
