"""The hidden ReLU outputs of a model on a set of images, one chunk at a time (CH-9's dead
units, TD-6's class selectivity)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .errors import PrecisionKitError
from .evaluate import EVAL_BATCH, model_device_dtype
from .precision import matmul_mode


@torch.no_grad()
def each_relu_output(model: nn.Module, images: torch.Tensor, each: Callable[[int, torch.Tensor], None],
                     batch_size: int = EVAL_BATCH) -> int:
    """Run `model` on `images` in eval mode (fp32 matmuls, no TF32; `batch_size` images at a
    time) and call `each(i, output)` with the output of its i-th nn.ReLU (module order) for
    every chunk. Returns the number of ReLU modules; the model's train/eval mode is restored.
    Raises if the model has no nn.ReLU or one of them is never called."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise PrecisionKitError(f"this {type(model).__name__} has no nn.ReLU module (a sigmoid model has no ReLU "
                                "outputs); pass a ReLU network")
    if images.shape[0] == 0 or batch_size < 1:
        raise ValueError(f"expected at least one image and batch_size ≥ 1; found {images.shape[0]} images, "
                         f"batch_size={batch_size}")
    called = [False] * len(relus)

    def hook(i: int):
        def record(module, inputs, output):
            called[i] = True
            each(i, output)
        return record

    device, dtype = model_device_dtype(model)
    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(relus)]
    was_training = model.training
    model.eval()
    try:
        with matmul_mode("fp32", device):
            for chunk in images.split(batch_size):
                model(chunk.to(device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if not all(called):
        raise PrecisionKitError("a ReLU module of the model was never called in its forward pass; every ReLU must "
                                "lie on the path from input to output")
    return len(relus)
