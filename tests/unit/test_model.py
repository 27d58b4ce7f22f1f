"""workloads.model: the CNN's shape contract and its hyperparameters."""

from __future__ import annotations

import pytest
import torch

from workloads.model import MAX_DEPTH, ConvNet


@pytest.mark.parametrize("depth", range(1, MAX_DEPTH + 1))
@pytest.mark.parametrize("width", [1, 8, 16])
def test_the_network_maps_a_batch_of_digits_to_ten_logits(width, depth):
    model = ConvNet(width=width, depth=depth, dropout=0.2).eval()
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)


def test_width_and_depth_grow_the_network():
    def size(**kwargs):
        return sum(p.numel() for p in ConvNet(**kwargs).parameters())

    assert size(width=8, depth=2) < size(width=16, depth=2) < size(width=16, depth=3)


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    model, x = ConvNet(width=4, depth=2, dropout=0.5), torch.randn(4, 1, 28, 28)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    model.features.eval()  # keep BatchNorm out of it: only dropout should differ
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"width": 0}, "width"),
        ({"depth": 0}, "depth"),
        ({"depth": MAX_DEPTH + 1}, "depth"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_out_of_range_hyperparameters_are_rejected_by_name(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ConvNet(**kwargs)
