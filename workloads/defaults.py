"""Values the workload and the infrastructure must agree on.

The Pulumi program mounts the datasets and results containers at these paths on every Ray pod; a test
compares them with its settings, so change both sides together.
"""

# versions.py imports nothing and sits at the repository root, which `ray job submit --working-dir .` uploads
# with the job (workloads/runtime_env.yaml excludes only the infrastructure's folders).
from versions import RAY_VERSION

# BlobFuse2 mount of the datasets container (read-mostly: block-cache mode).
DATASETS_MOUNT = "/mnt/datasets"
# BlobFuse2 mount of the results container (Tune's storage_path: checkpoints, experiment state).
RESULTS_MOUNT = "/mnt/results"

__all__ = ["DATASETS_MOUNT", "RAY_VERSION", "RESULTS_MOUNT"]
