"""Pool counts under the autoscaler, OS disks, the DNS prefix and the maintenance window (manifests/pools.py,
manifests/azure.py): pure functions, no Pulumi."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from manifests import azure, pools


@given(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_the_count_sent_is_the_live_one_kept_inside_the_bounds(live, low, span):
    high = low + span
    count = pools.autoscaled_count(live, low, high)
    assert low <= count <= high
    if low <= live <= high:
        assert count == live  # nothing the autoscaler did is undone


def test_raising_the_minimum_above_the_live_count_or_lowering_the_maximum_below_it_moves_the_count():
    # AKS refuses an update whose count lies outside [minCount, maxCount].
    assert pools.autoscaled_count(1, 2, 4) == 2
    assert pools.autoscaled_count(3, 0, 2) == 2


def test_a_pool_that_does_not_exist_yet_starts_at_its_minimum():
    assert pools.autoscaled_count(None, 0, 2) == 0
    assert pools.autoscaled_count(None, 1, 4) == 1


def test_os_disks_are_ephemeral_and_fill_the_temp_disk_only_where_it_is_big_enough():
    assert pools.os_disk("Standard_D4ds_v5") == {"os_disk_type": "Ephemeral", "os_disk_size_gb": 150}
    assert pools.os_disk("Standard_NC8as_T4_v3") == {"os_disk_type": "Ephemeral", "os_disk_size_gb": 360}
    assert pools.os_disk("Standard_NC24ads_A100_v4") == {}  # 64 GiB temp disk: AKS chooses
    assert pools.os_disk("Standard_E8s_v5") == {}  # no temp disk


@given(st.text(alphabet="abcXYZ019_.-", min_size=1, max_size=80))
def test_the_dns_prefix_follows_aks_rule_for_any_stack_name(stack):
    prefix = azure.dns_prefix("ray-aks", stack)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,52}[a-z0-9])?", prefix), prefix


def test_a_valid_stack_name_keeps_the_prefix_it_always_had():
    assert azure.dns_prefix("ray-aks", "dev") == "ray-aks-dev"
    assert azure.dns_prefix("ray-aks", "team_a.prod") == "ray-aks-team-a-prod"


def test_the_maintenance_window_is_weekly_in_utc():
    assert azure.maintenance_window("Sunday", 2, 4) == {
        "schedule": {"weekly": {"day_of_week": "Sunday", "interval_weeks": 1}},
        "duration_hours": 4,
        "start_time": "02:00",
        "utc_offset": "+00:00",
    }
