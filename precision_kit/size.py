"""Model size measurement: serialized bytes, tensor bytes and bits per weight.

`model_size` measures what a model's state_dict takes: the bytes `torch.save` writes, the bytes
of the tensors themselves (float, torch.ao quantized and torchao tensor subclasses alike) and the
bits per weight. The packed encoding of rounded weights is `precision_kit.packing`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

_META_NAMES = ("scale", "zero_point")
# torch stores a per-tensor quantizer's scale as a double and its zero point as an int64.
_PER_TENSOR_QPARAM_BYTES = 16


@dataclass(frozen=True)
class SizeReport:
    """Measured size of a model's state_dict.

    serialized_bytes: len of `torch.save(state_dict)` into memory (the "file size") of the
        state_dict's CPU copy, so the figure is the same whichever device the model lives on.
    tensor_bytes: bytes of every tensor in the state_dict, weights plus `overhead_bytes`.
    n_weights: number of weight/bias scalars (every floating-point or quantized scalar).
    bits_per_weight: storage bits of those scalars / n_weights (int8 → 8, float32 → 32),
        quantization scales and zero points excluded.
    overhead_bytes: bytes of scales, zero points and other non-weight tensors.
    """

    serialized_bytes: int
    tensor_bytes: int
    n_weights: int
    bits_per_weight: float
    overhead_bytes: int

    def reduction_vs(self, other: SizeReport) -> float:
        """Fractional reduction of serialized bytes: 1 - self.serialized / other.serialized."""
        if other.serialized_bytes <= 0:
            raise ValueError(
                f"reference SizeReport must have serialized_bytes > 0, found "
                f"{other.serialized_bytes}; compare against a measured model."
            )
        return 1.0 - self.serialized_bytes / other.serialized_bytes


def _is_meta_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return any(part in last for part in _META_NAMES)


def _split_bytes(t: torch.Tensor) -> tuple[int, int]:
    """(weight-data bytes, scale/zero-point bytes) of a tensor, subclass or quantized tensor."""
    if type(t) not in (torch.Tensor, nn.Parameter) and hasattr(t, "__tensor_flatten__"):
        inner_names, _ = t.__tensor_flatten__()
        data = meta = 0
        for inner_name in inner_names:
            inner_data, inner_meta = _split_bytes(getattr(t, inner_name))
            if _is_meta_name(inner_name):
                inner_data, inner_meta = 0, inner_data + inner_meta
            data, meta = data + inner_data, meta + inner_meta
        return data, meta
    nbytes = t.numel() * t.element_size()
    if not t.is_quantized:
        return nbytes, 0
    if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        return nbytes, _PER_TENSOR_QPARAM_BYTES
    scales, zero_points = t.q_per_channel_scales(), t.q_per_channel_zero_points()
    return nbytes, sum(x.numel() * x.element_size() for x in (scales, zero_points))


def state_dict_of(model_or_state_dict: nn.Module | Mapping) -> Mapping:
    if isinstance(model_or_state_dict, nn.Module):
        return model_or_state_dict.state_dict()
    if isinstance(model_or_state_dict, Mapping):
        return model_or_state_dict
    raise ValueError(
        f"expected an nn.Module or a state_dict mapping, found "
        f"{type(model_or_state_dict).__name__}."
    )


def _serialize(state: Mapping) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _on_cpu(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.device.type == "cpu"
    if isinstance(value, (tuple, list)):
        return all(_on_cpu(v) for v in value)
    if isinstance(value, Mapping):
        return all(_on_cpu(v) for v in value.values())
    return True


def cpu_state_dict(state: Mapping) -> Mapping:
    """`state` with every tensor on the CPU: `state` itself when they all are (the CPU figure
    is what `torch.save` writes for it, as it always was), else `cpu_copy(state)`.

    `torch.save` pickles each storage's device (`cuda:0`), so a CUDA model serializes to other
    bytes than the same model on the CPU and the exact size gate would break.
    """
    return state if _on_cpu(state) else cpu_copy(state)


def cpu_copy(state: Mapping) -> Mapping:
    """A copy of `state` on the CPU, nothing else changed: a round trip through `torch.save`
    and a tensors-only `torch.load(map_location="cpu")` keeps Parameters, shared storages
    (tied weights, views), quantized tensors and the state_dict's `_metadata`."""
    serialized = io.BytesIO(_serialize(state))
    with warnings.catch_warnings():
        # torch's own rebuild of quantized tensors still goes through TypedStorage; nothing to act on.
        warnings.filterwarnings("ignore", "TypedStorage is deprecated", UserWarning)
        return torch.load(serialized, map_location="cpu", weights_only=True)


def model_size(model: nn.Module | Mapping) -> SizeReport:
    """Measure the size of `model`'s state_dict (see `SizeReport` for each figure).

    Weight scalars are floating-point tensors, torch.ao quantized tensors (including those inside
    the `_packed_params` tuples of dynamic quantized Linear) and torchao tensor subclasses
    (their inner data tensors; inner `scale`/`zero_point` tensors count as overhead). Tensors
    named `*scale*`/`*zero_point*` and non-floating tensors (e.g. `num_batches_tracked`) count
    as overhead; non-tensor entries (dtypes) only appear in `serialized_bytes`.
    """
    state = state_dict_of(model)
    serialized = _serialize(cpu_state_dict(state))
    weight_bytes = overhead = n_weights = 0
    pending = list(state.items())
    while pending:
        name, value = pending.pop()
        if isinstance(value, (tuple, list)):
            pending.extend((f"{name}.{i}", v) for i, v in enumerate(value))
            continue
        if not isinstance(value, torch.Tensor):
            continue
        data, meta = _split_bytes(value)
        plain = not value.is_quantized and type(value) in (torch.Tensor, nn.Parameter)
        if plain and (_is_meta_name(name) or not value.is_floating_point()):
            overhead += data + meta
            continue
        weight_bytes, overhead = weight_bytes + data, overhead + meta
        n_weights += value.numel()
    if n_weights == 0:
        raise ValueError("model_size found no weight tensors in the state_dict; pass a model.")
    return SizeReport(serialized_bytes=len(serialized), tensor_bytes=weight_bytes + overhead,
                      n_weights=n_weights, bits_per_weight=8.0 * weight_bytes / n_weights,
                      overhead_bytes=overhead)


# Packed rounded encoding (format described in `pack_rounded`).
