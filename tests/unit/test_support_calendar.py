"""The Kubernetes version against AKS's support calendar (versions.AKS_END_OF_LIFE), with dates of the
tests' own: the suite never depends on today's date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import kubernetes_validate
import pytest

import settings
import versions
from settings import EXAMPLE_PUBLIC_CIDR, SettingsError, kubernetes_support, parse

VALID = {"ray-aks:apiServerAuthorizedIpRanges": json.dumps([EXAMPLE_PUBLIC_CIDR])}


def test_the_pinned_version_is_supported_on_the_day_the_calendar_was_read_for_more_than_the_warning_period():
    end = versions.AKS_END_OF_LIFE[versions.KUBERNETES_VERSION]
    assert (end - versions.AKS_CALENDAR_READ).days > versions.AKS_EOL_WARNING_DAYS
    assert kubernetes_support(versions.KUBERNETES_VERSION, versions.AKS_CALENDAR_READ) is None


def test_kubernetes_validate_has_schemas_for_the_pinned_version():
    # The unit tests validate our core objects against these schemas (test_volumes, test_raycluster).
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ray"}}
    kubernetes_validate.validate(namespace, f"{versions.KUBERNETES_VERSION}.0", strict=True)


def test_a_version_past_its_end_of_life_is_a_settings_error_naming_the_key_and_a_supported_version():
    with pytest.raises(SettingsError) as caught:
        parse({**VALID, "ray-aks:kubernetesVersion": "1.34"}, today=date(2026, 12, 1))
    line = str(caught.value).splitlines()[1]
    assert line.startswith('  ray-aks:kubernetesVersion = "1.34" reached end of life on 2026-11-30')
    assert "AKS creates no clusters or node pools on it; use 1.37" in line
    assert versions.AKS_CALENDAR_SOURCE in line
    assert f"pulumi config set ray-aks:kubernetesVersion '{versions.KUBERNETES_VERSION}'" in line


def test_a_patch_version_is_judged_by_its_minor():
    assert kubernetes_support("1.34.3", date(2026, 12, 1))[0] == "error"
    assert kubernetes_support("1.36.2", date(2026, 12, 1)) is None


def test_the_last_day_of_the_month_is_still_supported():
    assert kubernetes_support("1.35", date(2027, 3, 31))[0] == "warning"
    assert kubernetes_support("1.35", date(2027, 4, 1))[0] == "error"


@pytest.mark.parametrize("days_left", [0, 1, 30, versions.AKS_EOL_WARNING_DAYS])
def test_a_version_close_to_its_end_of_life_is_a_warning_with_the_date(days_left):
    end = versions.AKS_END_OF_LIFE["1.36"]
    level, why = kubernetes_support("1.36", end - timedelta(days=days_left))
    assert level == "warning"
    assert f"reaches end of life on {end}, in {days_left} days" in why


def test_the_warning_reaches_the_preview_and_the_error_stops_it():
    end = versions.AKS_END_OF_LIFE["1.36"]
    warnings = settings.advisories(parse(VALID), end - timedelta(days=10))
    assert any("reaches end of life" in w for w in warnings)
    assert parse(VALID, today=end - timedelta(days=10)).kubernetes_version == "1.36"
    with pytest.raises(SettingsError, match="reached end of life"):
        parse(VALID, today=end + timedelta(days=1))


def test_without_a_date_parse_does_not_consult_the_calendar():
    assert parse({**VALID, "ray-aks:kubernetesVersion": "1.34"}).kubernetes_version == "1.34"


def test_a_version_older_than_the_calendar_is_an_error_and_a_newer_one_a_warning():
    assert kubernetes_support("1.29", versions.AKS_CALENDAR_READ)[0] == "error"
    level, why = kubernetes_support("1.38", versions.AKS_CALENDAR_READ)
    assert level == "warning" and "newer than the AKS support calendar" in why


def test_the_calendar_says_where_it_comes_from_and_when_it_was_read():
    assert "supported-kubernetes-versions" in versions.AKS_CALENDAR_SOURCE
    assert max(versions.AKS_END_OF_LIFE.values()) >= versions.AKS_CALENDAR_READ
    # End-of-life dates are month ends, as the calendar's note says.
    assert all((end + timedelta(days=1)).day == 1 for end in versions.AKS_END_OF_LIFE.values())
