"""From a stack's config to Settings: `parse` (pure: a dict in, Settings or one SettingsError out) and
`from_pulumi_config` (the running program's config, stopping it with that message)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from settings.constants import PROJECT
from settings.errors import SettingsError, line, reason, show
from settings.model import Settings, example
from settings.support import advisories, kubernetes_support


def _field_of(loc: tuple) -> str | None:
    """The field a pydantic error's location names, by field name or by config key."""
    by_alias = {to_camel(name): name for name in Settings.model_fields}
    for part in loc:
        if part in Settings.model_fields:
            return part
        if part in by_alias:
            return by_alias[part]
    return None


def parse(config: dict[str, Any], today: date | None = None) -> Settings:
    """Validate a stack's config (keys with or without the `ray-aks:` prefix; other namespaces ignored).
    With `today`, the Kubernetes version is also checked against AKS's support calendar."""
    ours: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = key.rpartition(":")
        if namespace in ("", PROJECT):
            ours[name] = value
    known = {to_camel(name) for name in Settings.model_fields}
    lines = []
    for name in sorted(set(ours) - known):
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {PROJECT}:{close[0]}?" if close else "see Pulumi.yaml for the settings"
        lines.append(f"{PROJECT}:{name} = {show(ours[name])} is not a setting of this project; {hint}")
    try:
        settings = Settings.model_validate({k: v for k, v in ours.items() if k in known})
    except SettingsError as err:
        lines.append(str(err))
        settings = None
    except ValidationError as err:
        settings = None
        for error in err.errors():
            field = _field_of(error["loc"])
            if error["type"] == "value_error" and isinstance(error.get("ctx", {}).get("error"), SettingsError):
                lines.append(str(error["ctx"]["error"]))  # the cross-field rules' lines, made by the model
            elif field is None:
                lines.append(error["msg"])
            else:
                raw = ours.get(to_camel(field), error.get("input"))
                lines.append(line(field, raw, reason(error), example(field)))
    if settings is not None and today is not None:
        support = kubernetes_support(settings.kubernetes_version, today)
        if support and support[0] == "error":
            lines.append(
                line("kubernetes_version", settings.kubernetes_version, support[1], example("kubernetes_version"))
            )
    if lines or settings is None:
        raise SettingsError("Invalid configuration:\n  " + "\n  ".join(lines))
    return settings


# Today's date for the support calendar; the tests pin it (tests/conftest.py) so the suite never depends on it.
CLOCK: Callable[[], date] = date.today


def from_pulumi_config(today: date | None = None) -> Settings:
    """Read and validate the running stack's config; stops the program with one readable message, and
    prints the advisories as warnings of the preview."""
    import pulumi

    from pulumi_internals import config_values

    today = today or CLOCK()
    try:
        loaded = parse(config_values(), today=today)
    except SettingsError as err:
        raise pulumi.RunError(str(err)) from None
    for warning in advisories(loaded, today):
        pulumi.log.warn(warning)
    return loaded
