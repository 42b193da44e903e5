"""Timings that can be compared across runs: every timed case also times a fixed reference
computation (a GEMM) in the same process, in alternating rounds, and reports its own time
as a multiple of the reference. Absolute seconds are kept for reading, never for gating.

Round k times the reference, then the case; the normalized figure is the median over rounds
of case_k / reference_k, and `spread` (the ratios' range over their median) is the run's
own measure of its noise, which the gate uses as a tolerance.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .devices import resolve_device

# The fixed reference work per device type: `repeats` products of two size×size float32
# matrices, about 20-40 ms on a 2-core CPU and a few ms on a datacentre GPU.
REFERENCE_WORK = {"cpu": (512, 20), "cuda": (4096, 8)}


@dataclass(frozen=True)
class Timing:
    """One case's alternating rounds: its seconds, the reference's, and their ratios."""

    seconds: tuple[float, ...]
    reference_seconds: tuple[float, ...]
    reference: str  # what the reference computation was, e.g. "20 × fp32 GEMM 512³ on cpu"

    def __post_init__(self) -> None:
        if not self.seconds or len(self.seconds) != len(self.reference_seconds):
            raise ValueError(
                f"a Timing needs one reference time per round; found {len(self.seconds)} case and "
                f"{len(self.reference_seconds)} reference times"
            )
        if min(self.reference_seconds) <= 0:
            raise ValueError(f"reference times must be positive; found {self.reference_seconds}")

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(s / r for s, r in zip(self.seconds, self.reference_seconds, strict=True))

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def normalized(self) -> float:
        """The case's time in units of the reference computation (median over rounds)."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> float:
        """Relative range of the per-round ratios: (max − min) / median; 0 for one round."""
        r = self.ratios
        return (max(r) - min(r)) / self.normalized if self.normalized > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            seconds=list(self.seconds),
            reference_seconds=list(self.reference_seconds),
            ratios=list(self.ratios),
            median_seconds=self.median_seconds,
            normalized=self.normalized,
            spread=self.spread,
        )
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Timing:
        return cls(tuple(doc["seconds"]), tuple(doc["reference_seconds"]), doc.get("reference", ""))


def reference_gemm(device: str | torch.device = "cpu") -> tuple[Callable[[], None], str]:
    """The reference computation for `device` and its description."""
    dev = resolve_device(device)
    size, repeats = REFERENCE_WORK[dev.type]
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=gen).to(dev)
    b = torch.rand(size, size, generator=gen).to(dev)
    out = torch.empty(size, size, device=dev)

    def run() -> None:
        with _no_tf32(dev):
            for _ in range(repeats):
                torch.mm(a, b, out=out)

    return run, f"{repeats} × fp32 GEMM {size}³ on {dev.type}"


class _no_tf32:
    """Keep the reference GEMM in true float32 on CUDA whatever the case set."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def __enter__(self):
        if self.cuda:
            self.saved = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = self.saved


class AlternatingTimer:
    """Times a case and the reference in alternating rounds.

    `before_round()` runs and times the reference; `wrap(fn)` returns `fn` timed. Use the
    pair as pytest-benchmark's `setup` and target, or call `measure` for the plain loop.
    """

    def __init__(self, device: str | torch.device = "cpu", reference: Callable[[], None] | None = None):
        self.device = resolve_device(device)
        if reference is None:
            reference, self.description = reference_gemm(self.device)
        else:
            self.description = getattr(reference, "__name__", "custom reference")
        self.reference = reference
        self.case_seconds: list[float] = []
        self.reference_seconds: list[float] = []

    def _timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        self._sync()
        start = time.perf_counter()
        out = fn()
        self._sync()
        return time.perf_counter() - start, out

    def before_round(self) -> None:
        seconds, _ = self._timed(self.reference)
        self.reference_seconds.append(seconds)

    def wrap(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        def timed() -> Any:
            seconds, out = self._timed(fn)
            self.case_seconds.append(seconds)
            return out

        return timed

    def result(self, warmup: int = 0) -> Timing:
        """The rounds after the first `warmup` ones, as a `Timing`."""
        if len(self.case_seconds) != len(self.reference_seconds):
            raise RuntimeError(
                f"unpaired rounds: {len(self.case_seconds)} case and {len(self.reference_seconds)} reference "
                "times; call before_round() once before each call of the wrapped function"
            )
        return Timing(
            tuple(self.case_seconds[warmup:]), tuple(self.reference_seconds[warmup:]), self.description
        )

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def measure(
    fn: Callable[[], Any],
    device: str | torch.device = "cpu",
    rounds: int = 5,
    warmup: int = 1,
    reference: Callable[[], None] | None = None,
) -> Timing:
    """Time `fn` against the reference in `rounds` alternating rounds after `warmup` ones."""
    if rounds < 1 or warmup < 0:
        raise ValueError(f"rounds must be ≥ 1 and warmup ≥ 0; found rounds={rounds}, warmup={warmup}")
    timer = AlternatingTimer(device, reference)
    timed = timer.wrap(fn)
    for _ in range(warmup + rounds):
        timer.before_round()
        timed()
    return timer.result(warmup)
