"""Tests of precision_kit.size: measured model sizes and the packed rounded encoding."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import struct
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from torch import nn

from precision_kit.errors import DataError
from precision_kit.packing import RoundedEncoding, pack_rounded, unpack_rounded
from precision_kit.quantize import quantize_int8, round_tensor, round_weights
from precision_kit.size import SizeReport, cpu_copy, cpu_state_dict, model_size

HAS_TORCHAO = importlib.util.find_spec("torchao") is not None

pytestmark = [
    pytest.mark.cpu,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*quantized tensor creation functions.*:UserWarning"),
]


def make_mlp(seed: int = 0) -> nn.Sequential:
    """784-128-128-10 float32 MLP."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def tied_mlp() -> nn.Sequential:
    """Two Linear layers sharing one weight: the state_dict holds it twice, torch.save once."""
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.BatchNorm1d(16))
    model[2].weight = model[0].weight
    return model


def size_models() -> dict:
    """Models whose state_dicts hold every kind of entry: float, tied, integer buffers, torch.ao
    quantized (a Parameter bias inside `_packed_params`), torchao subclasses."""
    models = {"float32": make_mlp(), "tied": tied_mlp(), "torch.ao": quantize_int8(make_mlp(), "torch.ao")}
    if HAS_TORCHAO:
        models["torchao"] = quantize_int8(make_mlp(), "torchao-dynamic")
    return models


def save_bytes(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def saved(state) -> dict[str, bytes]:
    """The records of `torch.save(state)`: the pickle and every storage (the per-save id left out)."""
    with zipfile.ZipFile(io.BytesIO(save_bytes(state))) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()
                if not name.endswith("serialization_id")}


def tensors(value):
    """Every tensor of a state_dict entry, inside tuples and lists too."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors(v)]
    return [value] if isinstance(value, torch.Tensor) else []


def param_counts(model: nn.Module) -> tuple[int, int]:
    """(weight-matrix scalars, bias scalars) of the Linear layers."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return sum(m.weight.numel() for m in linears), sum(m.bias.numel() for m in linears)


# ----------------------------------------------------------------------------- model_size
def test_float32_mlp_size():
    model = make_mlp()
    n_params = sum(p.numel() for p in model.parameters())
    report = model_size(model)
    assert report.tensor_bytes == 4 * n_params
    assert report.n_weights == n_params
    assert report.bits_per_weight == 32.0 and report.overhead_bytes == 0
    assert report.tensor_bytes < report.serialized_bytes < report.tensor_bytes + 10_000


def test_float16_cast_halves_tensor_bytes():
    model = make_mlp()
    fp32 = model_size(model)
    fp16 = model_size(model.half())
    assert 2 * fp16.tensor_bytes == fp32.tensor_bytes
    assert fp16.bits_per_weight == 16.0 and fp16.n_weights == fp32.n_weights
    assert fp16.reduction_vs(fp32) == pytest.approx(0.5, abs=0.01)


def test_torch_ao_int8_size():
    model = make_mlp()
    n_w, n_b = param_counts(model)
    fp32 = model_size(model)
    int8 = model_size(quantize_int8(model, "torch.ao"))
    assert 0.6 < int8.reduction_vs(fp32) < 0.8
    assert int8.n_weights == n_w + n_b
    # per layer: weight scale (double) + zero point (int64), module output scale + zero point
    assert 0 < int8.overhead_bytes < 50 * 3
    assert int8.tensor_bytes == n_w * 1 + n_b * 4 + int8.overhead_bytes
    assert int8.bits_per_weight == pytest.approx((8 * n_w + 32 * n_b) / (n_w + n_b))
    assert int8.tensor_bytes < int8.serialized_bytes < int8.tensor_bytes + 10_000


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao is not installed")
@pytest.mark.parametrize("backend", ["torchao-dynamic", "torchao-weight-only"])
def test_torchao_int8_size_counts_subclass_data_and_scales(backend):
    model = make_mlp()
    n_w, n_b = param_counts(model)
    fp32 = model_size(model)
    int8 = model_size(quantize_int8(model, backend))
    rows = 128 + 128 + 10  # per-row scales (and zero points)
    assert int8.n_weights == n_w + n_b
    assert int8.overhead_bytes >= rows * 4
    assert int8.tensor_bytes == n_w + 4 * n_b + int8.overhead_bytes
    assert int8.bits_per_weight == pytest.approx((8 * n_w + 32 * n_b) / (n_w + n_b))
    assert 0.6 < int8.reduction_vs(fp32) < 0.8


