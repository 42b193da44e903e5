"""The orchestrator: an `Arm` (model spec + training config + data options) and a seed in,
a cached `Trained` record out. Claims and benchmark cases call this, nothing lower.

A `Trained` keeps what every later stage needs without retraining: the state dict, the
curves, the per-image correctness on the test split (for paired statistics) and the
epoch times. Arms of one seed share initial weights (built from the seed in float32 on
CPU) and data order (the seed's own data generator), whatever their precision or device.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from . import cache, progress
from .data import Dataset, load_dataset
from .devices import resolve_device
from .errors import PrecisionKitError
from .evaluate import EvalResult, evaluate
from .models import cnn, mlp
from .population import train_population, unsupported_reason
from .precision import get_precision
from .train import train
from .train_types import EpochRecord, RunStatus, TrainConfig, TrainResult

MODEL_KINDS = ("mlp", "cnn")


@dataclass(frozen=True)
class ModelSpec:
    """What to build: `mlp(depth, width, activation, init)` or `cnn(dropout, init, depth)` (a
    cnn's depth counts its convolutional layers: 2, the source's, or 3)."""

    kind: str = "mlp"
    depth: int = 2
    width: int | tuple[int, ...] = 128
    activation: str = "relu"
    init: str = "xavier_uniform"
    dropout: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind={self.kind!r} is not supported; expected one of {', '.join(MODEL_KINDS)}")
        self.build(0)  # validates the remaining fields with the builders' own messages

    def build(self, seed: int) -> nn.Module:
        if self.kind == "cnn":
            return cnn(self.dropout, init=self.init, seed=seed, depth=self.depth)
        return mlp(self.depth, self.width, self.activation, self.init, seed=seed)

    @property
    def label(self) -> str:
        if self.kind == "cnn":
            conv = "" if self.depth == 2 else f"{self.depth} conv, "
            return f"cnn({conv}dropout={self.dropout})"
        widths = self.width if isinstance(self.width, tuple) else (self.width,) * self.depth
        act = "" if self.activation == "relu" else f" {self.activation}"
        return "mlp 784-" + "-".join(map(str, widths)) + "-10" + act


@dataclass(frozen=True)
class Arm:
    """One experimental condition. The seed and device are given when it is run."""

    model: ModelSpec
    config: TrainConfig
    normalize: str = "unit"
    dataset: str = "mnist"

    def replace(self, **changes) -> Arm:
        return dataclasses.replace(self, **changes)

    def with_config(self, **changes) -> Arm:
        return dataclasses.replace(self, config=self.config.replace(**changes))

    def describe(self, seed: int, device: torch.device) -> dict[str, Any]:
        config = dataclasses.asdict(self.config.replace(seed=seed, device=device.type))
        return {
            "model": dataclasses.asdict(self.model),
            "config": config,
            "normalize": self.normalize,
            "dataset": self.dataset,
        }


@dataclass(frozen=True)
class Trained(RunStatus):
    """A trained arm of one seed, as stored in the cache."""

    arm: Arm
    seed: int
    device: str
    epochs: tuple[EpochRecord, ...]
    steps: int
    skipped_steps: int
    peak_memory_bytes: int | None
    diverged_at_step: int | None
    correct: torch.Tensor | None = field(repr=False)  # bool (10000,) on the test split
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    extras: dict[str, Any] = field(default_factory=dict, repr=False)
    from_cache: bool = False


    @property
    def accuracy(self) -> float:
        """Final test accuracy in percent; a diverged run has none."""
        if self.diverged or self.correct is None:
            raise PrecisionKitError(
                f"{self.arm.model.label} seed {self.seed} {self.status}: a diverged model has no accuracy"
            )
        return 100.0 * int(self.correct.sum()) / self.correct.numel()

    def model(self, device: str | torch.device = "cpu") -> nn.Module:
        """The trained model rebuilt from the state dict, in its training dtype, on `device`."""
        model = self.arm.model.build(self.seed)
        dtype = get_precision(self.arm.config.precision).param_dtype
        model.to(dtype=dtype)
        model.load_state_dict(self.state_dict)
        return model.to(resolve_device(device)).eval()


@lru_cache(maxsize=8)
def _dataset(name: str, normalize: str, device: str, root: str | None) -> Dataset:
    return load_dataset(name, root=root, device=device, normalize=normalize)


def dataset(arm: Arm, device: str | torch.device = "cpu", root: str | None = None) -> Dataset:
    """The arm's dataset on `device`, loaded once per process."""
    dev = resolve_device(device)
    return _dataset(arm.dataset, arm.normalize, str(dev), root or os.environ.get("PRECISION_KIT_DATA"))


