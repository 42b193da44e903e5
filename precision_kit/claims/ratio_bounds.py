"""Judging a time ratio against a target over alternating rounds: the mean ratio (geometric,
from per-round log ratios in percent, 100·ln) and its one-sided 95% bounds. A pure helper of
the engine claims (EN-1, EN-2 in `engine_speed`; EN-3 in `engine_loop`), and the ratio-in-a-band
judgement of SZ-2 and SZ-8 ("nearly identical" times, `ratio_judgement`): it registers no claim.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from ..stats import lower_bound, mean_ci, upper_bound
from ..verdicts import Verdict

RATIO_BAND = (0.8, 1.25)  # "nearly identical": within ±20%, symmetric on a log scale


def _bounds(log_ratios: list[float]) -> tuple[float, float, float]:
    """Mean ratio and its one-sided 95% lower and upper bounds, from log ratios in percent (100·ln)."""
    mean = math.exp(statistics.mean(log_ratios) / 100)
    return mean, math.exp(lower_bound(log_ratios).low / 100), math.exp(upper_bound(log_ratios).high / 100)


def at_least(log_ratios: list[float], target: float) -> tuple[Verdict, float, float, float]:
    """HOLDS if the lower bound of the mean ratio is ≥ target, FAILS if the upper bound is below it."""
    mean, lo, hi = _bounds(log_ratios)
    verdict = Verdict.HOLDS if lo >= target else Verdict.FAILS if hi < target else Verdict.INCONCLUSIVE
    return verdict, mean, lo, hi


def at_most(log_ratios: list[float], target: float) -> tuple[Verdict, float, float, float]:
    """HOLDS if the upper bound of the mean ratio is ≤ target, FAILS if the lower bound is above it."""
    mean, lo, hi = _bounds(log_ratios)
    verdict = Verdict.HOLDS if hi <= target else Verdict.FAILS if lo > target else Verdict.INCONCLUSIVE
    return verdict, mean, lo, hi


@dataclass(frozen=True)
class RatioJudgement:
    """Time ratio arm/reference over alternating rounds: geometric mean, 90% t-CI of the mean
    log ratio, and the verdict against `band` (HOLDS: CI inside; FAILS: CI entirely outside)."""

    ratio: float
    low: float
    high: float
    n: int
    band: tuple[float, float]
    verdict: Verdict

    def text(self) -> str:
        return f"×{self.ratio:.2f} (90% CI [×{self.low:.2f}, ×{self.high:.2f}])"

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "low": self.low, "high": self.high, "n": self.n,
                "band": list(self.band), "verdict": str(self.verdict)}


def ratio_judgement(ref_seconds, arm_seconds, band=RATIO_BAND) -> RatioJudgement:
    """Judge per-round ratios arm/ref (paired by round) against `band` on the log scale."""
    if len(ref_seconds) != len(arm_seconds):
        raise ValueError(f"{len(ref_seconds)} reference times but {len(arm_seconds)} arm times; "
                         "rounds are paired, pass one time of each per round")
    if min(*ref_seconds, *arm_seconds) <= 0:
        raise ValueError("times must be positive seconds")
    logs = [math.log(a / r) for r, a in zip(ref_seconds, arm_seconds, strict=True)]
    ci = mean_ci(logs, 0.90)
    lo, hi = math.log(band[0]), math.log(band[1])
    if lo <= ci.low and ci.high <= hi:
        verdict = Verdict.HOLDS
    elif ci.low > hi or ci.high < lo:
        verdict = Verdict.FAILS
    else:
        verdict = Verdict.INCONCLUSIVE
    return RatioJudgement(math.exp(ci.estimate), math.exp(ci.low), math.exp(ci.high), ci.n,
                          tuple(band), verdict)
