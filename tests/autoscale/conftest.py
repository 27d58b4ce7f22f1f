"""The autoscaling tier shares the workload tier's packed offline digits."""

from tests.workload.conftest import data_dir  # noqa: F401  (a fixture, used by name)
