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

# Printed on a line of its own, with the trial id after it, as a trial starts in its Ray worker (a reused
# worker runs several trials, one after another): the Ray pods' log forwarder labels the worker's lines after
# it with that trial (manifests/log_forwarder.py), so one query finds a trial's whole output.
TRIAL_LOG_MARKER = ":trial_id:"

__all__ = ["DATASETS_MOUNT", "RAY_VERSION", "RESULTS_MOUNT", "TRIAL_LOG_MARKER"]
