"""A resource rule as data (name, description, types, check, config) and its pulumi-policy policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.values import plain

ResourceCheck = Callable[[str, Mapping, Mapping], list[str]]


@dataclass(frozen=True)
class ResourceRule:
    name: str
    description: str
    types: tuple[str, ...] | None
    """The resource types the rule looks at; None: every type."""
    check: ResourceCheck
    config: Mapping[str, tuple[dict, Any]] = field(default_factory=dict)
    """Policy config key → (JSON schema, default)."""

    def defaults(self) -> dict[str, Any]:
        return {key: default for key, (_, default) in self.config.items()}

    def violations(self, resource_type: str, props: Any, config: Mapping | None = None) -> list[str]:
        if self.types is not None and resource_type not in self.types:
            return []
        return self.check(resource_type, plain(props), {**self.defaults(), **(config or {})})

    def policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            for message in self.violations(args.resource_type, args.props, args.get_config()):
                report_violation(message, None)

        schema = None
        if self.config:
            schema = PolicyConfigSchema(
                {key: {**spec, "default": default} for key, (spec, default) in self.config.items()}
            )
        return ResourceValidationPolicy(
            name=self.name, description=self.description, validate=validate, config_schema=schema
        )
