"""Values the workload and the infrastructure must agree on.

The Pulumi program mounts the datasets and results containers at these paths on every Ray pod and runs
this Ray version; a test compares them with its settings, so change both sides together.
"""

# BlobFuse2 mount of the datasets container (read-mostly: block-cache mode).
DATASETS_MOUNT = "/mnt/datasets"
# BlobFuse2 mount of the results container (Tune's storage_path: checkpoints, experiment state).
RESULTS_MOUNT = "/mnt/results"
# The cluster image is rayproject/ray:<RAY_VERSION>-py311(-gpu); the job's Ray must be the same.
RAY_VERSION = "2.60.0"
