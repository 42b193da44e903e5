"""Judging a time ratio against a target over alternating rounds: the mean ratio (geometric,
from per-round log ratios in percent, 100·ln) and its one-sided 95% bounds. A pure helper of
the engine claims (EN-1, EN-2 in `engine_speed`; EN-3 in `engine_loop`): it registers no claim.
"""

from __future__ import annotations

import math
import statistics

from ..stats import lower_bound, upper_bound
from ..verdicts import Verdict


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
