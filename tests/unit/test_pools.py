"""Pool taints, labels and selectors, and the toleration rule the other tests lean on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifests import pools

taints = st.fixed_dictionaries(
    {
        "key": st.from_regex(r"[a-z][a-z./-]{0,20}[a-z]", fullmatch=True),
        "value": st.from_regex(r"[a-z0-9]{0,8}", fullmatch=True),
        "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    }
)


@given(taints)
def test_an_aks_taint_string_reads_back_as_the_taint(taint):
    assert pools.parse_taint(pools.taint_string(taint)) == taint


@given(taints)
def test_an_equal_toleration_made_from_a_taint_tolerates_it_and_nothing_with_another_value(taint):
    toleration = {**taint, "operator": "Equal"}
    assert pools.tolerates(toleration, taint)
    assert not pools.tolerates(toleration, {**taint, "value": taint["value"] + "x"})
    assert not pools.tolerates(toleration, {**taint, "key": taint["key"] + "x"})


@pytest.mark.parametrize(
    "toleration, tolerated",
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "value": "absent", "effect": "NoSchedule"}, False),
    ],
)
def test_tolerations_follow_kubernetes_rules(toleration, tolerated):
    assert pools.tolerates(toleration, pools.GPU_TAINT) is tolerated


@pytest.mark.parametrize("spot", [True, False], ids=["spot", "regular"])
def test_gpu_pod_tolerations_cover_the_gpu_pool_spot_or_not(spot):
    for taint in pools.gpu_taints(spot):
        assert any(pools.tolerates(t, taint) for t in pools.gpu_tolerations())


def test_the_node_selectors_pick_one_pool_each():
    assert pools.cpu_node_selector().items() <= pools.cpu_labels().items()
    assert pools.gpu_node_selector().items() <= pools.gpu_labels().items()
    assert not pools.cpu_node_selector().items() <= pools.gpu_labels().items()
    assert not pools.gpu_node_selector().items() <= pools.cpu_labels().items()
