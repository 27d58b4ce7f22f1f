"""How big a sweep the cluster can run: GPU share per trial and trials at once, from what the cluster *can*
have (its worker groups at their maxima), not from what it has right now. Pure: no Ray, no I/O but the
small choice file a run keeps.

A fresh KubeRay cluster has a 0-CPU head and no workers, so `ray.cluster_resources()` shows neither CPU nor
GPU; sizing from it asks for no GPU and runs one trial at a time, and the GPU pool never scales up. A job
cannot read the worker groups' maxima from Ray 2.60: `ray._private.state.state.get_cluster_config()` (what
Ray Data and Train size themselves from) stays empty because no autoscaler in the wheel calls the GCS's
`report_cluster_config`. So the Pulumi program sizes the sweep from the RayCluster it renders and prints
the flags in `jobSubmitCommand` (manifests/commands.py); the job sizes itself from the nodes present only
when no flag says otherwise (a laptop, a fixed cluster), and a resumed run keeps what it first chose.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Four trials share a GPU: one small CNN cannot keep a GPU busy.
GPUS_PER_TRIAL = 0.25
CPUS_PER_TRIAL = 1.0
# What a run keeps of the resources it chose, in its run directory, so a resume asks for the same.
CHOICE_FILE = "trial_resources.json"
_EPSILON = 1e-9


@dataclass(frozen=True)
class Group:
    """One kind of node the cluster can have: a KubeRay worker group, or the nodes present now."""

    name: str
    cpus: float
    gpus: float
    max_count: int
    """Nodes of this kind at most (-1: unbounded, as Ray's autoscaler writes it)."""


@dataclass(frozen=True)
class Choice:
    """What every trial of a run holds, and how many run at once."""

    cpus_per_trial: float
    gpus_per_trial: float
    max_concurrent: int


def trials_per_node(cpus: float, gpus: float, cpus_per_trial: float, gpus_per_trial: float) -> float:
    """Trials one node holds at once: the tighter of its CPUs and GPUs (a resource a trial doesn't ask
    for doesn't bound it; asking for neither, unbounded). The one formula, shared with the benchmark
    (bench/measure.py)."""
    fits = [math.inf]
    if cpus_per_trial > 0:
        fits.append(math.floor(cpus / cpus_per_trial + _EPSILON))
    if gpus_per_trial > 0:
        fits.append(math.floor(gpus / gpus_per_trial + _EPSILON))
    return min(fits)


def concurrent_trials(
    groups: Iterable[Group], cpus_per_trial: float, gpus_per_trial: float, num_samples: int | None = None
) -> int:
    """Trials the groups hold at once at their maxima (Ray packs trials per node), at least one (it waits
    for a node) and at most `num_samples`."""
    total: float = 0
    for group in groups:
        per_node = trials_per_node(group.cpus, group.gpus, cpus_per_trial, gpus_per_trial)
        if per_node and group.max_count != 0:
            total += math.inf if group.max_count < 0 else per_node * group.max_count
    if num_samples is not None:
        total = min(total, num_samples)
    return max(1, int(min(total, 1 << 20)))


def can_have_gpus(groups: Iterable[Group]) -> bool:
    return any(group.gpus > 0 and group.max_count != 0 for group in groups)


def choose(
    groups: Iterable[Group],
    *,
    cpus_per_trial: float,
    gpus_per_trial: float | None,
    max_concurrent: int | None,
    num_samples: int | None,
) -> Choice:
    """The GPU share (`gpus_per_trial`, or GPUS_PER_TRIAL whenever some group can have GPUs) and the
    concurrency (`max_concurrent`, or what the groups hold at their maxima)."""
    groups = list(groups)
    gpus = gpus_per_trial if gpus_per_trial is not None else (GPUS_PER_TRIAL if can_have_gpus(groups) else 0.0)
    concurrent = max_concurrent or concurrent_trials(groups, cpus_per_trial, gpus, num_samples)
    return Choice(cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus, max_concurrent=concurrent)


def groups_from_cluster_config(node_groups: Iterable[Any]) -> list[Group]:
    """Groups from the autoscaler's ClusterConfig.node_group_configs (autoscaler.proto NodeGroupConfig:
    name, resources, min_count, max_count); anything with those attributes."""
    return [
        Group(
            name=str(g.name),
            cpus=float(dict(g.resources).get("CPU", 0)),
            gpus=float(dict(g.resources).get("GPU", 0)),
            max_count=int(g.max_count),
        )
        for g in node_groups
    ]


def groups_from_resources(resources: Mapping[str, float]) -> list[Group]:
    """The nodes present now as one group: for a cluster without an autoscaler (a laptop, a fixed cluster)."""
    return [Group("present", float(resources.get("CPU", 0)), float(resources.get("GPU", 0)), 1)]


def save_choice(run_dir: str | os.PathLike, choice: Choice) -> Path:
    path = Path(run_dir) / CHOICE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(choice), indent=2) + "\n")
    return path


def load_choice(run_dir: str | os.PathLike) -> Choice | None:
    """The resources a run chose when it started; None if it kept none."""
    path = Path(run_dir) / CHOICE_FILE
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    return Choice(float(saved["cpus_per_trial"]), float(saved["gpus_per_trial"]), int(saved["max_concurrent"]))
