"""Evaluation: accuracy, per-image correctness, loss, confusion matrix, inference latency.

Per-image correctness (one boolean per test image) is kept for every evaluated model so
paired statistics (exact McNemar, flips, bootstraps) need no retraining.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .models import N_CLASSES
from .precision import Precision, autocast, get_precision, matmul_mode

EVAL_BATCH = 2000


@dataclass(frozen=True)
class EvalResult:
    """The outcome of one forward pass over a split. `accuracy` is in percent."""

    accuracy: float
    loss: float
    n: int
    seconds: float
    correct: torch.Tensor = field(repr=False)  # bool (n,), on CPU
    confusion: torch.Tensor = field(repr=False)  # int64 (10, 10): rows true, columns predicted

    @property
    def n_correct(self) -> int:
        return int(self.correct.sum())

    @property
    def latency_per_image(self) -> float:
        return self.seconds / self.n


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Where a model's floating parameters live and their dtype (CPU float32 for
    dynamically quantized models, whose packed weights are not parameters)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def copy_can_be_async(source: torch.device, target: torch.device) -> bool:
    """Whether a `source` → `target` copy may be `non_blocking`: only host → CUDA.

    A host → CUDA copy is queued on the current stream, ahead of the kernels that read it, so
    it is safe pinned or not. A CUDA → host copy with non_blocking returns before the bytes
    land and the CPU code that reads them has nothing to wait on (e.g. a CPU-only int8 model
    evaluated on a dataset resident on the GPU): it must block.
    """
    return source.type == "cpu" and target.type == "cuda"


@torch.no_grad()
def forward_split(
    model: nn.Module,
    images: torch.Tensor,
    precision: str | Precision | None = None,
    batch_size: int = EVAL_BATCH,
) -> torch.Tensor:
    """Logits (float32) of `model` on `images`, in eval mode, under the matmul mode of
    `precision` (default fp32: TF32 off for CUDA matmuls and cuDNN, as in `train`) and its
    autocast when it is an amp mode; inputs are cast to the model's dtype and device."""
    device, dtype = model_device_dtype(model)
    mode = get_precision(precision or "fp32")
    non_blocking = copy_can_be_async(images.device, device)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with matmul_mode(mode, device):
            for chunk in images.split(batch_size):
                x = chunk.to(device=device, dtype=dtype, non_blocking=non_blocking)
                with autocast(mode, device):
                    outs.append(model(x).float())
    finally:
        model.train(was_training)
    return torch.cat(outs)


def evaluate(
    model: nn.Module,
    data,
    split: str = "test",
    precision: str | Precision | None = None,
    batch_size: int = EVAL_BATCH,
) -> EvalResult:
    """Evaluate `model` on `data.test` (or `data.train`) and time the forward passes.

    `data` is a `precision_kit.data.Dataset` (or anything with `.train`/`.test` splits of
    `images` and `labels`). The forward passes run under `precision`'s matmul mode and
    autocast (default fp32, TF32 off, so a CUDA fp32 figure is the one `train` records each
    epoch). The timing covers only the forward passes, CUDA synchronised.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train'; found {split!r}")
    part = getattr(data, split)
    device, _ = model_device_dtype(model)
    labels = part.labels.to(device)
    _sync(device)
    start = time.perf_counter()
    logits = forward_split(model, part.images, precision, batch_size)
    _sync(device)
    seconds = time.perf_counter() - start
    loss = F.cross_entropy(logits, labels).item()
    pred = logits.argmax(1)
    correct = (pred == labels).cpu()
    confusion = torch.bincount(
        labels.cpu() * N_CLASSES + pred.cpu(), minlength=N_CLASSES * N_CLASSES
    ).reshape(N_CLASSES, N_CLASSES)
    n = int(labels.numel())
    return EvalResult(
        accuracy=100.0 * correct.sum().item() / n,
        loss=loss,
        n=n,
        seconds=seconds,
        correct=correct,
        confusion=confusion,
    )
