"""Model shapes and seeded initialisation: same seed, same weights; other seed, other weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from precision_kit.models import cnn, mlp, penultimate


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("build", [lambda s: mlp(3, 32, seed=s), lambda s: cnn(seed=s),
                                   lambda s: mlp(2, 50, init="default", seed=s)])
def test_same_seed_same_weights_other_seed_other_weights(build):
    a, b, c = _weights(build(7)), _weights(build(7)), _weights(build(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=False))
    assert all(not torch.equal(x, z) for x, z in zip(a, c, strict=False) if x.numel() > 1 and x.abs().sum() > 0)


def test_building_a_model_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    mlp(2, 64, seed=3)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("depth", [1, 2, 4, 10])
def test_mlp_shape(depth):
    model = mlp(depth, 128)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == depth + 1
    assert (linears[0].in_features, linears[-1].out_features) == (784, 10)
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())


def test_mlp_with_per_layer_widths_and_sigmoid():
    model = mlp(2, (128, 64), activation="sigmoid")
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [128, 64, 10]
    assert any(isinstance(m, nn.Sigmoid) for m in model)


def test_xavier_init_bounds_and_zero_bias():
    layer = mlp(1, 128, init="xavier_uniform")[1]
    bound = (6 / (784 + 128)) ** 0.5
    assert layer.weight.abs().max() <= bound
    assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth": 0}, "depth must be an int ≥ 1"),
        ({"depth": 2, "width": (10, 20, 30)}, "expected 2 sizes"),
        ({"activation": "tanh"}, "expected one of relu, sigmoid"),
        ({"init": "orthogonal"}, "expected one of xavier_uniform, default"),
        ({"width": 0}, "ints ≥ 1"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mlp(**kwargs)


def test_a_deeper_cnn_has_a_third_convolution_and_shares_weights_across_dropout():
    deep = cnn(0.5, seed=1, depth=3)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in deep) == 3 and deep(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    no_dropout = cnn(0.0, seed=1, depth=3)
    assert all(torch.equal(a, b) for a, b in zip(no_dropout.parameters(), deep.parameters(), strict=True))
    source = [m for m in cnn(0.5, seed=1) if isinstance(m, torch.nn.Conv2d)]
    assert len(source) == 2  # depth 2 is the source's CNN, unchanged
    with pytest.raises(ValueError, match="2 or 3 convolutional layers"):
        cnn(depth=4)


def test_cnn_shape_dropout_and_penultimate():
    model = cnn(dropout=0.5)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert penultimate(model)(torch.rand(3, 1, 28, 28)).shape == (3, 128)
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.5]
    assert all(torch.equal(a, b) for a, b in zip(_weights(cnn(0.0, seed=1)), _weights(cnn(0.5, seed=1)), strict=False))
    with pytest.raises(ValueError, match="dropout must be a probability"):
        cnn(dropout=1.0)
