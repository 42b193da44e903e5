"""INT8 dynamic quantization through onnxruntime: a peer of torch.ao and torchao for BI-2's
sizes and BI-7's CPU latency (`quantize.quantize_int8(model, "onnxruntime-dynamic")`).

The model is written as an ONNX graph straight from its weights (Flatten, MatMul + Add per
Linear, Relu/Sigmoid; Dropout is the identity in eval mode), so no exporter is involved;
`onnxruntime.quantization.quantize_dynamic` then stores the weights as int8 (per tensor) and
quantizes the activations at run time, and an `InferenceSession` on the CPU (as many intra-op
threads as torch uses) runs it. The result is an `nn.Module` whose forward goes through that
session; its state_dict holds the quantized graph's tensors (int8 weights, their scales and
zero points, the float biases), so `size.model_size` measures it like the other backends.

Needs the optional `onnx` and `onnxruntime` packages (`pip install 'precision-kit[onnx]'`,
part of the dev extra); without them the backend raises `UnsupportedError` with that hint.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import PrecisionKitError, UnsupportedError

BACKEND = "onnxruntime-dynamic"
_HINT = "install the onnx extra (pip install 'precision-kit[onnx]': onnx and onnxruntime) or pick another backend"
_QUANTIZED_OPS = ("DynamicQuantizeMatMul", "MatMulInteger")


def _modules():
    try:
        import onnx
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:
        raise UnsupportedError(f"backend {BACKEND!r} needs onnx and onnxruntime ({err}); {_HINT}") from err
    return onnx, onnxruntime, QuantType, quantize_dynamic


def model_proto(model: nn.Module):
    """The float32 ONNX graph of an `nn.Sequential` of Flatten, Linear, ReLU, Sigmoid and
    Dropout (an MLP), from its weights; other layers raise `UnsupportedError`. Its input is
    the flattened batch, (batch, in_features): `OnnxInt8.forward` flattens, so a Flatten layer
    is the identity in the graph."""
    onnx, *_ = _modules()
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(model, nn.Sequential):
        raise UnsupportedError(f"backend {BACKEND!r} writes nn.Sequential MLPs as ONNX; found {type(model).__name__}")
    nodes, inits, name, width = [], [], "input", None
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for i, layer in enumerate(model):
        out = f"h{i}"
        if isinstance(layer, (nn.Flatten, nn.Dropout)):
            continue  # the input arrives flattened; dropout is the identity in eval mode
        if isinstance(layer, nn.Linear):
            w = layer.weight.detach().float().cpu().numpy().T.copy()  # (in, out) for MatMul
            inits.append(numpy_helper.from_array(w, f"W{i}"))
            inits.append(numpy_helper.from_array(layer.bias.detach().float().cpu().numpy(), f"B{i}"))
            nodes.append(helper.make_node("MatMul", [name, f"W{i}"], [f"m{i}"]))
            nodes.append(helper.make_node("Add", [f"m{i}", f"B{i}"], [out]))
            width = layer.out_features
        elif isinstance(layer, nn.ReLU):
            nodes.append(helper.make_node("Relu", [name], [out]))
        elif isinstance(layer, nn.Sigmoid):
            nodes.append(helper.make_node("Sigmoid", [name], [out]))
        else:
            raise UnsupportedError(f"backend {BACKEND!r} cannot write a {type(layer).__name__} as ONNX; it takes "
                                   "MLPs of Flatten, Linear, ReLU, Sigmoid and Dropout")
        name = out
    if width is None:
        raise UnsupportedError(f"backend {BACKEND!r} quantizes Linear layers; the model has none")
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", linears[0].in_features])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", width])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(proto)
    return proto


class OnnxInt8(nn.Module):
    """An int8 ONNX model run by onnxruntime on the CPU; `onnx_bytes` is the quantized file,
    `layer_ops` what each former Linear (by its name in the Sequential) runs as."""

    def __init__(self, onnx_bytes: bytes, tensors: dict[str, torch.Tensor], threads: int,
                 layer_ops: dict[str, str] | None = None) -> None:
        super().__init__()
        self.layer_ops = dict(layer_ops or {})
        _, ort, *_ = _modules()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.onnx_bytes = onnx_bytes
        self.threads = threads
        self._session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        for key, t in tensors.items():
            self.register_buffer(re.sub(r"\W", "_", key), t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", torch.float32).reshape(x.shape[0], -1).contiguous().numpy()
        (out,) = self._session.run(None, {self._input: array})
        return torch.from_numpy(out)


def quantize_onnx_dynamic(model: nn.Module) -> OnnxInt8:
    """`model` (an MLP) as an int8 ONNX model: weights int8 per tensor, activations quantized
    at run time (onnxruntime's dynamic quantization). Every MatMul must come out quantized,
    else `PrecisionKitError`."""
    onnx, _, QuantType, quantize_dynamic = _modules()
    from onnx import numpy_helper

    proto = model_proto(model)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(proto, src)
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        data = dst.read_bytes()
    quantized = onnx.load_from_string(data)
    ops = [n.op_type for n in quantized.graph.node]
    if "MatMul" in ops or not any(op in _QUANTIZED_OPS for op in ops):
        raise PrecisionKitError(f"backend {BACKEND!r} left a MatMul in float (ops after quantization: {ops}); "
                                "expected every MatMul replaced by an integer one")
    arrays = {t.name: numpy_helper.to_array(t).copy() for t in quantized.graph.initializer}
    layer_ops = {m.group(1): node.op_type for node in quantized.graph.node if node.op_type in _QUANTIZED_OPS
                 for i in node.input if (m := re.fullmatch(r"W(\d+)(_quantized)?", i))}
    return OnnxInt8(data, _as_tensors(arrays), torch.get_num_threads(), layer_ops)


def _as_tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The quantized graph's tensors for the module's state_dict: each int8 weight with its
    scale and zero point as one per-tensor qint8 tensor (as torch.ao stores it, so
    `size.model_size` counts the weights at 8 bits and the quantizer as overhead), the rest
    (float biases) as they are."""
    out, used = {}, set()
    for name, values in arrays.items():
        base = name.removesuffix("_quantized")
        scale, zero = arrays.get(f"{base}_scale"), arrays.get(f"{base}_zero_point")
        if base != name and values.dtype == np.int8 and scale is not None and zero is not None:
            out[name] = torch._make_per_tensor_quantized_tensor(
                torch.from_numpy(values), float(scale.reshape(-1)[0]), int(zero.reshape(-1)[0]))
            used.update({f"{base}_scale", f"{base}_zero_point"})
    for name, values in arrays.items():
        if name not in out and name not in used:
            out[name] = torch.from_numpy(values)
    return out


def available() -> str | None:
    """Why the backend cannot run here, or None when onnx and onnxruntime are installed."""
    try:
        _modules()
    except UnsupportedError as err:
        return str(err)
    return None
