"""Binomial shares over seeds: exact Clopper–Pearson bounds, and the verdict that a stated
outcome (e.g. "class 3 is the most over-predicted") is the majority outcome of the seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

from .verdicts import Verdict, check_confidence


def clopper_pearson(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact one-sided `confidence` Clopper–Pearson bounds (lower, upper) of a binomial share."""
    conf = check_confidence(confidence)
    if n < 1 or not 0 <= hits <= n:
        raise ValueError(f"expected 0 ≤ hits ≤ n and n ≥ 1; found hits={hits}, n={n}")
    low = 0.0 if hits == 0 else float(sps.beta.ppf(1 - conf, hits, n - hits + 1))
    high = 1.0 if hits == n else float(sps.beta.ppf(conf, hits + 1, n - hits))
    return low, high


@dataclass(frozen=True)
class Majority:
    """A stated outcome seen in `hits` of `n` seeds; HOLDS if it is the majority with confidence."""

    verdict: Verdict
    hits: int
    n: int
    low: float
    high: float
    confidence: float
    what: str

    def line(self) -> str:
        return (f"{self.what} in {self.hits}/{self.n} seeds, one-sided {self.confidence:.0%} Clopper–Pearson "
                f"bounds [{self.low:.2f}, {self.high:.2f}], majority > 0.5 → {self.verdict}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "hits": self.hits, "n": self.n, "low": self.low,
                "high": self.high, "confidence": self.confidence, "line": self.line()}


def majority(hits: Sequence[bool], what: str, confidence: float = 0.95) -> Majority:
    """HOLDS if the lower Clopper–Pearson bound of the share of hits is > 0.5, FAILS if the
    upper bound is < 0.5, else INCONCLUSIVE (e.g. with 3 seeds, whatever they show)."""
    k, n = sum(bool(h) for h in hits), len(hits)
    low, high = clopper_pearson(k, n, confidence)
    verdict = Verdict.HOLDS if low > 0.5 else Verdict.FAILS if high < 0.5 else Verdict.INCONCLUSIVE
    return Majority(verdict, k, n, low, high, confidence, what)


def decisive(n: int, confidence: float = 0.95) -> bool:
    """Whether `n` seeds can decide a majority at all (all hits → lower bound > 0.5)."""
    return clopper_pearson(n, n, confidence)[0] > 0.5
