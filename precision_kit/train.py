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
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import progress
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
    adam_eps,
    data_generator,
)

ENGINES = ("auto", "autograd")  # train(engine=...): how a step is computed (results are the same)
StepHook = Callable[[int, torch.optim.Optimizer], None]


def make_optimizer(params, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """The optimizer of `config`, fused where PyTorch has a fused kernel for it."""
    eps = adam_eps(config)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, eps=eps, fused=True)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, fused=True)
    if config.optimizer == "sgd-momentum":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=True)
    return torch.optim.RMSprop(params, lr=config.lr, eps=eps, foreach=True)


@dataclasses.dataclass
class _Loop:
    """What one training run holds between its epochs (built once by `_prepare`)."""

    model: nn.Module
    data: Dataset
    config: TrainConfig
    mode: object
    device: torch.device
    flat: torch.Tensor
    sample_shape: tuple
    labels: torch.Tensor
    optimizer: torch.optim.Optimizer
    scheduler: object
    scaler: object
    order: torch.Generator
    params: list
    fast: object
    buffer: torch.Tensor
    skipped: torch.Tensor
    step: int = 0
    diverged_at: int | None = None


def _prepare(model: nn.Module, data: Dataset, config: TrainConfig, engine: str) -> tuple[_Loop, int]:
    """Cast and move the model, put the split on the device, build optimizer, scheduler and
    scaler; returns the loop state and the allocation the arm's peak memory is counted from."""
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not supported; expected one of {', '.join(ENGINES)}")
    device = resolve_device(config.device)
    mode = check_supported(config.precision, device)
    if data.device != device:
        data = data.to(device)
    # The arm's peak is measured from here: the dataset is resident, nothing of the arm's yet.
    allocated_at_start = start_peak_memory(device)
    images = data.train.images.to(mode.param_dtype)
    cast_model(model, mode, device)
    flat = images.reshape(len(images), -1)
    labels = data.train.labels
    optimizer = make_optimizer(model.parameters(), config, device)
    rows = min(config.batch_size, len(labels))  # a batch_size past the split means full batch
    loop = _Loop(
        model=model, data=data, config=config, mode=mode, device=device, flat=flat,
        sample_shape=images.shape[1:], labels=labels, optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_decay) if config.lr_decay else None,
        scaler=grad_scaler(mode, device), order=data_generator(config.seed),
        params=[p for p in model.parameters() if p.requires_grad],
        fast=mlp_step_for(model, mode, device, rows) if engine == "auto" else None,
        # Each batch is gathered into one buffer: a fresh 1.6 MB tensor per step costs page faults.
        buffer=torch.empty((rows, flat.shape[1]), dtype=flat.dtype, device=device),
        skipped=torch.zeros((), dtype=torch.int64, device=device),
    )
    return loop, allocated_at_start


def train(
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
    engine: str = "auto",
    on_step: StepHook | None = None,
) -> TrainResult:
    """Train `model` (built in float32 on CPU) on `data.train` under `config`.

    `on_epoch(epoch, model)`, if given, is called before the first epoch (epoch 0) and
    after each finished one, outside the timed region (e.g. to record weight histograms).
    `on_step(step, optimizer)`, if given, is called after every optimizer step, inside the
    timed region (a probe of the optimizer's state, or a test's deliberate slowdown); no
    hook, no cost.

    `engine` says how a step is computed, never what: "auto" takes the autograd-free
    `MLPStep` where it applies (a plain MLP on the CPU in a pure mode; bit-identical
    results), "autograd" always runs autograd. A timing comparison whose arms would
    otherwise take different engines (BI-5: fp32 against amp-fp16) passes "autograd" to
    both, so the arms differ only in the precision. Not part of the config or the cache key.

    The model is cast and moved in place to the precision's parameter dtype and the
    config's device; `data` is moved to that device if it is not there already. A
    non-finite loss stops training: the result's status is `DIVERGED at step k`.
    """
    loop, allocated_at_start = _prepare(model, data, config, engine)
    records: list[EpochRecord] = []
    rng = torch.random.fork_rng(devices=[loop.device] if loop.device.type == "cuda" else [])
    with flush_denormals(), matmul_mode(loop.mode, loop.device), rng:
        torch.manual_seed(config.seed)  # dropout masks: reproducible per seed
        if on_epoch is not None:
            on_epoch(0, model)
        for epoch in range(config.epochs):
            record = _epoch(loop, epoch, on_step)
            if record is None:  # diverged
                break
            records.append(record)
            progress.epoch_done()
            if on_epoch is not None:
                on_epoch(epoch + 1, model)
            if loop.step == config.max_steps:
                break
    return TrainResult(
        config=config,
        epochs=tuple(records),
        steps=loop.step,
        skipped_steps=int(loop.skipped),
        peak_memory_bytes=peak_memory(loop.device, allocated_at_start),
        diverged_at_step=loop.diverged_at,
        model=model,
    )


