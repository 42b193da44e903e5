"""Tests of precision_kit.quantize: INT8 dynamic quantization and decimal rounding."""

from __future__ import annotations

import copy
import importlib.util
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from precision_kit import onnx_int8
from precision_kit.errors import PrecisionKitError, UnsupportedError
from precision_kit.quantize import (
    INT8_BACKENDS,
    quantize_int8,
    quantized_layer_types,
    round_tensor,
    round_weights,
)
from precision_kit.size import model_size

HAS_TORCHAO = importlib.util.find_spec("torchao") is not None
DYNAMIC_LINEAR = "torch.ao.nn.quantized.dynamic.modules.linear.Linear"

pytestmark = [
    pytest.mark.cpu,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions.*:UserWarning"),
]


def make_mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def make_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 13 * 13, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10),
    )


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    for k, v in before.items():
        assert type(after[k]) in (torch.Tensor, nn.Parameter)
        assert after[k].dtype == v.dtype and torch.equal(after[k], v), k


def needs_backend(backend: str) -> None:
    if backend.startswith("torchao") and not HAS_TORCHAO:
        pytest.skip("torchao is not installed (pip install torchao)")
    if backend == "onnxruntime-dynamic" and onnx_int8.available():
        pytest.skip(onnx_int8.available())


# ----------------------------------------------------------------------------- quantize_int8
@pytest.mark.parametrize("backend", INT8_BACKENDS)
@pytest.mark.parametrize("make", [make_mlp, make_cnn], ids=["mlp", "cnn"])
def test_quantize_int8_runs_quantized_layers_close_but_not_identical(backend, make):
    needs_backend(backend)
    model = make().eval()
    before = snapshot(model)
    if backend == "onnxruntime-dynamic" and make is make_cnn:
        with pytest.raises(UnsupportedError, match="cannot write a Conv2d"):  # it writes MLPs as ONNX
            quantize_int8(model, backend)
        return
    qmodel = quantize_int8(model, backend)
    assert_unchanged(model, before)
    assert all(isinstance(m, nn.Linear) for m in model if "Linear" in type(m).__name__)

    types = quantized_layer_types(qmodel)
    linear_names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    assert sorted(types) == sorted(linear_names)
    for name, kind in types.items():
        if backend == "torch.ao":
            assert kind == DYNAMIC_LINEAR, (name, kind)
        elif backend == "onnxruntime-dynamic":
            assert kind in ("onnxruntime.DynamicQuantizeMatMul", "onnxruntime.MatMulInteger"), (name, kind)
        else:
            assert kind == "torch.nn.Linear(weight=Int8Tensor)", (name, kind)

    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref, out = model(x), qmodel(x)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    rel = (out - ref).abs().max() / ref.abs().max()
    assert rel < 0.05, f"quantized output too far from float: {rel:.4f}"
    assert not torch.equal(out, ref), "bit-identical output: no quantization happened"


def test_float_model_layer_types_report_float_weights():
    types = quantized_layer_types(make_mlp())
    assert types == {name: "torch.nn.Linear(weight=Parameter[float32])" for name in ("1", "3", "5")}


def test_float16_input_model_is_quantized_from_a_float32_copy():
    model = make_mlp().half()
    before = snapshot(model)
    qmodel = quantize_int8(model)
    assert_unchanged(model, before)
    assert set(quantized_layer_types(qmodel).values()) == {DYNAMIC_LINEAR}
    out = qmodel(torch.randn(4, 784))
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_model_is_copied_to_cpu():
    model = make_mlp().cuda()
    qmodel = quantize_int8(model)
    assert next(model.parameters()).is_cuda
    assert qmodel(torch.randn(2, 784)).device.type == "cpu"


def test_unknown_backend_lists_the_backends():
    with pytest.raises(ValueError) as info:
        quantize_int8(make_mlp(), "tensorrt")
    for name in INT8_BACKENDS:
        assert name in str(info.value)


def test_model_without_linear_is_rejected():
    with pytest.raises(ValueError, match="nn.Linear"):
        quantize_int8(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()))


def test_not_a_module_is_rejected():
    with pytest.raises(ValueError, match="nn.Module"):
        quantize_int8({"weight": torch.zeros(2, 2)})


def test_silent_float_fallback_is_detected(monkeypatch):
    monkeypatch.setattr(
        torch.ao.quantization, "quantize_dynamic", lambda m, *a, **k: copy.deepcopy(m)
    )
    with pytest.raises(PrecisionKitError, match="'1'"):
        quantize_int8(make_mlp(), "torch.ao")


def test_engine_is_restored_after_quantization():
    engines = torch.backends.quantized.supported_engines
    if "qnnpack" not in engines or not {"x86", "fbgemm"} & set(engines):
        pytest.skip(f"needs qnnpack and x86/fbgemm engines, found {engines}")
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = "qnnpack"
    try:
        qmodel = quantize_int8(make_mlp())
        assert torch.backends.quantized.engine == "qnnpack"
    finally:
        torch.backends.quantized.engine = previous
    assert torch.isfinite(qmodel(torch.randn(3, 784))).all()