def test_integer_buffers_are_overhead_and_model_is_not_modified():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = model_size(model)
    # Linear 12+3, BatchNorm weight, bias, running mean, running var 4×3
    assert report.n_weights == 27 and report.overhead_bytes == 8  # num_batches_tracked int64
    assert report.tensor_bytes == 27 * 4 + 8
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize("kind", list(size_models()))
def test_serialized_bytes_are_those_torch_save_writes_for_the_cpu_model(kind):
    """The CPU figure is what it always was (stored baselines compare sizes exactly)."""
    model = size_models()[kind]
    assert model_size(model).serialized_bytes == len(save_bytes(model.state_dict()))


def test_serialized_bytes_do_not_depend_on_where_the_tensors_live():
    """The same weights moved to the CPU explicitly (fresh storages) measure the same bytes."""
    model = make_mlp()
    moved = copy.copy(model.state_dict())  # keeps the state_dict's `_metadata`, which torch.save writes
    for name, value in moved.items():
        moved[name] = value.to("cpu", copy=True)
    assert moved["1.weight"].data_ptr() != model.state_dict()["1.weight"].data_ptr()
    assert model_size(moved).serialized_bytes == model_size(model).serialized_bytes


# cpu_state_dict on every kind (CPU states come back as they are), and the copy it makes of a
# CUDA state, run here on CPU states (no GPU): torchao's state reloads with another pickle memo.
CONVERSIONS = [(cpu_state_dict, kind) for kind in size_models()] + [
    (cpu_copy, kind) for kind in ("float32", "tied", "torch.ao")]


@pytest.mark.parametrize(("convert", "kind"), CONVERSIONS, ids=lambda x: getattr(x, "__name__", x))
def test_every_tensor_goes_to_the_cpu_and_nothing_else_changes(convert, kind):
    state = size_models()[kind].state_dict()
    cpu = convert(state)
    assert list(cpu) == list(state) and cpu._metadata == state._metadata
    for name, value in state.items():
        before, after = tensors(value), tensors(cpu[name])
        assert [type(t) for t in after] == [type(t) for t in before]  # Parameters stay Parameters
        assert all(t.device.type == "cpu" for t in after)
        assert all(torch.equal(a.dequantize(), b.dequantize()) for a, b in zip(after, before, strict=True)
                   if type(a) is torch.Tensor)
    assert saved(cpu) == saved(state)  # the same pickle and storages, byte for byte


def test_a_state_already_on_the_cpu_is_measured_as_it_is():
    state = tied_mlp().state_dict()
    assert cpu_state_dict(state) is state  # no copy, no second serialization


def test_the_cpu_copy_is_a_copy_and_keeps_tied_weights_tied():
    model = tied_mlp()
    cpu = cpu_copy(model.state_dict())
    assert cpu["0.weight"].data_ptr() == cpu["2.weight"].data_ptr()
    assert cpu["0.weight"].data_ptr() != model[0].weight.data_ptr()


def test_size_report_errors():
    report = SizeReport(100, 90, 10, 32.0, 0)
    with pytest.raises(ValueError, match="serialized_bytes"):
        report.reduction_vs(SizeReport(0, 0, 0, 0.0, 0))
    with pytest.raises(ValueError, match="nn.Module"):
        model_size([torch.zeros(3)])
    with pytest.raises(ValueError, match="no weight"):
        model_size(nn.ReLU())
    assert model_size(make_mlp().state_dict()).n_weights == sum(param_counts(make_mlp()))


# ----------------------------------------------------------------------------- pack_rounded
@pytest.mark.parametrize("d", range(6))
def test_round_trip_equals_round_weights(d):
    model = make_mlp()
    enc = pack_rounded(model, d)
    assert isinstance(enc, RoundedEncoding) and enc.decimals == d
    assert enc.nbytes == len(enc.data) and enc.n_weights == sum(param_counts(model))
    decoded = unpack_rounded(enc.data)
    expected = round_weights(model, d).state_dict()
    assert decoded.keys() == expected.keys()
    for name, value in expected.items():
        assert decoded[name].dtype == torch.float32
        assert torch.equal(decoded[name], value), name
        k_dec = torch.round(decoded[name].double() * 10**d).long()
        k_ref = torch.round(model.state_dict()[name].double() * 10**d).long()
        assert torch.equal(k_dec, k_ref), name


