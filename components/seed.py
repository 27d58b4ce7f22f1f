"""Data seeded as code: the Job that fills the datasets container with the full MNIST during `pulumi up`
(manifests/seed_job.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import fields
from manifests import registry, seed_job
from settings import Settings


@dataclass(frozen=True)
class SeedArgs:
    settings: Settings
    """Ray namespace and service account, the CPU image, the datasets mount path."""
    image_registry: pulumi.Input[str]
    """The stack's registry login server: the image is pulled from there."""
    depends_on: list[pulumi.Resource]
    """What must exist first: the datasets claim (the RayCluster component) and the registry's pull role."""


class Seed(pulumi.ComponentResource):
    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: SeedArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ray-aks:seed:Seed", name, None, opts)
        manifest = pulumi.Output.from_input(args.image_registry).apply(
            lambda server: registry.in_registry(seed_job.seed_job(args.settings), server)
        )
        job = k8s.batch.v1.Job(
            f"{name}-mnist",
            **fields(manifest, ("metadata", "spec")),
            # Pulumi's Job await: Complete, or fail at once on Failed; the deadline bounds a stuck pull.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=args.depends_on,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{seed_job.ACTIVE_DEADLINE_SECONDS + 300}s",
                    update=f"{seed_job.ACTIVE_DEADLINE_SECONDS + 300}s",
                ),
            ),
        )
        self.job_name = job.metadata.apply(lambda metadata: metadata.name)
        self.register_outputs({"job_name": self.job_name})