def test_missing_onnxruntime_raises_unsupported_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(UnsupportedError, match="onnx extra"):
        quantize_int8(make_mlp(), "onnxruntime-dynamic")


def test_the_onnxruntime_model_is_int8_at_8_bits_per_weight_and_about_a_quarter_of_the_size():
    needs_backend("onnxruntime-dynamic")
    model = make_mlp().eval()
    q = quantize_int8(model, "onnxruntime-dynamic")
    before, after = model_size(model), model_size(q)
    assert after.bits_per_weight == pytest.approx(8.0, abs=1.0)  # int8 weights, float32 biases
    assert 0.70 <= after.reduction_vs(before) <= 0.76 and after.n_weights == before.n_weights
    assert len(q.onnx_bytes) < before.serialized_bytes / 3


@pytest.mark.parametrize("backend", ["torchao-dynamic", "torchao-weight-only"])
def test_missing_torchao_raises_unsupported_with_install_hint(monkeypatch, backend):
    monkeypatch.setitem(sys.modules, "torchao", None)
    with pytest.raises(UnsupportedError, match="pip install torchao") as info:
        quantize_int8(make_mlp(), backend)
    assert isinstance(info.value, RuntimeError)


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao is not installed")
def test_torchao_old_function_spelling_is_supported(monkeypatch):
    import torchao.quantization as tq

    from precision_kit import quantize as q

    sentinel = object()
    monkeypatch.delattr(tq, "Int8WeightOnlyConfig", raising=False)
    monkeypatch.setattr(tq, "int8_weight_only", lambda: sentinel, raising=False)
    assert q._torchao_config("torchao-weight-only") is sentinel


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao is not installed")
def test_torchao_skipped_layer_is_detected():
    import torchao.quantization as tq

    def skip_first(model, config):
        def keep(module, fqn):
            return isinstance(module, nn.Linear) and fqn != "1"

        tq.quantize_(model, config, filter_fn=keep)

    from precision_kit import quantize as q

    model = make_mlp()
    copy_ = q._cpu_fp32_eval_copy(model)
    skip_first(copy_, q._torchao_config("torchao-dynamic"))
    with pytest.raises(PrecisionKitError, match="'1'"):
        q._verify_quantized(copy_, ["1", "3", "5"], "torchao-dynamic")


# ----------------------------------------------------------------------------- round_weights
class Holder(nn.Module):
    def __init__(self, values: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(values)


def float_arrays(width: int):
    dtype = np.float32 if width == 32 else np.float16
    return arrays(dtype, st.integers(1, 40),
                  elements=st.floats(width=width, allow_nan=False, allow_infinity=False))


@pytest.mark.parametrize("bad", [-1, 9, 1.0, True, "3", None])
def test_round_weights_rejects_bad_decimals(bad):
    with pytest.raises(ValueError, match="decimals"):
        round_weights(make_mlp(), bad)


def check_rounding(values: np.ndarray, d: int) -> None:
    w = torch.from_numpy(values.copy())
    model = Holder(w.clone())
    once = round_weights(model, d)
    assert torch.equal(model.w.detach(), w), "input model modified"
    r = once.w.detach()
    assert r.dtype == w.dtype
    info = torch.finfo(w.dtype)
    w64, r64 = w.double(), r.double()
    bound = 0.5 * 10.0**-d + info.eps * torch.maximum(w64.abs(), r64.abs()) + info.tiny
    assert ((r64 - w64).abs() <= bound).all()
    twice = round_weights(once, d).w.detach()
    assert torch.equal(twice, r), "rounding is not idempotent"


@settings(max_examples=150, deadline=None)
@given(values=float_arrays(32), d=st.integers(0, 6))
def test_round_weights_float32_properties(values, d):
    check_rounding(values, d)


@settings(max_examples=150, deadline=None)
@given(values=float_arrays(16), d=st.integers(0, 6))
def test_round_weights_float16_properties(values, d):
    check_rounding(values, d)


@settings(max_examples=100, deadline=None)
@given(values=arrays(np.float32, st.integers(1, 40),
                     elements=st.floats(-1000, 1000, width=32)))
def test_round_weights_many_decimals_nearly_unchanged(values):
    w = torch.from_numpy(values.copy())
    r = round_weights(Holder(w.clone()), 8).w.detach()
    assert ((r.double() - w.double()).abs() <= 0.5e-8 + 2 * 2.0**-24 * w.double().abs()).all()


def test_round_weights_rounds_every_parameter_of_a_model():
    model = make_cnn()
    before = snapshot(model)
    rounded = round_weights(model, 2)
    assert_unchanged(model, before)
    for (name, p), (_, q) in zip(model.named_parameters(), rounded.named_parameters(), strict=False):
        assert q.dtype == p.dtype and q.shape == p.shape, name
        k = q.detach().double() * 100
        assert torch.allclose(k, k.round(), atol=1e-4), name
        assert torch.equal(q.detach(), round_tensor(p, 2)), name
    assert not torch.equal(rounded[0].weight, model[0].weight)
