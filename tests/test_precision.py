"""The precision table: names, dtypes, autocast and scaler decisions, device support."""

from __future__ import annotations

import pytest
import torch

from precision_kit.errors import UnsupportedError
from precision_kit.models import mlp
from precision_kit.precision import (
    INFERENCE_PRECISIONS,
    PRECISIONS,
    autocast,
    cast_for_inference,
    check_supported,
    get_precision,
    grad_scaler,
)

CPU = torch.device("cpu")


def test_table_lists_every_mode_of_the_issue():
    assert set(PRECISIONS) == {"fp64", "fp32", "tf32", "fp16", "bf16", "amp-fp16", "amp-bf16"}


@pytest.mark.parametrize(
    "name, param, amp, scaler",
    [
        ("fp64", torch.float64, None, False),
        ("fp32", torch.float32, None, False),
        ("tf32", torch.float32, None, False),
        ("fp16", torch.float16, None, False),
        ("bf16", torch.bfloat16, None, False),
        ("amp-fp16", torch.float32, torch.float16, True),
        ("amp-bf16", torch.float32, torch.bfloat16, False),
    ],
)
def test_row(name, param, amp, scaler):
    p = get_precision(name)
    assert (p.param_dtype, p.autocast_dtype, p.grad_scaler) == (param, amp, scaler)
    assert p.compute_dtype == (amp or param)


def test_adam_eps_is_representable_in_the_parameter_dtype():
    for p in PRECISIONS.values():
        eps = torch.tensor(p.adam_eps, dtype=p.param_dtype)
        assert eps > 0, p.name
    assert torch.tensor(1e-8, dtype=torch.float16) == 0  # why fp16 needs its own eps


def test_unknown_precision_lists_valid_names():
    with pytest.raises(ValueError, match="fp8.*expected one of fp64, fp32, tf32, fp16, bf16, amp-fp16, amp-bf16"):
        get_precision("fp8")


def test_tf32_on_cpu_is_unsupported_with_advice():
    with pytest.raises(UnsupportedError, match="needs a CUDA device.*Use 'fp32' on CPU"):
        check_supported("tf32", CPU)
    for name in set(PRECISIONS) - {"tf32"}:
        assert check_supported(name, CPU).name == name


def test_autocast_runs_matmuls_in_the_amp_dtype_on_cpu():
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast("amp-bf16", CPU):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("fp32", CPU):
        assert (a @ b).dtype == torch.float32


def test_grad_scaler_only_for_amp_fp16():
    assert isinstance(grad_scaler("amp-fp16", CPU), torch.amp.GradScaler)
    assert all(grad_scaler(n, CPU) is None for n in PRECISIONS if n != "amp-fp16")


@pytest.mark.parametrize("name", INFERENCE_PRECISIONS)
def test_cast_for_inference_copies_and_casts(name):
    model = mlp(2, 16, seed=0)
    before = [p.clone() for p in model.parameters()]
    cast = cast_for_inference(model, name)
    assert all(p.dtype == PRECISIONS[name].param_dtype for p in cast.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=False))  # input untouched
    assert not cast.training


def test_cast_for_inference_rejects_training_modes():
    with pytest.raises(ValueError, match="amp-fp16.*expected one of fp64, fp32, fp16, bf16"):
        cast_for_inference(mlp(1, 4), "amp-fp16")


def test_flush_denormals_restores_the_previous_setting():
    from precision_kit.precision import _denormals_flushed, flush_denormals

    torch.set_flush_denormal(False)
    with flush_denormals():
        assert _denormals_flushed()
    assert not _denormals_flushed()  # hypothesis and numpy get IEEE subnormals back
