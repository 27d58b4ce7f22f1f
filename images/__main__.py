"""The two steps a deployment runs before the RayCluster can pull its images (the `up` workflow runs them,
docs/workload.md shows them by hand):

    python -m images targets --stack dev                    # `--target` arguments: the registry and what it needs
    pulumi stack export | python -m images build-command --stack dev   # the imageBuildCommand, from the state

`targets` runs the program offline under Pulumi's mocks (tools/mocks/) and prints the URNs of the
container registry and everything it depends on, so `pulumi up --target ...` creates the registry alone
before the images are built into it. `build-command` reads the registry's name and login server from the
stack's state, which a targeted update records even when it leaves the stack's outputs as they were.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

REGISTRY_TYPE = "azure-native:containerregistry:Registry"
# The mocks' root stack appears in the recorded type chain; the Pulumi engine leaves it out of URNs.
_MOCK_ROOT = "pulumi:pulumi:Stack$"


def registry_targets(recording) -> list[str]:
    """URNs of the registry and its transitive dependencies, in a recorded program (custom resources only)."""
    [acr] = recording.of_type(REGISTRY_TYPE)
    wanted, queue = set(), [acr.urn]
    while queue:
        urn = queue.pop()
        if urn in wanted or urn not in recording.resources:
            continue
        resource = recording.resources[urn]
        if resource.custom:
            wanted.add(urn)
        queue += resource.dependencies
    return sorted(urn.replace(_MOCK_ROOT, "") for urn in wanted)


def build_command_from_state(state: dict, settings) -> str:
    from manifests import registry

    resources = state.get("deployment", {}).get("resources") or []
    found = [r for r in resources if r.get("type") == REGISTRY_TYPE]
    if len(found) != 1:
        raise SystemExit(
            f"expected one {REGISTRY_TYPE} in the state, found {len(found)}: run the targeted "
            "`pulumi up` first (python -m images targets)"
        )
    outputs = found[0].get("outputs", {})
    return registry.build_command(outputs["name"], outputs["loginServer"], settings.ray_image, settings.ray_gpu_image)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m images", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("targets", "build-command"):
        commands.add_parser(name).add_argument("--stack", default="dev")
    args = parser.parse_args(argv)

    from tools.mocks import run_program, stack_config

    if args.command == "targets":
        print(
            " ".join(
                f"--target={urn}" for urn in registry_targets(run_program(stack_config(args.stack), stack=args.stack))
            )
        )
        return 0
    import settings

    print(build_command_from_state(json.load(sys.stdin), settings.parse(stack_config(args.stack))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
