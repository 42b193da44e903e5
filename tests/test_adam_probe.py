"""`AdamStateProbe`: the share of Adam's second moment that is zero or below float16's
smallest subnormal, sampled during real training of a small MLP on synthetic data."""

from __future__ import annotations

import pytest
import torch
from synthetic import synthetic_dataset

from precision_kit.adam_probe import FP16_SMALLEST_SUBNORMAL, AdamStateProbe
from precision_kit.models import mlp
from precision_kit.train import TrainConfig, train


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset()


def test_fp16_state_underflows_where_fp32_keeps_tiny_values(data):
    """The same model, data order and eps: float16's state holds zeros where float32's holds
    values below 2⁻²⁴; float32's has (almost) no exact zeros."""
    probes = {}
    for precision in ("fp16", "fp32"):
        probe = AdamStateProbe(every=5)
        config = TrainConfig(epochs=2, batch_size=64, precision=precision, adam_eps=1e-4, evaluation="none")
        train(mlp(1, 32, seed=0), data, config, on_step=probe)
        probes[precision] = probe.summary()
    assert probes["fp16"]["mean_zero_share"] > 0.01
    assert probes["fp32"]["mean_below_fp16_share"] > probes["fp32"]["mean_zero_share"]
    assert probes["fp16"]["steps"] == probes["fp32"]["steps"] and probes["fp16"]["steps"][0] == 5


def test_the_probe_counts_exactly():
    p = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([p])
    opt.state[p]["exp_avg_sq"] = torch.tensor([0.0, FP16_SMALLEST_SUBNORMAL / 2, 1e-3, 1.0])
    probe = AdamStateProbe(every=1)
    probe(1, opt)
    assert probe.zero_share == [0.25] and probe.below_fp16_share == [0.5]


def test_the_probe_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="positive int"):
        AdamStateProbe(every=0)
    p = torch.nn.Parameter(torch.zeros(2))
    sgd = torch.optim.SGD([p], lr=0.1)
    sgd.state[p]["momentum_buffer"] = torch.zeros(2)
    with pytest.raises(ValueError, match="optimizer='adam'"):
        AdamStateProbe(every=1)(1, sgd)
    with pytest.raises(ValueError, match="no step was sampled"):
        AdamStateProbe(every=1000).summary()