# Members per population: the paper profile's 10 seeds fit one; more are trained in chunks.
MAX_MEMBERS = 16


def engine_for(arm: Arm) -> str:
    """"population" when the arm's seeds can be stacked (`population.unsupported_reason`:
    every MLP and the CNN, every optimizer), else "sequential". Decided by the arm alone, so
    a seed's result never depends on which other seeds were pending."""
    return "population" if unsupported_reason(arm.model.build(0), arm.config) is None else "sequential"


def run_arm(
    arm: Arm,
    seed: int,
    device: str | torch.device = "cpu",
    root: str | None = None,
    use_cache: bool = True,
    recorder=None,
    data: Dataset | None = None,
) -> Trained:
    """`run_seeds(arm, [seed], ...)`: one seed trained, or loaded from the cache."""
    return run_seeds(arm, [seed], device, root, use_cache=use_cache, recorder=recorder, data=data)[0]


def run_seeds(
    arm: Arm,
    seeds,
    device: str | torch.device = "cpu",
    root: str | None = None,
    use_cache: bool = True,
    recorder=None,
    data: Dataset | None = None,
) -> list[Trained]:
    """Train `arm` with each seed on `device`, or load each from the cache; in seed order.

    The seeds not in the cache are trained together as one population (`population`:
    stacked members, one computation) where the arm allows it (`engine_for`), else one
    after the other with `train`. The engine enters the cache key.

    `recorder`, if given, is an object with `key` (a short string that enters the cache
    key), `on_epoch(epoch, model)` and `result() -> dict`; its result is stored in
    `Trained.extras` (e.g. per-epoch weight histograms for claim TD-4). `data` replaces the
    arm's dataset (e.g. a k-fold split); its fingerprint then enters the cache key.
    """
    dev = resolve_device(device)
    seeds = list(seeds)
    engine = engine_for(arm)
    keys = {seed: _cache_key(arm, seed, dev, engine, recorder, data) for seed in seeds}
    done: dict[int, Trained] = {}
    if use_cache:
        _load(arm, seeds, keys, dev, done)
    pending = [s for s in dict.fromkeys(seeds) if s not in done]
    if not pending:
        return [done[s] for s in seeds]
    with cache.claimed([keys[s] for s in pending]) if use_cache else contextlib.nullcontext():
        if use_cache:  # another process may have trained them while this one waited
            _load(arm, pending, keys, dev, done)
            pending = [s for s in pending if s not in done]
        if pending:
            _train(arm, pending, keys, dev, engine, root, use_cache, recorder, data, done)
    return [done[s] for s in seeds]


def _load(arm: Arm, seeds: list[int], keys: dict[int, str], dev: torch.device, done: dict[int, Trained]) -> None:
    for seed in seeds:
        stored = cache.load(keys[seed], parse=_from_cache)
        if stored is not None:
            done[seed] = Trained(arm=arm, seed=seed, device=dev.type, **stored, from_cache=True)


def _train(arm: Arm, pending: list[int], keys: dict[int, str], dev: torch.device, engine: str, root: str | None,
           use_cache: bool, recorder, data: Dataset | None, done: dict[int, Trained]) -> None:
    """Train the `pending` seeds of `arm` (as populations of at most MAX_MEMBERS, or one after
    the other), cache each and put it in `done`."""
    data = dataset(arm, dev, root) if data is None else data.to(dev)
    config = arm.config.replace(device=str(dev))
    if config.evaluation == "none":
        config = config.replace(evaluation="final")
    # One recorder per seed: a population calls every member's hook in each epoch.
    recorders = [copy.deepcopy(recorder) for _ in pending] if recorder is not None else [None] * len(pending)
    chunks = range(0, len(pending), MAX_MEMBERS)
    what = f"{arm.model.label} {config.precision}, {_count(len(pending), 'seed')}"
    if engine == "population":
        with progress.task(f"{what}, {_count(len(chunks), 'population')}", runs=len(chunks), epochs=config.epochs):
            results = []
            for i in chunks:
                chunk = pending[i : i + MAX_MEMBERS]
                hooks = [r.on_epoch if r is not None else None for r in recorders[i : i + MAX_MEMBERS]]
                models = [arm.model.build(s) for s in chunk]
                results += train_population(models, data, [config.replace(seed=s) for s in chunk], on_epoch=hooks)
    else:
        with progress.task(f"{what}, one after the other", runs=len(pending), epochs=config.epochs):
            results = [
                train(arm.model.build(s), data, config.replace(seed=s), on_epoch=r.on_epoch if r else None)
                for s, r in zip(pending, recorders, strict=True)
            ]
    for seed, result, rec in zip(pending, results, recorders, strict=True):
        payload = _payload(result, data, config.precision, rec)
        if use_cache:
            cache.save(keys[seed], _to_cache(payload))
        done[seed] = Trained(arm=arm, seed=seed, device=dev.type, **payload)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("s" if n != 1 else "")


