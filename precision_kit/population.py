"""Population training: S models of one shape trained as one stacked computation.

Members share the architecture, precision mode, device, batch size, epoch count, step cap,
evaluation schedule and optimizer; each keeps its own seed (initial weights built exactly as
for `train`, then stacked), its own data order (its seed's data generator), learning rate,
lr decay, momentum, clip mode and clip value, curves, divergence status, loss scale and
trained weights, and its own dropout p and masks. Parameter k of all members is one tensor
with a leading member axis (`population_stack`): Linear layers are batched matmuls
(`baddbmm`/`bmm`), convolutions run member by member on each member's slice; the optimizer
is one fused call per group of members with equal hyperparameters (`population_optim`).

Members are independent: every op is either batched over the member axis (`bmm`: each
member's product is its own GEMM) or elementwise, so a member's result does not depend on
which other members share its population (tests/test_population.py checks this bit for
bit). Against the sequential `train` a member differs only in rounding: `baddbmm` and `bmm`
instead of `addmm` and `mm` may sum in another order (an MLP: bit-identical after one step
on the CPU, ≤ 19 relative ulps after 12); the optimizer is the same fused kernel
(`_fused_adam_`/`_fused_sgd_`) on the same numbers, and Adam near its eps amplifies what
rounding there is (the CNN: see tests/test_population.py).

- A plain MLP in a pure mode (fp64/fp32/fp16/bf16) runs an autograd-free step (the batched
  form of `mlp_step.MLPStep`); amp modes and the CNN run autograd over the stacked forward.
- amp-fp16 keeps one loss scale per member (GradScaler's rule: ×0.5 on an inf/NaN gradient,
  ×2 after 2000 clean steps): a member whose gradient overflows skips its own step only.
- A member whose loss turns non-finite is DIVERGED at that step (checked every
  `CHECK_EVERY` steps, as `train` does) and masked: it stops counting, the others go on.
- Per-epoch seconds of a member are its share of the population's wall time (÷ S).
- A population of one trains beside a copy of itself (dropped after): `bmm` of a single
  matrix takes another CPU kernel, and a seed must round the same alone or among others.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from . import progress
from .data import Dataset
from .devices import resolve_device
from .errors import PrecisionKitError
from .evaluate import evaluate
from .population_optim import PopulationOptimizer
from .population_stack import ManualStep, forward, stack, structure, unstack
from .precision import autocast, cast_model, check_supported, flush_denormals, matmul_mode
from .train_types import CHECK_EVERY, EpochRecord, TrainConfig, TrainResult, data_generator

# What every member of a population must share (the rest of a TrainConfig may differ).
SHARED_FIELDS = ("epochs", "batch_size", "optimizer", "precision", "device", "evaluation", "max_steps", "adam_eps")
OPTIMIZERS = ("adam", "sgd", "sgd-momentum", "rmsprop")
DROPOUT_SEED = 0xD209_0000  # + the member's seed: its dropout-mask generator


class PopulationError(PrecisionKitError, ValueError):
    """Members that cannot be trained as one population."""


def unsupported_reason(model: nn.Module, config: TrainConfig) -> str | None:
    """Why `model` under `config` cannot join a population, or None when it can."""
    if structure(model) is None:
        return ("only nn.Sequential models of Flatten, Linear, ReLU, Sigmoid, Conv2d, MaxPool2d and Dropout "
                "are stacked; this model trains sequentially")
    if config.optimizer not in OPTIMIZERS:
        return f"optimizer {config.optimizer!r} has no population step (stacked: {', '.join(OPTIMIZERS)})"
    return None


def population_key(config: TrainConfig) -> tuple:
    """Configs with equal keys can share a population."""
    return tuple(getattr(config, f) for f in SHARED_FIELDS)


def train_population(
    models: Sequence[nn.Module],
    data: Dataset,
    configs: Sequence[TrainConfig],
    on_epoch: Sequence[Callable[[int, nn.Module], None] | None] | None = None,
) -> list[TrainResult]:
    """Train each `models[i]` under `configs[i]` as one population; one `TrainResult` each.

    The models share one stackable architecture (`population_stack.structure`: every
    `mlp()` and the `cnn()`), built in float32 on the CPU as for `train`; they are cast and
    moved in place, and after training each holds its own trained weights. `configs` must
    agree on `SHARED_FIELDS`. `on_epoch[i](epoch, models[i])`, if given, is called before
    the first epoch (0) and after each finished one, as `train` calls its hook. Raises
    `PopulationError` for members that cannot share a population.
    """
    models, configs = list(models), list(configs)
    if not models or len(models) != len(configs):
        raise PopulationError(f"expected one config per model and at least one model; found {len(models)} "
                              f"models and {len(configs)} configs")
    keys = {population_key(c) for c in configs}
    if len(keys) != 1:
        raise PopulationError(f"members of a population must share {', '.join(SHARED_FIELDS)}; found {sorted(keys)}")
    for m, c in zip(models, configs, strict=True):
        reason = unsupported_reason(m, c)
        if reason:
            raise PopulationError(reason)
    plans = {structure(m) for m in models}  # a plan fixes every parameter's shape
    if len(plans) != 1:
        raise PopulationError(f"members must share one architecture; found {len(plans)} layer plans: "
                              f"{sorted(map(str, plans))}")
    hooks = list(on_epoch) if on_epoch is not None else [None] * len(models)
    if len(hooks) != len(models):
        raise PopulationError(f"expected one on_epoch hook per model; found {len(hooks)} for {len(models)}")
    real = len(models)
    if real == 1:
        # A batched product of one matrix takes another CPU kernel than two or more (for
        # small shapes), so a lone member would round differently from the same seed in a
        # population: it trains beside a copy of itself, which is then dropped.
        models.append(copy.deepcopy(models[0]))
        configs.append(configs[0])
        hooks.append(None)
    shared = configs[0]
    device = resolve_device(shared.device)
    mode = check_supported(shared.precision, device)
    if data.device != device:
        data = data.to(device)
    for m in models:
        cast_model(m, mode, device)
        m.train()
    for hook, m in zip(hooks, models, strict=True):
        if hook is not None:
            hook(0, m)
    members = stack(models)
    images = data.train.images.to(mode.param_dtype)
    flat, sample_shape = images.reshape(len(images), -1), images.shape[1:]
    labels = data.train.labels
    n, size, rows = len(labels), len(models), min(shared.batch_size, len(labels))
    state = PopulationOptimizer(members, configs, mode, device)
    step_fn = ManualStep(members, size, rows) if members.plain_mlp and not mode.is_amp else None
    generators = None
    if any(any(ps) for ps in members.dropout):
        generators = [torch.Generator(device=device).manual_seed(DROPOUT_SEED + c.seed) for c in configs]
    batch_buffer = torch.empty((size * rows, flat.shape[1]), dtype=flat.dtype, device=device)
    orders = [data_generator(c.seed) for c in configs]
    steps_per_epoch = -(-n // shared.batch_size)
    records: list[list[EpochRecord]] = [[] for _ in models]
    diverged_at: list[int | None] = [None] * size
    steps_done = [0] * size
    step = 0
    with flush_denormals(), matmul_mode(mode, device):
        for epoch in range(shared.epochs):
            perm = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)
            losses = torch.zeros((steps_per_epoch, size), dtype=torch.float32, device=device)
            correct = torch.zeros(size, dtype=torch.int64, device=device)
            _sync(device)
            start = time.perf_counter()
            alive_at_start = [d is None for d in diverged_at]
            done_rows = 0
            for i in range(steps_per_epoch):
                idx = perm[:, i * shared.batch_size : (i + 1) * shared.batch_size]
                b = idx.shape[1]
                x = torch.index_select(flat, 0, idx.reshape(-1), out=batch_buffer[: size * b])
                y = labels[idx]
                if step_fn is not None:
                    logits, loss = step_fn(x.view(size, b, -1), y)
                else:
                    x = x.view(size, b, *sample_shape)
                    logits, loss = _autograd_step(members, x, y, mode, device, state.scale, generators)
                state.step()
                losses[i] = loss.detach().float()
                correct += (logits.detach().argmax(2) == y).sum(1)
                step += 1
                done_rows += b
                last = i + 1 == steps_per_epoch or step == shared.max_steps
                if (i + 1) % CHECK_EVERY == 0 or last:
                    _check(losses[: i + 1], step - (i + 1), diverged_at, steps_done, step)
                    if all(d is not None for d in diverged_at):
                        break
                if last:
                    break
            _sync(device)
            share = (time.perf_counter() - start) / real
            state.end_epoch()
            sizes = torch.tensor([len(r) for r in perm[0, : done_rows].split(shared.batch_size)],
                                 dtype=torch.float32, device=device)
            train_loss = ((losses[: i + 1] * sizes[:, None]).sum(0) / done_rows).tolist()
            train_acc = (100.0 * correct.double() / done_rows).tolist()
            final = epoch + 1 == shared.epochs or step == shared.max_steps
            evaluate_now = shared.evaluation == "epoch" or (shared.evaluation == "final" and final)
            if evaluate_now or any(hooks):
                unstack(models, members)
            for j, model in enumerate(models[:real]):  # not the copy beside a lone member
                if not alive_at_start[j] or diverged_at[j] is not None:
                    continue
                record = EpochRecord(epoch=epoch + 1, train_loss=train_loss[j], train_accuracy=train_acc[j],
                                     seconds=share)
                if evaluate_now:
                    ev = evaluate(model, data, "test", mode)
                    record = dataclasses.replace(record, test_loss=ev.loss, test_accuracy=ev.accuracy)
                records[j].append(record)
                if hooks[j] is not None:
                    hooks[j](epoch + 1, model)
            progress.epoch_done()
            if step == shared.max_steps or all(d is not None for d in diverged_at):
                break
    for j in range(size):
        if diverged_at[j] is None:
            steps_done[j] = step
    unstack(models, members)
    skipped = state.skipped.tolist()
    return [
        TrainResult(config=c, epochs=tuple(records[j]), steps=steps_done[j], skipped_steps=int(skipped[j]),
                    peak_memory_bytes=None, diverged_at_step=diverged_at[j], model=models[j])
        for j, c in enumerate(configs)
    ][:real]


def _check(losses: torch.Tensor, first_step: int, diverged_at: list, steps_done: list, step: int) -> None:
    """Mark members whose loss went non-finite since the epoch began (one host sync)."""
    bad = ~torch.isfinite(losses)
    if not bool(bad.any()):
        return
    first = bad.int().argmax(0).tolist()
    any_bad = bad.any(0).tolist()
    for j, hit in enumerate(any_bad):
        if hit and diverged_at[j] is None:
            diverged_at[j] = first_step + first[j] + 1
            steps_done[j] = step


def _member_losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each member's batch: shape (S,)."""
    size, b, classes = logits.shape
    return F.cross_entropy(logits.reshape(size * b, classes), y.reshape(-1), reduction="none").view(size, b).mean(1)


def _autograd_step(members, x, y, mode, device, scale, generators):
    """Forward and backward through autograd (amp modes, the CNN); gradients are added into
    the zeroed persistent `.grad` tensors, the optimizer's views stay valid."""
    torch._foreach_zero_([t.grad for t in members.params])
    with autocast(mode, device):
        logits = forward(members, x, generators)
        loss = _member_losses(logits, y)
    total = loss.float().sum() if scale is None else (loss.float() * scale).sum()
    total.backward()
    return logits, loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


__all__ = ["SHARED_FIELDS", "PopulationError", "population_key", "train_population", "unsupported_reason"]
