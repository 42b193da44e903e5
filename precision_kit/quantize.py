"""Post-training INT8 dynamic quantization and decimal rounding of weights.

`quantize_int8` returns a CPU copy of a model whose `nn.Linear` layers run INT8 kernels,
and checks that they really do (no silent float fallback). `round_weights` returns a copy
whose floating-point parameters are rounded to a number of decimal places.

Neither function modifies its input model: both work on a deep copy.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch
from torch import nn

from precision_kit.errors import PrecisionKitError, UnsupportedError

INT8_BACKENDS = ("torch.ao", "torchao-dynamic", "torchao-weight-only", "onnxruntime-dynamic")

# Quantized engines able to run `torch.ao` dynamic INT8 Linear on CPU, in order of preference.
_PREFERRED_ENGINES = ("x86", "fbgemm", "qnnpack")
_TORCHAO_HINT = "install it with `pip install torchao` (or `pip install precision-kit[ao]`)"
MAX_DECIMALS = 8


def _linear_names(model: nn.Module) -> list[str]:
    return [name for name, mod in model.named_modules() if isinstance(mod, nn.Linear)]


def _cpu_fp32_eval_copy(model: nn.Module) -> nn.Module:
    copied = copy.deepcopy(model)
    return copied.to(device="cpu").float().eval()


@contextlib.contextmanager
def _quantized_engine() -> Iterator[str]:
    """Select a CPU INT8 engine (x86 or fbgemm preferred) for the block; restore the old one."""
    supported = list(torch.backends.quantized.supported_engines)
    previous = torch.backends.quantized.engine
    if previous in _PREFERRED_ENGINES[:2]:
        yield previous
        return
    chosen = next((e for e in _PREFERRED_ENGINES if e in supported), None)
    if chosen is None:
        raise UnsupportedError(
            f"torch.ao dynamic INT8 quantization needs one of the quantized engines "
            f"{_PREFERRED_ENGINES}; this torch build supports {supported}. "
            f"Use a torch build with fbgemm/x86 (standard x86-64 wheels) or the torchao backends."
        )
    torch.backends.quantized.engine = chosen
    try:
        yield chosen
    finally:
        torch.backends.quantized.engine = previous


def _torchao_config(backend: str) -> object:
    """Return the torchao config for `backend`, in new (Config class) or old (function) spelling."""
    try:
        from torchao import quantization as tq  # optional dependency: imported lazily
    except ImportError as exc:
        raise UnsupportedError(
            f"backend {backend!r} needs torchao, which is not installed: {_TORCHAO_HINT}."
        ) from exc
    spellings = {
        "torchao-dynamic": ("Int8DynamicActivationInt8WeightConfig",
                            "int8_dynamic_activation_int8_weight"),
        "torchao-weight-only": ("Int8WeightOnlyConfig", "int8_weight_only"),
    }[backend]
    for name in spellings:
        factory = getattr(tq, name, None)
        if factory is not None:
            return factory()
    version = getattr(__import__("torchao"), "__version__", "unknown")
    raise UnsupportedError(
        f"backend {backend!r}: torchao {version} exports none of {spellings}; "
        f"upgrade with `pip install -U torchao`."
    )


def _is_torchao_quantized(weight: object) -> bool:
    return (
        isinstance(weight, torch.Tensor)
        and type(weight) not in (torch.Tensor, nn.Parameter)
        and type(weight).__module__.startswith("torchao")
    )


def quantized_layer_types(model: nn.Module) -> dict[str, str]:
    """Report what each linear layer of `model` will run: layer name -> type name.

    Layers covered: torch.ao dynamic quantized Linear modules (reported by their qualified
    class name, e.g. ``torch.ao.nn.quantized.dynamic.modules.linear.Linear``) and `nn.Linear`
    modules, reported as ``torch.nn.Linear(weight=<weight type>)`` where the weight type is the
    torchao tensor subclass (e.g. ``Int8Tensor``) or ``Parameter[float32]`` for a float layer.
    """
    if hasattr(model, "layer_ops"):  # onnxruntime: the integer op each former Linear runs as
        return {name: f"onnxruntime.{op}" for name, op in model.layer_ops.items()}
    dynamic_linear = torch.ao.nn.quantized.dynamic.Linear
    types: dict[str, str] = {}
    for name, mod in model.named_modules():
        if isinstance(mod, dynamic_linear):
            cls = type(mod)
            types[name] = f"{cls.__module__}.{cls.__qualname__}"
        elif isinstance(mod, nn.Linear):
            w = mod.weight
            kind = type(w).__qualname__
            if not _is_torchao_quantized(w):
                kind = f"{kind}[{str(w.dtype).removeprefix('torch.')}]"
            types[name] = f"torch.nn.Linear(weight={kind})"
    return types


def _verify_quantized(model: nn.Module, former_linears: list[str], backend: str) -> None:
    modules = dict(model.named_modules())
    dynamic_linear = torch.ao.nn.quantized.dynamic.Linear
    for name in former_linears:
        mod = modules.get(name)
        if backend == "torch.ao":
            ok = isinstance(mod, dynamic_linear)
            found = type(mod).__qualname__
        else:
            weight = getattr(mod, "weight", None)
            ok = _is_torchao_quantized(weight)
            found = f"weight of type {type(weight).__qualname__}"
        if not ok:
            raise PrecisionKitError(
                f"backend {backend!r} left layer {name!r} unquantized: expected an INT8 "
                f"quantized layer, found {found}. The layer would run in float; check its "
                f"shape/dtype against what the backend supports or exclude it from the model."
            )


def quantize_int8(model: nn.Module, backend: str = "torch.ao") -> nn.Module:
    """Return an INT8 post-training dynamically quantized CPU copy of `model`.

    Every `nn.Linear` is quantized (other layers stay float32):

    * ``"torch.ao"``: ``torch.ao.quantization.quantize_dynamic(..., {nn.Linear}, torch.qint8)``,
      the method of the source paper: per-tensor INT8 weights, activations quantized on the fly,
      INT8 GEMM on the x86/fbgemm engine (selected for the call if needed, then restored).
    * ``"torchao-dynamic"``: torchao ``Int8DynamicActivationInt8WeightConfig`` (per-row INT8
      weights, per-token INT8 activations, integer matmul).
    * ``"torchao-weight-only"``: torchao ``Int8WeightOnlyConfig`` (INT8 weights, float
      activations; on CPU the INT8 weights are cast to float inside the matmul).
    * ``"onnxruntime-dynamic"``: the model (an MLP) written as ONNX and quantized by
      onnxruntime's ``quantize_dynamic`` (per-tensor INT8 weights, activations quantized at run
      time), run by an onnxruntime session (`precision_kit.onnx_int8`; needs the onnx extra).

    Dynamic quantization is a CPU feature, so the copy is moved to the CPU in float32 and eval
    mode whatever the input's device and dtype. Afterwards every former `nn.Linear` is checked to
    hold quantized weights; a layer the backend skipped raises `PrecisionKitError`. torchao
    backends without torchao installed raise `UnsupportedError`.
    """
    if backend not in INT8_BACKENDS:
        raise ValueError(
            f"unknown INT8 backend {backend!r}: expected one of {INT8_BACKENDS}; pick one of them."
        )
    if not isinstance(model, nn.Module):
        raise ValueError(  # noqa: TRY004 - the project reports bad arguments as ValueError
            f"expected an nn.Module to quantize, found {type(model).__name__}."
        )
    former_linears = _linear_names(model)
    if not former_linears:
        raise ValueError(
            f"quantize_int8 quantizes nn.Linear layers, but the {type(model).__name__} given has "
            f"none; pass a model with at least one nn.Linear."
        )
    if backend == "onnxruntime-dynamic":
        from .onnx_int8 import quantize_onnx_dynamic  # optional dependency: imported lazily

        quantized = quantize_onnx_dynamic(_cpu_fp32_eval_copy(model))
        missing = sorted(set(former_linears) - set(quantized.layer_ops))
        if missing:
            raise PrecisionKitError(f"backend {backend!r} left layer(s) {missing} unquantized")
        return quantized
    if backend == "torch.ao":
        work = _cpu_fp32_eval_copy(model)
        with _quantized_engine():
            quantized = torch.ao.quantization.quantize_dynamic(
                work, {nn.Linear}, dtype=torch.qint8, inplace=False
            )
    else:
        config = _torchao_config(backend)
        from torchao.quantization import quantize_

        quantized = _cpu_fp32_eval_copy(model)
        quantize_(quantized, config)
    _verify_quantized(quantized, former_linears, backend)
    return quantized


def _check_decimals(decimals: object) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise ValueError(  # noqa: TRY004 - the project reports bad arguments as ValueError
            f"decimals must be an int in 0..{MAX_DECIMALS}, found {decimals!r} "
            f"({type(decimals).__name__}); pass an integer number of decimal places."
        )
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(
            f"decimals must be in 0..{MAX_DECIMALS}, found {decimals}; pick a value in that range."
        )
    return decimals


def round_tensor(t: torch.Tensor, decimals: int) -> torch.Tensor:
    """Round a floating tensor to `decimals` places: round(t·10^d)/10^d in float64, cast back."""
    scale = 10**decimals
    return (torch.round(t.detach().double() * scale) / scale).to(t.dtype)


def round_weights(model: nn.Module, decimals: int) -> nn.Module:
    """Return a copy of `model` with every floating-point parameter rounded to `decimals` places.

    Each parameter (weights and biases; buffers are left alone) becomes
    ``torch.round(p * 10**d) / 10**d`` computed in float64 and cast back to the parameter's
    dtype, so each value moves by at most 0.5·10⁻ᵈ plus the dtype's own rounding. The result is
    idempotent. Device and dtype are kept. `decimals` must be an int in 0..8.
    """
    d = _check_decimals(decimals)
    if not isinstance(model, nn.Module):
        raise ValueError(  # noqa: TRY004 - the project reports bad arguments as ValueError
            f"expected an nn.Module to round, found {type(model).__name__}."
        )
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for p in rounded.parameters():
            if p.is_floating_point():
                p.copy_(round_tensor(p, d))
    return rounded
