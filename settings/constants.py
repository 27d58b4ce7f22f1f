"""Names the stack fixes rather than lets a stack change."""

from __future__ import annotations

# The Pulumi project: the namespace of every config key (ray-aks:<key>) and the `project` tag.
PROJECT = "ray-aks"

# The containers the workload reads from and writes to; fixed so the Kubernetes side can name them.
DATASETS_CONTAINER = "datasets"
RESULTS_CONTAINER = "results"
