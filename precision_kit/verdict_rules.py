"""The verdict rules, read off intervals: one home for what HOLDS, FAILS or stays
INCONCLUSIVE under equivalence, an upper bound and superiority (the rules are stated in
`precision_kit.stats`' docstring), for seed-level (`stats`) and image-level (`stats_images`)
judgements alike."""

from __future__ import annotations

import math

from .verdicts import Interval, StatsInputError, Verdict


def check_margin(margin: float) -> float:
    if not (math.isfinite(margin) and margin > 0):
        raise StatsInputError(f"margin must be a positive finite number of points, got {margin}")
    return float(margin)


def check_bound(bound: float) -> float:
    if not math.isfinite(bound):
        raise StatsInputError(f"bound must be a finite number of points, got {bound}")
    return float(bound)


def equivalence_verdict(ci: Interval, margin: float) -> Verdict:
    if -margin <= ci.low and ci.high <= margin:
        return Verdict.HOLDS
    if ci.low > margin or ci.high < -margin:
        return Verdict.FAILS
    return Verdict.INCONCLUSIVE


def at_most_verdict(low: Interval, high: Interval, bound: float) -> tuple[Verdict, Interval]:
    if high.high <= bound:
        return Verdict.HOLDS, high
    if low.low > bound:
        return Verdict.FAILS, low
    return Verdict.INCONCLUSIVE, high


def superiority_verdict(low: Interval, high: Interval) -> tuple[Verdict, Interval]:
    if low.low > 0:
        return Verdict.HOLDS, low
    if high.high < 0:
        return Verdict.FAILS, high
    return Verdict.INCONCLUSIVE, low