def test_three_decimals_within_half_need_10_bits_paper_says_11():
    gen = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) - 0.5)
            p.view(-1)[:2] = torch.tensor([-0.5, 0.5])  # the full range -500..500 is used
    enc = pack_rounded(model, 3)
    n = enc.n_weights
    assert 10.0 <= enc.bits_per_weight < 10.0 + 8 / n  # only the final byte is padded
    assert enc.paper_bits_per_weight == 11  # 1 sign + 0 integer + ceil(log2(1000)) decimal
    assert enc.nbytes < 4 * n  # smaller than float32
    assert enc.nbytes < n * 10 / 8 + 1000  # header is small


def test_paper_bits_count_integer_part():
    state = {"w": torch.tensor([-5.25, 0.1, 3.0])}
    enc = pack_rounded(state, 2)
    assert enc.paper_bits_per_weight == 1 + 3 + 7  # |int| ≤ 5 → 3 bits, ceil(log2(100)) = 7
    assert pack_rounded(state, 0).paper_bits_per_weight == 1 + 3
    assert enc.bits_per_weight == 32 / 3  # k in -525..300: 10 bits each; 30 bits → 4 bytes


def test_special_tensors_round_trip():
    state = {
        "const": torch.full((5,), 0.25),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(-1.5),
        "count": torch.tensor(7, dtype=torch.int64),
        "flags": torch.tensor([True, False]),
    }
    decoded = unpack_rounded(pack_rounded(state, 1).data)
    assert torch.equal(decoded["const"], torch.full((5,), 0.2))  # round half to even
    assert decoded["empty"].shape == (0, 3) and decoded["scalar"].shape == ()
    assert decoded["scalar"].item() == -1.5
    assert decoded["count"].dtype == torch.int64 and decoded["count"].item() == 7
    assert torch.equal(decoded["flags"], state["flags"])


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(np.float32, array_shapes(min_dims=0, max_dims=3, max_side=6),
                  elements=st.floats(-1000, 1000, width=32)),
    d=st.integers(0, 4),
)
def test_round_trip_property(values, d):
    w = torch.from_numpy(np.ascontiguousarray(values))
    decoded = unpack_rounded(pack_rounded({"w": w, "b": -w}, d).data)
    assert torch.equal(decoded["w"], round_tensor(w, d))
    assert torch.equal(decoded["b"], round_tensor(-w, d))
    assert decoded["w"].shape == w.shape


def test_pack_rejects_bad_inputs():
    with pytest.raises(ValueError, match="decimals"):
        pack_rounded(make_mlp(), 9)
    with pytest.raises(ValueError, match="NaN"):
        pack_rounded({"w": torch.tensor([float("nan")])}, 2)
    with pytest.raises(ValueError, match="2\\^62"):
        pack_rounded({"w": torch.tensor([3e38])}, 2)
    with pytest.raises(ValueError, match="float model"):
        pack_rounded(quantize_int8(make_mlp()), 2)
    with pytest.raises(ValueError, match="no tensor values"):
        pack_rounded({}, 2)


def _rebuild(data: bytes, edit) -> bytes:
    magic, version, hlen = struct.unpack_from("<4sBI", data)
    header = json.loads(data[9:9 + hlen])
    edit(header)
    raw = json.dumps(header).encode()
    return struct.pack("<4sBI", magic, version, len(raw)) + raw + data[9 + hlen:]


def test_corrupt_or_truncated_data_raises_data_error():
    data = pack_rounded(make_mlp(), 3).data
    unpack_rounded(bytearray(data))  # bytes-like is accepted
    corrupt = {
        "empty": b"",
        "bad magic": b"XXXX" + data[4:],
        "bad version": data[:4] + b"\x09" + data[5:],
        "truncated payload": data[:-1],
        "trailing byte": data + b"\x00",
        "truncated header": data[:20],
        "not json": data[:9] + b"\xff" * (len(data) - 9),
        "bad bits": _rebuild(data, lambda h: h["tensors"][0].update(bits=70)),
        "bad shape": _rebuild(data, lambda h: h["tensors"][0].update(shape=[999999])),
        "missing name": _rebuild(data, lambda h: h["tensors"][0].pop("name")),
        "bad decimals": _rebuild(data, lambda h: h.update(decimals=12)),
        "short payload": _rebuild(data, lambda h: h["tensors"][0].update(shape=[1])),
    }
    for what, blob in corrupt.items():
        with pytest.raises(DataError, match="expected|corrupt|truncated"):
            unpack_rounded(blob)
            pytest.fail(f"{what}: no DataError")
    with pytest.raises(ValueError, match="bytes"):
        unpack_rounded("not bytes")
