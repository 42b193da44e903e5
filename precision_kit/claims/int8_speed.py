"""Source 000, claim BI-7: INT8 is the practical deployment win, much smaller and cheaper to
run on a CPU (sections 3.3, 4).

The model is BI-2/BI-3's trained fp32 depth-2 MLP (784 → 128 → 128 → 10), seed 0, from the
model cache (`depth_arm` + `run_seeds`: nothing retrains). Its int8 copies (every backend of
`quantize.INT8_BACKENDS` that is installed) and the fp32 model run inference on the CPU
(dynamic int8 quantization is CPU-only) in alternating rounds of one process, after one
untimed warm-up round of every arm; the order of the arms rotates from round to round so no
arm always runs first. A round is a fixed number of forward passes (`PASSES`) at the case's
batch size. Per round, log(int8 seconds / fp32 seconds); the one-sided 95% t bounds of its
mean judge the case (`speed_judgement`). The weights' resident bytes of every model are
reported (`size.model_size`: tensor bytes of the parameters / packed weights); BI-2 judges
the size claim itself.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from ..errors import PrecisionKitError, UnsupportedError
from ..experiment import dataset, run_seeds
from ..precision import flush_denormals
from ..quantize import INT8_BACKENDS, quantize_int8
from ..size import model_size
from ..stats import lower_bound, upper_bound
from ..verdicts import Verdict
from .base import ClaimResult, Context, claim
from .cases import cases
from .depth_precision_setup import SOURCE, depth_arm

DEPTH, SEED = 2, 0  # BI-2/BI-3's trained depth-2 model, seed 0
# Forward passes per timed round at each batch size: ~measurable time per round on a CPU;
# batch 10,000 is the whole MNIST test set in one forward pass.
PASSES = {1: 200, 64: 50, 10_000: 1}
WARMUP_ROUNDS = 1
CONFIDENCE = 0.95


@dataclass(frozen=True)
class SpeedJudgement:
    """int8 vs fp32 time over paired rounds: the geometric-mean ratio int8/fp32 and its
    one-sided `confidence` bounds (from the t bounds of the mean per-round log-ratio)."""

    verdict: Verdict
    ratio: float
    low: float  # one-sided lower bound of the ratio
    high: float  # one-sided upper bound of the ratio
    n: int  # paired rounds
    confidence: float = CONFIDENCE

    def line(self, warmup: int | None = None) -> str:
        """'time int8/fp32 = 0.61× (one-sided 95% bounds [0.55, 0.68]), 5 paired rounds, …'."""
        pct = f"{round(self.confidence * 100, 6):g}%"
        untimed = "" if warmup is None else f" after {warmup} untimed"
        return (f"time int8/fp32 = {self.ratio:.2f}× (one-sided {pct} bounds [{self.low:.2f}, {self.high:.2f}]), "
                f"{self.n} alternating rounds{untimed}, faster if upper bound < 1 → {self.verdict.value}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "ratio": self.ratio, "low": self.low, "high": self.high,
                "n": self.n, "confidence": self.confidence, "line": self.line()}


def log_ratios(int8_seconds: Sequence[float], fp32_seconds: Sequence[float]) -> list[float]:
    """Per round log(int8 seconds / fp32 seconds); rounds are paired by position."""
    if len(int8_seconds) != len(fp32_seconds):
        raise ValueError(f"int8 and fp32 rounds must pair up; found {len(int8_seconds)} int8 and "
                         f"{len(fp32_seconds)} fp32 rounds")
    bad = [s for s in (*int8_seconds, *fp32_seconds) if not (math.isfinite(s) and s > 0)]
    if bad:
        raise ValueError(f"round times must be positive finite seconds; found {bad}")
    return [math.log(a / b) for a, b in zip(int8_seconds, fp32_seconds, strict=True)]


def speed_judgement(int8_seconds: Sequence[float], fp32_seconds: Sequence[float],
                    confidence: float = CONFIDENCE) -> SpeedJudgement:
    """HOLDS (int8 faster) if the one-sided upper bound of the mean log-ratio is < 0, FAILS
    (int8 slower) if the one-sided lower bound is > 0, INCONCLUSIVE otherwise. Needs ≥ 2 rounds
    (fewer raise `StatsInputError`)."""
    d = log_ratios(int8_seconds, fp32_seconds)
    hi, lo = upper_bound(d, confidence).high, lower_bound(d, confidence).low
    verdict = Verdict.HOLDS if hi < 0 else Verdict.FAILS if lo > 0 else Verdict.INCONCLUSIVE
    return SpeedJudgement(verdict, math.exp(statistics.mean(d)), math.exp(lo), math.exp(hi), len(d), confidence)


def fastest(judgements: Mapping[str, SpeedJudgement]) -> str:
    """The backend with the smallest int8/fp32 ratio."""
    if not judgements:
        raise ValueError("no int8 backend was measured; expected at least one")
    return min(judgements, key=lambda name: judgements[name].ratio)


def make_batches(images: torch.Tensor, batch_size: int, passes: int) -> list[torch.Tensor]:
    """`passes` consecutive batches of `batch_size` test images (wrapping around the set)."""
    n = images.shape[0]
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} needs at least that many test images; the test set has {n}")
    starts = [(i * batch_size) % (n - batch_size + 1) for i in range(passes)]
    return [images[s:s + batch_size].contiguous() for s in starts]


@torch.no_grad()
def forward_round(model: nn.Module, batches: Sequence[torch.Tensor]) -> None:
    """One round: a forward pass of `model` on each batch (CPU, eval mode)."""
    for x in batches:
        model(x)


def alternating_latency(models: Mapping[str, nn.Module], batches: Sequence[torch.Tensor], rounds: int,
                        warmup: int = WARMUP_ROUNDS) -> dict[str, list[float]]:
    """{name: [seconds of each timed round]}: every model runs `forward_round` once per round,
    `warmup` untimed rounds first; round r starts at the r-th model (the order rotates)."""
    if rounds < 1 or warmup < 0:
        raise ValueError(f"expected rounds ≥ 1 and warmup ≥ 0; found rounds={rounds}, warmup={warmup}")
    names = list(models)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    with flush_denormals():
        for r in range(warmup + rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                forward_round(models[name], batches)
                took = time.perf_counter() - start
                if r >= warmup:
                    seconds[name].append(took)
    return seconds


def int8_models(fp32: nn.Module) -> tuple[dict[str, nn.Module], dict[str, str]]:
    """fp32 plus the int8 copy of every available backend; {backend: reason} of the others."""
    models, unavailable = {"fp32": fp32}, {}
    for backend in INT8_BACKENDS:
        try:
            models[backend] = quantize_int8(fp32, backend)
        except UnsupportedError as err:
            unavailable[backend] = str(err)
    return models, unavailable


@dataclass(frozen=True)
class Measured:
    """One alternating-rounds measurement of fp32 and every available int8 backend at one
    batch size; the three backend cases of that batch size read it (one run, one ratio each)."""

    models: dict[str, nn.Module]
    unavailable: dict[str, str]
    batches: list[torch.Tensor]
    seconds: dict[str, list[float]]
    rounds: int


@lru_cache(maxsize=len(PASSES))
def measure(ctx: Context, batch_size: int) -> Measured:
    """Measure once per process and batch size (the case of each backend reuses it)."""
    arm = depth_arm(ctx, DEPTH)
    [run] = run_seeds(arm, [SEED], ctx.device, ctx.root)
    if run.diverged:
        raise PrecisionKitError(f"BI-7 needs the trained depth-{DEPTH} model of seed {SEED}, which {run.status}; "
                                "clear its cache entry and rerun")
    images = dataset(arm, "cpu", ctx.root).test.images  # int8 dynamic quantization is CPU-only
    batches = make_batches(images, batch_size, PASSES[batch_size])
    models, unavailable = int8_models(run.model("cpu").float().eval())
    rounds = ctx.pick(5, 10)
    return Measured(models, unavailable, batches, alternating_latency(models, batches, rounds), rounds)


@claim(
    "BI-7",
    SOURCE,
    "3.3, 4",
    "INT8 is the practical deployment win: much smaller and cheaper to run on a CPU",
    "CPU inference time int8/fp32 at batch 1, 64, 10,000, alternating rounds in one run; holds if int8 is "
    "faster (one-sided 95% upper bound of the ratio < 1), fails if the lower bound > 1; weight bytes reported",
    speed=True,
    cases=cases("batch={batch_size}-{backend}", batch_size=tuple(PASSES), backend=INT8_BACKENDS,
                smoke={"batch_size": 64, "backend": "torch.ao"}),
)
def bi7(ctx: Context, batch_size: int = 64, backend: str = "torch.ao") -> ClaimResult:
    """int8 (`backend`) vs fp32 inference of the trained depth-2 model (seed 0) on the CPU at
    `batch_size`: `PASSES[batch_size]` forward passes per round, 5 (quick) / 10 (paper) timed
    rounds after one untimed, arms alternating in one process; per round log(int8/fp32), the
    case HOLDS if the one-sided 95% upper bound of the ratio is < 1. Every other available
    backend is measured in the same rounds (once per batch size: `measure`), the fastest is
    reported. Timed: one int8 round."""
    if batch_size not in PASSES:
        raise ValueError(f"BI-7 batch_size={batch_size!r}; expected one of {', '.join(map(str, PASSES))}")
    if backend not in INT8_BACKENDS:
        raise ValueError(f"BI-7 backend={backend!r}; expected one of {', '.join(INT8_BACKENDS)}")
    depth_arm(ctx, DEPTH)  # records the measured model's budget in this case's row: measure() may be cached
    measured = measure(ctx, batch_size)
    if backend in measured.unavailable:
        raise UnsupportedError(measured.unavailable[backend])
    models, unavailable, batches = measured.models, measured.unavailable, measured.batches
    seconds, rounds = measured.seconds, measured.rounds
    judgements = {name: speed_judgement(seconds[name], seconds["fp32"]) for name in models if name != "fp32"}
    j, best = judgements[backend], fastest(judgements)
    weights = {name: model_size(m).tensor_bytes for name, m in models.items()}
    passes = f"{PASSES[batch_size]} forward pass{'es' if PASSES[batch_size] > 1 else ''} per round"
    line = f"{backend} at batch {batch_size} ({passes}): {j.line(WARMUP_ROUNDS)}"
    note = (f"fastest int8 backend at batch {batch_size}: {best} ({judgements[best].ratio:.2f}× fp32, "
            f"{judgements[best].verdict.value}); weights {weights[backend]:,} bytes int8 vs {weights['fp32']:,} fp32 "
            f"({weights[backend] / weights['fp32']:.0%})")
    if unavailable:
        note += f"; not measured: {', '.join(unavailable)} (unsupported here, reasons in the figures)"
    return ClaimResult(
        "BI-7",
        ctx.case,
        j.verdict,
        line,
        figures={
            "seconds": seconds,
            "judgements": judgements,  # ratio, bounds and verdict of every measured backend
            "ratio": j.ratio,
            "bounds": [j.low, j.high],
            "fastest_backend": best,
            "weights": {name: {"weight_bytes": b, "ratio_to_fp32": b / weights["fp32"]} for name, b in weights.items()},
            "unavailable_backends": unavailable,
            "batch_size": batch_size,
            "passes_per_round": PASSES[batch_size],
            "rounds": rounds,
            "warmup_rounds": WARMUP_ROUNDS,
            "threads": torch.get_num_threads(),  # intra-op threads of both arms
            "seed": SEED,
            "depth": DEPTH,
        },
        note=note,
        sizes={f"{name}_weights": b for name, b in weights.items()},
        timed=lambda: forward_round(models[backend], batches),
        timed_device="cpu",  # inference on the CPU in every case, a cuda case's too
    )
