"""The autograd-free MLP step: which models take it, and bit-identity with autograd."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F
from synthetic import synthetic_dataset
from torch import nn

from precision_kit.mlp_step import mlp_layers, mlp_step_for
from precision_kit.models import cnn, mlp
from precision_kit.precision import cast_model, get_precision
from precision_kit.train import TrainConfig, train

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=1000, n_test=200)


def autograd_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("precision", ["fp64", "fp32", "bf16", "fp16"])
@pytest.mark.parametrize("depth, activation", [(1, "relu"), (3, "relu"), (2, "sigmoid")])
def test_gradients_and_loss_bit_identical_to_autograd(precision, depth, activation):
    mode = get_precision(precision)
    reference = cast_model(mlp(depth, 48, activation=activation, seed=3), mode, CPU)
    fast_model = cast_model(mlp(depth, 48, activation=activation, seed=3), mode, CPU)
    step = mlp_step_for(fast_model, mode, CPU, batch_size=64)
    assert step is not None
    gen = torch.Generator().manual_seed(1)
    for n in (64, 37):  # a full batch, then a partial last batch in the same buffers
        x = torch.randn(n, 784, generator=gen).to(mode.param_dtype)
        y = torch.randint(0, 10, (n,), generator=gen)
        expected_loss = F.cross_entropy(reference(x), y)
        expected = autograd_grads(reference, x, y)
        logits, loss = step(x, y)
        assert logits.shape == (n, 10)
        assert torch.equal(loss, expected_loss.detach())
        got = [p.grad for p in fast_model.parameters()]
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(epochs=2, batch_size=64, lr=3e-3, evaluation="none"),
        TrainConfig(epochs=1, batch_size=50, optimizer="sgd-momentum", lr=0.05, clip="norm", clip_value=0.5),
        TrainConfig(epochs=2, batch_size=128, optimizer="rmsprop", lr_decay=0.5, precision="fp64"),
    ],
    ids=["adam", "sgd-momentum-clip-norm", "rmsprop-decay-fp64"],
)
def test_training_through_the_fast_step_equals_training_through_autograd(data, config):
    """The same MLP with an Identity appended is no longer 'plain', so it trains through
    autograd: weights, losses and accuracies must come out bit for bit the same."""
    fast = train(mlp(2, 32, seed=5), data, config)
    slow_model = nn.Sequential(*mlp(2, 32, seed=5), nn.Identity())
    assert mlp_layers(slow_model) is None
    slow = train(slow_model, data, config)
    assert [(e.train_loss, e.train_accuracy, e.test_accuracy) for e in fast.epochs] == [
        (e.train_loss, e.train_accuracy, e.test_accuracy) for e in slow.epochs
    ]
    pairs = zip(fast.model.state_dict().values(), slow.model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_only_plain_mlps_on_cpu_in_pure_modes_take_the_fast_step():
    fp32, amp = get_precision("fp32"), get_precision("amp-bf16")
    assert mlp_step_for(mlp(2, 16), fp32, CPU, 8) is not None
    assert mlp_step_for(mlp(2, 16), amp, CPU, 8) is None  # autocast stays on autograd
    assert mlp_step_for(cnn(), fp32, CPU, 8) is None
    assert mlp_step_for(mlp(2, 16), fp32, torch.device("cuda"), 8) is None
    frozen = mlp(2, 16)
    frozen[1].weight.requires_grad_(False)
    assert mlp_step_for(frozen, fp32, CPU, 8) is None
    evaluating = mlp(2, 16).eval()
    assert mlp_step_for(evaluating, fp32, CPU, 8) is None
    no_bias = nn.Sequential(nn.Linear(784, 16, bias=False), nn.ReLU(), nn.Linear(16, 10))
    assert mlp_layers(no_bias) is None
    two_activations = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.ReLU(), nn.Linear(16, 10))
    assert mlp_layers(two_activations) is None


def test_engine_autograd_skips_the_fast_step_and_changes_nothing_but_the_path(data, monkeypatch):
    config = TrainConfig(epochs=1, batch_size=100, seed=3)
    auto = train(mlp(2, 16, seed=3), data, config)
    train_module = sys.modules[train.__module__]  # the module (the package exports the function `train`)

    def no_fast_step(*args):
        raise AssertionError("engine='autograd' must not build the autograd-free step")

    monkeypatch.setattr(train_module, "mlp_step_for", no_fast_step)
    forced = train(mlp(2, 16, seed=3), data, config, engine="autograd")
    a, b = auto.model.state_dict(), forced.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a) and auto.test_accuracy == forced.test_accuracy
    with pytest.raises(AssertionError, match="must not build"):  # the premise: "auto" does build it
        train(mlp(2, 16, seed=3), data, config)
    with pytest.raises(ValueError, match="engine='fast'.*auto, autograd"):
        train(mlp(2, 16, seed=3), data, config, engine="fast")