def _cache_key(arm: Arm, seed: int, dev: torch.device, engine: str, recorder, data: Dataset | None) -> str:
    description = arm.describe(seed, dev)
    if engine != "sequential":
        description["engine"] = engine
    if recorder is not None:
        description["recorder"] = recorder.key
    if data is not None:
        description["data"] = fingerprint(data)
    return cache.cache_key(description)


def _payload(result: TrainResult, data: Dataset, precision: str, recorder) -> dict[str, Any]:
    correct = None
    if not result.diverged:
        correct = evaluate(result.model, data, "test", precision).correct
    return dict(
        epochs=result.epochs,
        steps=result.steps,
        skipped_steps=result.skipped_steps,
        peak_memory_bytes=result.peak_memory_bytes,
        diverged_at_step=result.diverged_at_step,
        correct=correct,
        state_dict={k: v.detach().cpu() for k, v in result.model.state_dict().items()},
        extras=recorder.result() if recorder else {},
    )


def _to_cache(payload: dict[str, Any]) -> dict[str, Any]:
    """A `Trained`'s stored fields as tensors and plain JSON (the cache runs no code)."""
    return {**payload, "epochs": [dataclasses.asdict(e) for e in payload["epochs"]]}


def _from_cache(stored: dict[str, Any]) -> dict[str, Any]:
    """The inverse of `_to_cache`. A stored entry of another shape raises KeyError or
    TypeError, so the cache moves it aside and the arm is retrained."""
    correct, state = stored["correct"], stored["state_dict"]
    if not (correct is None or isinstance(correct, torch.Tensor)) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise TypeError("a cached run's correctness and state dict must be tensors")
    epochs = tuple(EpochRecord(**e) for e in stored["epochs"])
    return {**{name: stored[name] for name in _STORED}, "epochs": epochs}


_STORED = ("steps", "skipped_steps", "peak_memory_bytes", "diverged_at_step", "correct", "state_dict", "extras")


def fingerprint(data: Dataset) -> str:
    """A content hash of a dataset's labels and image statistics (for cache keys)."""
    digest = hashlib.sha256(data.name.encode() + data.normalize.encode())
    for split in (data.train, data.test):
        digest.update(split.labels.cpu().numpy().tobytes())
        digest.update(split.images.double().sum(dim=(1, 2, 3)).cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def reevaluate(trained: Trained, device="cpu", root: str | None = None, data: Dataset | None = None) -> EvalResult:
    """Evaluate a (cached) trained model again from its state dict: the harness control.

    The result's per-image correctness must equal the stored one exactly (same model,
    same data, same kernels); `check_control` raises if not.
    """
    model = trained.model(device)
    data = dataset(trained.arm, device, root) if data is None else data
    return evaluate(model, data, "test", trained.arm.config.precision)


def check_control(trained: Trained, device="cpu", root: str | None = None, data: Dataset | None = None) -> int:
    """Raise if re-evaluating the same model disagrees with the stored correctness; return
    the number of images that flipped (0 when the harness is sound)."""
    again = reevaluate(trained, device, root, data)
    flips = int((again.correct != trained.correct).sum())
    if flips:
        raise PrecisionKitError(
            f"HARNESS BROKEN: the same model ({trained.arm.model.label}, seed {trained.seed}) evaluated "
            f"twice disagrees on {flips} test images; expected 0. Clear the cache ({cache.cache_dir()}) "
            "and check for nondeterministic kernels."
        )
    return flips
