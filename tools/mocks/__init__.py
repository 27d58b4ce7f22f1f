"""Run the real Pulumi program offline, under Pulumi's own mocks, and record everything it registers.

The tests, the offline plan (`python -m tools.plan`) and the policy tests all use `run_program`. By concern:

- runner.py: `run_program` and `stack_config`, the stack's config as the Pulumi CLI hands it over;
- recording.py: `RecordingMonitor`, Pulumi's MockMonitor keeping inputs, edges and options, and the
  `Recording` it leaves;
- azure.py: `AzureMocks`, which names, identifies and refuses resources as azure-native does;
- state.py: the mocked subscription (`Cloud`) and the stack's state (`StackState`) that carry over between
  runs, with `state_of` and `destroy`.

Importers take the names below from `tools.mocks`.
"""

from __future__ import annotations

from tools.mocks.azure import CALLER_OBJECT_ID, SUBSCRIPTION_ID, TENANT_ID, USER_KUBECONFIG, AzureMocks
from tools.mocks.recording import Recording, RecordingMonitor, Registration
from tools.mocks.runner import PROJECT, PROJECT_DIR, run_program, stack_config
from tools.mocks.state import Cloud, StackState, destroy, state_of

__all__ = [
    "CALLER_OBJECT_ID",
    "PROJECT",
    "PROJECT_DIR",
    "SUBSCRIPTION_ID",
    "TENANT_ID",
    "USER_KUBECONFIG",
    "AzureMocks",
    "Cloud",
    "Recording",
    "RecordingMonitor",
    "Registration",
    "StackState",
    "destroy",
    "run_program",
    "stack_config",
    "state_of",
]
