"""Run the policy pack (policy/) over a recorded program, offline: what `pulumi preview --policy-pack policy`
would report, without Azure or the Pulumi CLI.

The arguments are built the way pulumi-policy's analyzer builds them (pulumi_policy/policy.py, Analyze and
AnalyzeStack): resource policies see each resource's inputs, stack policies every resource's outputs with
parents and dependencies linked; props are wrapped in pulumi-policy's unknown-checking proxy. Values the
mocks record as unknown ("<unknown>", preview mode) become pulumi-policy's unknown-string sentinel.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import policies
from pulumi_internals import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy
from tools.mocks import Recording, Registration

_MOCK_UNKNOWN = "<unknown>"


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy}: {self.urn.rsplit('::', 1)[-1]}: {self.message}"


def _sentinels(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sentinels(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == _MOCK_UNKNOWN else value


def _props(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(_sentinels(dict(values)))


def _options(resource: Registration) -> PolicyResourceOptions:
    options = resource.options
    return PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignoreChanges", [])),
        delete_before_replace=options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(options.get("additionalSecretOutputs", [])),
        parent=resource.parent or None,
    )


def _provider(recording: Recording, resource: Registration) -> PolicyProviderResource | None:
    provider = recording.provider_of(resource)
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, _props(provider.inputs), provider.urn, provider.name)


def resource_args(
    recording: Recording, resource: Registration, config: Mapping[str, Any] | None = None
) -> ResourceValidationArgs:
    """What a resource policy gets for one registered resource: its inputs."""
    return ResourceValidationArgs(
        resource.type,
        _props(resource.inputs),
        resource.urn,
        resource.name,
        _options(resource),
        _provider(recording, resource),
        dict(config or {}),
    )


def stack_args(recording: Recording, config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    """What a stack policy gets: every resource with its outputs, parents and dependencies linked."""
    by_urn = {
        r.urn: PolicyResource(
            r.type, _props(r.outputs or r.inputs), r.urn, r.name, _options(r), _provider(recording, r), None, [], {}
        )
        for r in recording.resources.values()
    }
    for r in recording.resources.values():
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent)
        resource.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
        for prop, urns in r.property_dependencies.items():
            resource.property_dependencies[prop] = [by_urn[d] for d in urns if d in by_urn]
    return StackValidationArgs(list(by_urn.values()), dict(config or {}))


async def _awaited(result: Any) -> Any:
    return await result


def _run(policy: Any, args: Any, found: list[Violation], default_urn: str) -> None:
    def report(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, urn or default_urn, message))

    try:
        result = policy.validate(args, report)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    except UnknownValueError:
        # The analyzer turns this into an advisory "can't run during preview"; ours never raise it.
        found.append(Violation(policy.name, default_urn, "read an unknown value"))


def evaluate(
    recording: Recording, config: Mapping[str, Mapping[str, Any]] | None = None, pack: list | None = None
) -> list[Violation]:
    """Every violation the pack reports for the recorded program; `config` is the policy pack config
    (policy name → its properties), as in `--policy-pack-config`."""
    config = config or {}
    found: list[Violation] = []
    for policy in pack if pack is not None else policies.POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for resource in recording.resources.values():
                _run(policy, resource_args(recording, resource, config.get(policy.name)), found, resource.urn)
        elif isinstance(policy, StackValidationPolicy):
            _run(policy, stack_args(recording, config.get(policy.name)), found, "")
    return found
