"""Evaluation: safe input copies, the precision's matmul mode around the forward passes, results."""

from __future__ import annotations

import contextlib
import importlib

import pytest
import torch
import torch.nn.functional as F
from synthetic import synthetic_dataset

from precision_kit.evaluate import copy_can_be_async, evaluate, forward_split
from precision_kit.models import mlp
from precision_kit.precision import matmul_mode

pytestmark = pytest.mark.cpu

# The module, not the `evaluate` function that precision_kit re-exports under the same name.
evaluate_module = importlib.import_module("precision_kit.evaluate")
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=100, n_test=300)


class CopyRecorder(torch.Tensor):
    """A tensor that records the `non_blocking` argument of every `.to` called on it."""

    calls: list[bool] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.to:
            cls.calls.append((kwargs or {}).get("non_blocking", False))
        return super().__torch_function__(func, types, args, kwargs)


def recording_matmul_mode(entered: list, inside: list[bool]):
    """A stand-in for `matmul_mode` that records its arguments and whether it is active."""

    @contextlib.contextmanager
    def fake_matmul_mode(precision, device):
        entered.append((precision.name, device))
        inside.append(True)
        try:
            yield
        finally:
            inside.pop()

    return fake_matmul_mode


# ----------------------------------------------------------------------------- input copies
@pytest.mark.parametrize(
    "source, target, expected",
    [(CPU, CUDA, True), (CUDA, CPU, False), (CPU, CPU, False), (CUDA, CUDA, False)],
)
def test_only_a_host_to_cuda_copy_is_non_blocking(source, target, expected):
    """A CUDA → CPU copy (a CPU-only int8 model on a dataset resident on the GPU) must block."""
    assert copy_can_be_async(source, target) is expected


@pytest.mark.parametrize("async_ok", [False, True])
def test_forward_split_copies_chunks_as_the_helper_decides(monkeypatch, async_ok):
    decisions = []

    def decide(source, target):
        decisions.append((source, target))
        return async_ok

    monkeypatch.setattr(evaluate_module, "copy_can_be_async", decide)
    CopyRecorder.calls = []
    images = torch.rand(10, 1, 28, 28).as_subclass(CopyRecorder)
    forward_split(mlp(1, 8, seed=0), images, batch_size=4)
    assert decisions == [(CPU, CPU)]
    assert CopyRecorder.calls == [async_ok] * 3  # one copy per chunk of 4, 4, 2 images


def test_forward_split_equals_a_blocking_reference_and_restores_training_mode():
    """The CPU path: chunks cast to the model's dtype (float64 here), logits in float32."""
    model = mlp(2, 32, seed=1).double().train()
    images = torch.rand(25, 1, 28, 28)
    logits = forward_split(model, images, batch_size=10)
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = torch.cat([model(c.to(torch.float64)).float() for c in images.split(10)])
    assert logits.dtype == torch.float32 and torch.equal(logits, expected)


# ----------------------------------------------------------------------------- matmul mode
@pytest.mark.parametrize("precision, dtype", [(None, torch.float32), ("fp64", torch.float64), ("amp-bf16", None)])
def test_evaluate_runs_every_forward_pass_inside_the_precisions_matmul_mode(monkeypatch, data, precision, dtype):
    entered, inside, seen = [], [], []
    model = mlp(1, 16, seed=0).to(dtype or torch.float32)
    model.register_forward_hook(lambda *_: seen.append(bool(inside)))
    monkeypatch.setattr(evaluate_module, "matmul_mode", recording_matmul_mode(entered, inside))
    evaluate(model, data, precision=precision, batch_size=128)
    assert entered == [(precision or "fp32", CPU)]
    assert seen == [True, True, True]  # 300 test images in chunks of 128


def test_fp32_evaluation_sees_tf32_off_whatever_cudnn_defaults_to(monkeypatch, data):
    """On CUDA, cuDNN's default TF32=on would make fp32 convolutions TF32 ones; under the fp32
    matmul mode (here the real one, told the device is CUDA) the forward pass sees it off."""
    monkeypatch.setattr(evaluate_module, "matmul_mode", lambda p, device: matmul_mode(p, CUDA))
    flags = []
    model = mlp(1, 16, seed=0)
    model.register_forward_hook(lambda *_: flags.append(tf32_flags()))
    saved = tf32_flags()
    try:
        set_tf32_flags(True, True)
        evaluate(model, data)
        after = tf32_flags()
    finally:
        set_tf32_flags(*saved)
    assert flags == [(False, False)]
    assert after == (True, True)  # restored


def tf32_flags() -> tuple[bool, bool]:
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


def set_tf32_flags(matmul: bool, cudnn: bool) -> None:
    # Set by hand: monkeypatch cannot restore the cuBLAS module's flag (it is no plain attribute).
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def test_evaluate_on_cpu_matches_the_plain_forward_pass(data):
    model = mlp(2, 32, seed=3)
    result = evaluate(model, data)
    with torch.no_grad():
        logits = model.eval()(data.test.images)
    pred = logits.argmax(1)
    assert torch.equal(result.correct, pred == data.test.labels)
    assert result.n == len(data.test.labels) and result.n_correct == int((pred == data.test.labels).sum())
    assert result.loss == pytest.approx(F.cross_entropy(logits, data.test.labels).item(), rel=1e-6)
    assert int(result.confusion.sum()) == result.n and int(result.confusion.trace()) == result.n_correct
