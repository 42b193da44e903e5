"""The only training loop: a `TrainConfig` in, a `TrainResult` out.

Speed choices, each measured (see README): the whole split lives as one tensor on the
training device, cast once to the parameter dtype; a batch is an index slice of a
permutation drawn from the data-order generator, gathered into one reused buffer; Adam is
fused; losses and correct counts are accumulated on the device (no `.item()` per step) and
looked at every `CHECK_EVERY` steps, which is also how divergence is caught; denormals are
flushed on CPU. A plain MLP in a pure mode on the CPU skips autograd: `mlp_step.MLPStep`
runs the same ATen ops into preallocated buffers, bit-identical to the autograd path.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset, epoch_batches
from .devices import peak_memory, resolve_device, start_peak_memory
from .evaluate import evaluate
from .mlp_step import mlp_step_for
from .precision import (
    PRECISIONS,
    autocast,
    cast_model,
    check_supported,
    flush_denormals,
    get_precision,
    grad_scaler,
    matmul_mode,
)
from .train_types import (  # re-exported: `from precision_kit.train import TrainConfig` keeps working
    CHECK_EVERY,
    CLIPS,
    OPTIMIZERS,
    EpochRecord,
    TrainConfig,
    TrainResult,
    data_generator,
)

# Test hook for the regression gate: extra matmuls per step make a deliberate slowdown.
SLOWDOWN_ENV = "PRECISION_KIT_INJECT_SLOWDOWN"
ENGINES = ("auto", "autograd")  # train(engine=...): how a step is computed (results are the same)


def make_optimizer(params, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """The optimizer of `config`, fused where PyTorch has a fused kernel for it."""
    eps = get_precision(config.precision).adam_eps
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, eps=eps, fused=True)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, fused=True)
    if config.optimizer == "sgd-momentum":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=True)
    return torch.optim.RMSprop(params, lr=config.lr, eps=eps, foreach=True)


def _slowdown_steps() -> int:
    value = os.environ.get(SLOWDOWN_ENV, "0")
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"{SLOWDOWN_ENV} must be an integer number of extra matmuls; found {value!r}") from None


def train(
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
    engine: str = "auto",
) -> TrainResult:
    """Train `model` (built in float32 on CPU) on `data.train` under `config`.

    `on_epoch(epoch, model)`, if given, is called before the first epoch (epoch 0) and
    after each finished one, outside the timed region (e.g. to record weight histograms).

    `engine` says how a step is computed, never what: "auto" takes the autograd-free
    `MLPStep` where it applies (a plain MLP on the CPU in a pure mode; bit-identical
    results), "autograd" always runs autograd. A timing comparison whose arms would
    otherwise take different engines (BI-5: fp32 against amp-fp16) passes "autograd" to
    both, so the arms differ only in the precision. Not part of the config or the cache key.

    The model is cast and moved in place to the precision's parameter dtype and the
    config's device; `data` is moved to that device if it is not there already. A
    non-finite loss stops training: the result's status is `DIVERGED at step k`.
    """
    device = resolve_device(config.device)
    mode = check_supported(config.precision, device)
    if data.device != device:
        data = data.to(device)
    # The arm's peak is measured from here: the dataset is resident, nothing of the arm's yet.
    allocated_at_start = start_peak_memory(device)
    images = data.train.images.to(mode.param_dtype)
    cast_model(model, mode, device)
    flat, sample_shape = images.reshape(len(images), -1), images.shape[1:]
    labels = data.train.labels
    optimizer = make_optimizer(model.parameters(), config, device)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_decay) if config.lr_decay else None
    scaler = grad_scaler(mode, device)
    order = data_generator(config.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    rows = min(config.batch_size, len(labels))  # a batch_size past the split means full batch
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not supported; expected one of {', '.join(ENGINES)}")
    fast = mlp_step_for(model, mode, device, rows) if engine == "auto" else None
    # Each batch is gathered into one buffer: a fresh 1.6 MB tensor per step costs page faults.
    batch_buffer = torch.empty((rows, flat.shape[1]), dtype=flat.dtype, device=device)
    slowdown = _slowdown_steps()

    records: list[EpochRecord] = []
    skipped = torch.zeros((), dtype=torch.int64, device=device)
    step = 0
    diverged_at: int | None = None
    rng = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
    with flush_denormals(), matmul_mode(mode, device), rng:
        torch.manual_seed(config.seed)  # dropout masks: reproducible per seed
        if on_epoch is not None:
            on_epoch(0, model)
        for epoch in range(config.epochs):
            model.train()  # evaluate() left it in eval mode
            batches = epoch_batches(len(labels), config.batch_size, order, device)
            losses = torch.zeros(len(batches), dtype=torch.float32, device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            _sync(device)
            start = time.perf_counter()
            for i, idx in enumerate(batches):
                # index_select on the flat view: ~2× faster than images[idx] on CPU
                x = torch.index_select(flat, 0, idx, out=batch_buffer[: len(idx)])
                y = labels.index_select(0, idx)
                if fast is not None:
                    logits, loss = fast(x, y)
                    _clip(params, config)
                    optimizer.step()
                else:
                    with autocast(mode, device):
                        logits = model(x.view(-1, *sample_shape))
                        loss = F.cross_entropy(logits, y)
                    _step(loss, optimizer, scaler, params, config, skipped)
                if slowdown:
                    _burn(slowdown, x)
                losses[i] = loss.detach()
                correct += (logits.detach().argmax(1) == y).sum()
                step += 1
                last = i + 1 == len(batches) or step == config.max_steps
                if (i + 1) % CHECK_EVERY == 0 or last:
                    bad = torch.nonzero(~torch.isfinite(losses[: i + 1]))
                    if bad.numel():
                        diverged_at = step - (i + 1) + int(bad[0, 0]) + 1
                        break
                if last:
                    break
            _sync(device)
            seconds = time.perf_counter() - start
            if diverged_at is not None:
                break
            if scheduler is not None:
                scheduler.step()
            done = batches[: i + 1]
            n = sum(len(b) for b in done)
            sizes = torch.tensor([len(b) for b in done], dtype=torch.float32, device=device)
            losses = losses[: i + 1]
            record = EpochRecord(
                epoch=epoch + 1,
                train_loss=float((losses * sizes).sum() / n),
                train_accuracy=100.0 * float(correct) / n,
                seconds=seconds,
            )
            final = epoch + 1 == config.epochs or step == config.max_steps
            if config.evaluation == "epoch" or (config.evaluation == "final" and final):
                ev = evaluate(model, data, "test", mode)
                record = dataclasses.replace(record, test_loss=ev.loss, test_accuracy=ev.accuracy)
            records.append(record)
            if on_epoch is not None:
                on_epoch(epoch + 1, model)
            if step == config.max_steps:
                break

    return TrainResult(
        config=config,
        epochs=tuple(records),
        steps=step,
        skipped_steps=int(skipped),
        peak_memory_bytes=peak_memory(device, allocated_at_start),
        diverged_at_step=diverged_at,
        model=model,
    )


def _step(loss, optimizer, scaler, params, config: TrainConfig, skipped: torch.Tensor) -> None:
    """Backward, optional clipping, optimizer step; counts GradScaler's skipped steps."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        _clip(params, config)
        optimizer.step()
        return
    scaler.scale(loss).backward()
    if config.clip != "none":
        scaler.unscale_(optimizer)
        _clip(params, config)
    before = scaler._scale.clone()  # the scale only backs off on a skipped (inf/NaN) step
    scaler.step(optimizer)
    scaler.update()
    skipped += (scaler._scale < before).to(skipped.dtype)


def _clip(params, config: TrainConfig) -> None:
    if config.clip == "norm":
        torch.nn.utils.clip_grad_norm_(params, config.clip_value, foreach=True)
    elif config.clip == "value":
        torch.nn.utils.clip_grad_value_(params, config.clip_value, foreach=True)


def _burn(n: int, x: torch.Tensor) -> None:
    """The injected slowdown: `n` extra (batch × features) @ (features × features) products per step."""
    flat = x.reshape(len(x), -1)
    w = torch.full((flat.shape[1], flat.shape[1]), 1e-3, dtype=x.dtype, device=x.device)
    for _ in range(n):
        flat = (flat @ w).clamp_(-1, 1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


__all__ = ["CLIPS", "OPTIMIZERS", "PRECISIONS", "EpochRecord", "TrainConfig", "TrainResult", "train"]