def _epoch(loop: _Loop, epoch: int, on_step: StepHook | None) -> EpochRecord | None:
    """One epoch (or its part up to `max_steps`), timed; its record with the test evaluation
    the config asks for, or None when the loss went non-finite (`loop.diverged_at` is set)."""
    config, device = loop.config, loop.device
    loop.model.train()  # evaluate() left it in eval mode
    batches = epoch_batches(len(loop.labels), config.batch_size, loop.order, device)
    losses = torch.zeros(len(batches), dtype=torch.float32, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    _sync(device)
    start = time.perf_counter()
    for i, idx in enumerate(batches):
        # index_select on the flat view: ~2× faster than images[idx] on CPU
        x = torch.index_select(loop.flat, 0, idx, out=loop.buffer[: len(idx)])
        y = loop.labels.index_select(0, idx)
        if loop.fast is not None:
            logits, loss = loop.fast(x, y)
            _clip(loop.params, config)
            loop.optimizer.step()
        else:
            with autocast(loop.mode, device):
                logits = loop.model(x.view(-1, *loop.sample_shape))
                loss = F.cross_entropy(logits, y)
            _step(loss, loop.optimizer, loop.scaler, loop.params, config, loop.skipped)
        losses[i] = loss.detach()
        correct += (logits.detach().argmax(1) == y).sum()
        loop.step += 1
        if on_step is not None:
            on_step(loop.step, loop.optimizer)
        last = i + 1 == len(batches) or loop.step == config.max_steps
        if (i + 1) % CHECK_EVERY == 0 or last:
            bad = torch.nonzero(~torch.isfinite(losses[: i + 1]))
            if bad.numel():
                loop.diverged_at = loop.step - (i + 1) + int(bad[0, 0]) + 1
                break
        if last:
            break
    _sync(device)
    seconds = time.perf_counter() - start
    if loop.diverged_at is not None:
        return None
    if loop.scheduler is not None:
        loop.scheduler.step()
    done = batches[: i + 1]
    n = sum(len(b) for b in done)
    sizes = torch.tensor([len(b) for b in done], dtype=torch.float32, device=device)
    record = EpochRecord(
        epoch=epoch + 1,
        train_loss=float((losses[: i + 1] * sizes).sum() / n),
        train_accuracy=100.0 * float(correct) / n,
        seconds=seconds,
    )
    final = epoch + 1 == config.epochs or loop.step == config.max_steps
    if config.evaluation == "epoch" or (config.evaluation == "final" and final):
        ev = evaluate(loop.model, loop.data, "test", loop.mode)
        record = dataclasses.replace(record, test_loss=ev.loss, test_accuracy=ev.accuracy)
    return record


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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


__all__ = ["CLIPS", "OPTIMIZERS", "PRECISIONS", "EpochRecord", "TrainConfig", "TrainResult", "train"]
