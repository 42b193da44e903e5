"""What a training run takes and gives: the validated `TrainConfig`, the per-epoch
`EpochRecord`, the `TrainResult`, and each seed's data-order generator. Shared by the
sequential loop (`train`) and the population trainer (`population`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from .errors import PrecisionKitError
from .precision import get_precision

OPTIMIZERS = ("adam", "sgd", "sgd-momentum", "rmsprop")
CLIPS = ("none", "norm", "value")
EVALUATIONS = ("epoch", "final", "none")
CHECK_EVERY = 100  # steps between divergence checks (one host sync each)


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
    # Adam's / RMSprop's eps; None = the precision's default (`train.adam_eps`). Set it to give
    # a reference arm the eps a low precision needs (SZ-1's eps-matched fp32 control).
    adam_eps: float | None = None

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
        if self.adam_eps is not None:
            _positive("adam_eps", self.adam_eps, (float,))
        if self.evaluation not in EVALUATIONS:
            raise ValueError(
                f"evaluation={self.evaluation!r} is not supported; expected one of {', '.join(EVALUATIONS)}"
            )
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a string such as 'cpu' or 'cuda'; found {self.device!r}")

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def adam_eps(config: TrainConfig) -> float:
    """Adam's (and RMSprop's) eps: the config's own, else the precision's default (1e-8, and
    larger where 1e-8 is not representable in the parameter dtype: fp16 1e-4, bf16 1e-6)."""
    return config.adam_eps if config.adam_eps is not None else get_precision(config.precision).adam_eps


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


def data_generator(seed: int) -> torch.Generator:
    """The data-order generator of a seed, independent of the weight generator."""
    return torch.Generator().manual_seed(0x5EED_DA7A + seed)
