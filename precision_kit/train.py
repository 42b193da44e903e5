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
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset, epoch_batches
from .devices import peak_memory, resolve_device, start_peak_memory
from .errors import PrecisionKitError
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

OPTIMIZERS = ("adam", "sgd", "sgd-momentum", "rmsprop")
CLIPS = ("none", "norm", "value")
EVALUATIONS = ("epoch", "final", "none")
CHECK_EVERY = 100  # steps between divergence checks (one host sync each)
# Test hook for the regression gate: extra matmuls per step make a deliberate slowdown.
SLOWDOWN_ENV = "PRECISION_KIT_INJECT_SLOWDOWN"
ENGINES = ("auto", "autograd")  # train(engine=...): how a step is computed (results are the same)


def _positive(name: str, value, kind=(int,)) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError(f"{name} must be a positive {kind[0].__name__}; found {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Validated on construction."""

    epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # sgd-momentum only
    lr_decay: float | None = None  # multiplicative per-epoch factor (ExponentialLR gamma)
    clip: str = "none"
    clip_value: float | None = None
    precision: str = "fp32"
    seed: int = 0
    device: str = "cpu"
    evaluation: str = "epoch"  # test-set evaluation: every "epoch", only the "final" one, or "none"
    max_steps: int | None = None  # budget cap: stop after this many optimizer steps (last epoch partial)

    def __post_init__(self) -> None:
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("lr", self.lr, (float, int))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={self.optimizer!r} is not supported; expected one of {', '.join(OPTIMIZERS)}"
            )
        get_precision(self.precision)  # ValueError listing the valid modes
        if self.clip not in CLIPS:
            raise ValueError(f"clip={self.clip!r} is not supported; expected one of {', '.join(CLIPS)}")
        if self.clip == "none" and self.clip_value is not None:
            raise ValueError(f"clip_value={self.clip_value!r} given with clip='none'; set clip='norm' or 'value'")
        if self.clip != "none":
            _positive("clip_value", self.clip_value, (float, int))
        if self.lr_decay is not None and not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1] or None; found {self.lr_decay!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); found {self.momentum!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int ≥ 0; found {self.seed!r}")
        if self.max_steps is not None:
            _positive("max_steps", self.max_steps)
        if self.evaluation not in EVALUATIONS:
            raise ValueError(
                f"evaluation={self.evaluation!r} is not supported; expected one of {', '.join(EVALUATIONS)}"
            )
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a string such as 'cpu' or 'cuda'; found {self.device!r}")

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float  # running accuracy over the epoch's batches, percent
    seconds: float  # training only, evaluation excluded
    test_loss: float | None = None
    test_accuracy: float | None = None


class RunStatus:
    """`diverged` and `status` of a record with a `diverged_at_step` field (shared by
    `TrainResult` and the cached `experiment.Trained`)."""

    diverged_at_step: int | None

    @property
    def diverged(self) -> bool:
        return self.diverged_at_step is not None

    @property
    def status(self) -> str:
        return f"DIVERGED at step {self.diverged_at_step}" if self.diverged else "OK"


@dataclass(frozen=True)
class TrainResult(RunStatus):
    config: TrainConfig
    epochs: tuple[EpochRecord, ...]
    steps: int
    skipped_steps: int  # optimizer steps GradScaler skipped for inf/NaN gradients
    # CUDA allocator peak above what was allocated when training started: the arm's own model,
    # optimizer state, activations and batches; the resident dataset excluded (its copy cast to a
    # non-float32 parameter dtype is the arm's own and counts). None on CPU.
    peak_memory_bytes: int | None
    diverged_at_step: int | None
    model: nn.Module = field(repr=False, compare=False)


    @property
    def epoch_seconds(self) -> tuple[float, ...]:
        return tuple(e.seconds for e in self.epochs)

    @property
    def test_accuracy(self) -> float:
        """Final test accuracy in percent; a diverged run has none."""
        if self.diverged:
            raise PrecisionKitError(
                f"training {self.status}: a diverged model has no accuracy to report; "
                "lower the learning rate or use a wider precision"
            )
        last = self.epochs[-1].test_accuracy
        if last is None:
            raise PrecisionKitError(
                f"no test evaluation was recorded (evaluation={self.config.evaluation!r}); "
                "train with evaluation='epoch' or 'final', or call evaluate(result.model, data)"
            )
        return last


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


def data_generator(seed: int) -> torch.Generator:
    """The data-order generator of a seed, independent of the weight generator."""
    return torch.Generator().manual_seed(0x5EED_DA7A + seed)


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
