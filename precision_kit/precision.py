"""The one precision table: every dtype, autocast and GradScaler decision lives here.

A precision mode says three things: the dtype the parameters (and optimizer state) are
stored in, whether the forward pass runs under autocast (and in which dtype), and
whether the loss is scaled (GradScaler). Nothing else in precision_kit decides these.

| mode      | parameters | autocast  | GradScaler | devices   |
|-----------|------------|-----------|------------|-----------|
| fp64      | float64    | -         | no         | cpu, cuda |
| fp32      | float32    | -         | no         | cpu, cuda (TF32 off) |
| tf32      | float32    | -         | no         | cuda (TF32 matmul/cuDNN on) |
| fp16      | float16    | -         | no         | cpu, cuda (pure: weights, activations, grads, Adam state) |
| bf16      | bfloat16   | -         | no         | cpu, cuda (pure) |
| amp-fp16  | float32    | float16   | yes        | cpu, cuda |
| amp-bf16  | float32    | bfloat16  | no         | cpu, cuda |
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .errors import UnsupportedError


@dataclass(frozen=True)
class Precision:
    """One row of the precision table."""

    name: str
    param_dtype: torch.dtype
    autocast_dtype: torch.dtype | None = None
    grad_scaler: bool = False
    tf32: bool = False
    cuda_only: bool = False
    # Adam's eps must be representable in the parameter dtype: 1e-8 is 0 in float16.
    adam_eps: float = 1e-8

    @property
    def is_amp(self) -> bool:
        return self.autocast_dtype is not None

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype the matrix products run in."""
        return self.autocast_dtype or self.param_dtype


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp64", torch.float64),
        Precision("fp32", torch.float32),
        Precision("tf32", torch.float32, tf32=True, cuda_only=True),
        Precision("fp16", torch.float16, adam_eps=1e-4),
        Precision("bf16", torch.bfloat16, adam_eps=1e-6),
        Precision("amp-fp16", torch.float32, autocast_dtype=torch.float16, grad_scaler=True),
        Precision("amp-bf16", torch.float32, autocast_dtype=torch.bfloat16),
    )
}

# Inference-time casts (source 001: train in fp64, evaluate in lower precision).
INFERENCE_PRECISIONS = ("fp64", "fp32", "fp16", "bf16")


def get_precision(name: str | Precision) -> Precision:
    """Look a mode up in the table; an unknown name is a ValueError listing the valid ones."""
    if isinstance(name, Precision):
        return name
    try:
        return PRECISIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown precision {name!r}; expected one of {', '.join(PRECISIONS)}"
        ) from None


def check_supported(precision: str | Precision, device: torch.device) -> Precision:
    """Raise UnsupportedError when `device` cannot run `precision` (e.g. tf32 on CPU)."""
    p = get_precision(precision)
    if p.cuda_only and device.type != "cuda":
        raise UnsupportedError(
            f"precision {p.name!r} needs a CUDA device (TF32 is an NVIDIA tensor-core mode); "
            f"found device {str(device)!r}. Use 'fp32' on CPU, or run on a GPU."
        )
    return p


@contextlib.contextmanager
def matmul_mode(precision: str | Precision, device: torch.device) -> Iterator[None]:
    """Set TF32 on or off for the duration (fp32 means true fp32: TF32 off), then restore."""
    p = get_precision(precision)
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = p.tf32
    torch.backends.cudnn.allow_tf32 = p.tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def autocast(precision: str | Precision, device: torch.device) -> contextlib.AbstractContextManager:
    """The forward-pass context of a mode: torch.autocast for amp modes, else a no-op."""
    p = get_precision(precision)
    if not p.is_amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=p.autocast_dtype)


def grad_scaler(precision: str | Precision, device: torch.device) -> torch.amp.GradScaler | None:
    """A GradScaler for modes that scale the loss (amp-fp16), else None."""
    p = get_precision(precision)
    if not p.grad_scaler:
        return None
    return torch.amp.GradScaler(device.type)


def cast_model(model: torch.nn.Module, precision: str | Precision, device: torch.device):
    """Move and cast a float32 model to the parameter dtype of `precision` (in place)."""
    p = get_precision(precision)
    return model.to(device=device, dtype=p.param_dtype)


def configure_cpu() -> None:
    """Flush denormals to zero for the rest of the process (the benchmark session does
    this once): without it small float32 values late in training fall into the subnormal
    range and a wide MLP's epoch slows 5–11×. Library calls use `flush_denormals()`."""
    torch.set_flush_denormal(True)


def _denormals_flushed() -> bool:
    # With flush-to-zero on, a subnormal float32 times 1 comes out as 0.
    return torch.tensor(1e-40, dtype=torch.float32).mul(1.0).item() == 0.0


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush denormals to zero for the duration, then restore the previous setting (other
    code in the process — numpy, hypothesis — may rely on IEEE subnormals)."""
    before = _denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def cast_for_inference(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """A copy of a trained model with every floating parameter and buffer cast to the
    dtype of `precision` (one of INFERENCE_PRECISIONS) for evaluation; `model` is untouched.

    Source 001 trains in float64 and reduces precision only at inference (claim SZ-3).
    """
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(
            f"inference precision {precision!r} is not supported; expected one of "
            f"{', '.join(INFERENCE_PRECISIONS)} (amp modes are training modes)"
        )
    return copy.deepcopy(model).to(dtype=PRECISIONS[precision].param_dtype).eval()
