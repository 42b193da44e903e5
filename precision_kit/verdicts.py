"""Result types of the claim statistics: verdicts, intervals, judgements, their one-line form,
and the error raised for inputs no statistic can use.

Everything here is plain data plus formatting; the computations live in `precision_kit.stats`
and `precision_kit.mcnemar` (`precision_kit.stats` re-exports the types). Accuracies and
differences are in percentage points, and a difference is always Δ = acc(arm B) − acc(arm A).

The one-line form is the ledger's verdict line, for example::

    Δ=−0.04 pt, 90% CI [−0.11, +0.03], 5 paired seeds, margin ±0.2 → HOLDS
    Δ=+0.31 pt, 95% upper bound +0.52, 5 paired seeds, bound ≤ 1.2 → HOLDS
    Δ=+0.03 pt, 90% CI [−0.06, +0.12], 10000 images, discordant 12/15, p=0.70, margin ±0.2 → HOLDS

Numbers use the true minus sign (U+2212) and an explicit + for positives; a value that rounds
to zero prints unsigned (0.00).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum

from .errors import PrecisionKitError

MINUS = "\u2212"

#: The kinds of test a Judgement can report.
EQUIVALENCE = "equivalence"  # 90% CI inside [−margin, +margin] (TOST at 5%)
UPPER_BOUND = "upper-bound"  # one-sided upper bound of Δ ≤ bound
SUPERIORITY = "superiority"  # one-sided lower bound of Δ > 0
NON_INFERIORITY = "non-inferiority"  # one-sided lower bound of Δ > −margin
TESTS = (EQUIVALENCE, UPPER_BOUND, SUPERIORITY, NON_INFERIORITY)


class StatsInputError(PrecisionKitError, ValueError):
    """The numbers handed to a statistic cannot support it (too few seeds, NaN, mismatch)."""


# How many looks at the data the judge now running has planned (its seeds escalate in stages,
# 5 → 10: two looks). Within `looks_scope` (`run_claim` opens one around each judge), every
# interval is widened to Bonferroni over the looks, so the error rate of the whole staged
# procedure is at most the nominal one. None: no judge is running under `run_claim`.
_LOOKS: ContextVar[int | None] = ContextVar("precision_kit_looks", default=None)


def check_confidence(confidence: float) -> float:
    """A confidence level in [0.5, 1): two-sided coverage, or one-sided for a bound. Within
    a `looks_scope` where k looks are planned it is returned Bonferroni-adjusted: the error
    1 − c split over the k looks."""
    if not 0.5 <= confidence < 1.0:
        raise StatsInputError(f"confidence must be in [0.5, 1), got {confidence}")
    looks = _LOOKS.get() or 1
    return float(confidence) if looks == 1 else 1.0 - (1.0 - float(confidence)) / looks


def plan_looks(looks: int) -> None:
    """Declare that the judge now running looks at its data up to `looks` times (staged
    seeds): from here to the end of the enclosing `looks_scope`, intervals are adjusted.
    Outside a scope (a judge called directly) nothing is staged and nothing changes."""
    if looks < 1:
        raise ValueError(f"looks must be at least 1, got {looks}")
    if _LOOKS.get() is not None:
        _LOOKS.set(looks)


@contextmanager
def looks_scope() -> Iterator[None]:
    """A judge's run: what it declares with `plan_looks` ends with this block."""
    token = _LOOKS.set(1)
    try:
        yield
    finally:
        _LOOKS.reset(token)


class Verdict(str, Enum):
    """What the evidence says about a claim."""

    HOLDS = "HOLDS"
    FAILS = "FAILS"
    INCONCLUSIVE = "INCONCLUSIVE"
    # The case ran at a budget that cannot reach the regime the claim is about (e.g. 1 of the
    # source's 20 epochs): its figures are reported, no verdict on the claim is drawn.
    UNTESTED = "UNTESTED"

    def __str__(self) -> str:
        return self.value


def combine(*verdicts: Verdict) -> Verdict:
    """The verdict of a claim with several parts: FAILS if any part fails, else UNTESTED if
    any part was not tested, HOLDS if every part holds, INCONCLUSIVE otherwise."""
    if any(v == Verdict.FAILS for v in verdicts):
        return Verdict.FAILS
    if any(v == Verdict.UNTESTED for v in verdicts):
        return Verdict.UNTESTED
    if all(v == Verdict.HOLDS for v in verdicts):
        return Verdict.HOLDS
    return Verdict.INCONCLUSIVE


# How a measured verdict may differ from the expected one recorded with the baselines.
FIRM = (Verdict.HOLDS, Verdict.FAILS)


def expectation(expected: str, measured: Verdict) -> tuple[bool, str]:
    """Whether `measured` meets the `expected` verdict, and what to report.

    An expected HOLDS, FAILS or UNTESTED accepts only itself: a drift from HOLDS to
    INCONCLUSIVE is a change the gate must see. An expected INCONCLUSIVE accepts INCONCLUSIVE,
    or a firmer HOLDS/FAILS (more evidence than when it was recorded: reported, so that the
    expected verdict is updated); UNTESTED never meets an expectation of a tested verdict."""
    try:
        want = Verdict(expected)
    except ValueError:
        raise ValueError(
            f"expected verdict {expected!r} is not one of {', '.join(v.value for v in Verdict)}; "
            "fix baselines/expected_verdicts.json"
        ) from None
    if measured == want:
        return True, ""
    if want == Verdict.INCONCLUSIVE and measured in FIRM:
        return True, (f"firmer than expected: {measured.value} where INCONCLUSIVE was recorded; "
                      "update the expected verdict")
    return False, f"expected {want.value}, measured {measured.value}"


def signed(x: float, digits: int = 2) -> str:
    """`x` with a true minus sign or an explicit plus: −0.04, +0.03, 0.00."""
    if math.isinf(x):
        return ("+" if x > 0 else MINUS) + "∞"
    r = round(x, digits)
    if r == 0:
        return f"{0.0:.{digits}f}"
    return ("+" if r > 0 else MINUS) + f"{abs(r):.{digits}f}"


def plain(x: float) -> str:
    """A threshold as given (0.2, 1.2, −0.5): shortest form, true minus sign."""
    return f"{x:g}".replace("-", MINUS)


def percent(confidence: float) -> str:
    """0.9 → '90%', 0.975 → '97.5%'."""
    return f"{round(confidence * 100, 6):g}%"


def p_text(p: float) -> str:
    """A p-value to two decimals, with more digits (or a floor) when it is small."""
    if p < 0.001:
        return "p<0.001"
    if p < 0.01:
        return f"p={p:.3f}"
    return f"p={p:.2f}"


def _json_float(x: float) -> float | None:
    return None if math.isinf(x) else float(x)


@dataclass(frozen=True)
class Interval:
    """A confidence interval (or one-sided bound) for a mean difference, in points.

    A one-sided upper bound has `low = -inf`; a one-sided lower bound has `high = +inf`.
    `confidence` is the coverage of the whole interval (0.90 for a two-sided 90% CI, 0.95 for a
    one-sided 95% bound). `n` counts the paired units behind it (seeds or images).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n: int

    def __post_init__(self) -> None:
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie strictly between 0 and 1, got {self.confidence}")
        if any(math.isnan(v) for v in (self.estimate, self.low, self.high)):
            raise ValueError(f"interval has a NaN: {self.estimate}, [{self.low}, {self.high}]")
        if self.low > self.high:
            raise ValueError(f"interval low {self.low} is above high {self.high}")

    @property
    def sided(self) -> str:
        """'two-sided', 'upper' (only an upper bound) or 'lower' (only a lower bound)."""
        if math.isinf(self.low) and not math.isinf(self.high):
            return "upper"
        if math.isinf(self.high) and not math.isinf(self.low):
            return "lower"
        return "two-sided"

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def text(self) -> str:
        """'90% CI [−0.11, +0.03]', '95% upper bound +0.52' or '95% lower bound +0.12'."""
        if self.sided == "upper":
            return f"{percent(self.confidence)} upper bound {signed(self.high)}"
        if self.sided == "lower":
            return f"{percent(self.confidence)} lower bound {signed(self.low)}"
        return f"{percent(self.confidence)} CI [{signed(self.low)}, {signed(self.high)}]"

    def line(self) -> str:
        return f"Δ={signed(self.estimate)} pt, {self.text()}, n={self.n}"

    def to_dict(self) -> dict:
        """JSON-safe: an infinite end is None."""
        return {
            "estimate": float(self.estimate),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "confidence": float(self.confidence),
            "n": int(self.n),
        }


@dataclass(frozen=True)
class Judgement:
    """A claim's verdict with the evidence its verdict line shows.

    `interval` is the interval or one-sided bound that decided the verdict (for one-sided tests,
    the bound on the side that was compared with the threshold). `margin` is set for
    equivalence, `bound` for upper-bound tests. `discordant` (b, c) and `p_value` (exact
    McNemar) are set when the evidence is per-image correctness of one pair of models; then `n`
    counts images, otherwise paired seeds.
    """

    verdict: Verdict
    delta: float
    interval: Interval
    n: int
    test: str
    margin: float | None = None
    bound: float | None = None
    discordant: tuple[int, int] | None = None
    p_value: float | None = None
    # The one-sided p-value of the test that would make the verdict FAILS (Δ beyond the
    # threshold on the claim-contradicting side), and the level it is compared with: the
    # verdict is FAILS exactly when p_fail < fail_alpha. Holm across a claim's cases uses them.
    p_fail: float | None = None
    fail_alpha: float | None = None

    def __post_init__(self) -> None:
        if self.test not in TESTS:
            raise ValueError(f"test must be one of {TESTS}, got {self.test!r}")
        if (self.test in (EQUIVALENCE, NON_INFERIORITY)) != (self.margin is not None):
            raise ValueError("margin is given for, and only for, an equivalence or non-inferiority test")
        if (self.test == UPPER_BOUND) != (self.bound is not None):
            raise ValueError("bound is given for, and only for, an upper-bound test")
        if (self.discordant is None) != (self.p_value is None):
            raise ValueError("discordant counts and the McNemar p-value come together")

    @property
    def unit(self) -> str:
        return "paired seeds" if self.discordant is None else "images"

    def criterion(self) -> str:
        if self.test == EQUIVALENCE:
            return f"margin ±{plain(self.margin)}"
        if self.test == UPPER_BOUND:
            return f"bound ≤ {plain(self.bound)}"
        if self.test == NON_INFERIORITY:
            return f"Δ > {plain(-self.margin)}"
        return "Δ > 0"

    def line(self, unit: str = "pt") -> str:
        """The ledger's verdict line, e.g.
        `Δ=−0.04 pt, 90% CI [−0.11, +0.03], 5 paired seeds, margin ±0.2 → HOLDS`; `unit` names
        what Δ counts when it is not accuracy points ("epochs", or "" for a bare number)."""
        parts = [f"Δ={signed(self.delta)}" + (f" {unit}" if unit else ""), self.interval.text(),
                 f"{self.n} {self.unit}"]
        if self.discordant is not None:
            b, c = self.discordant
            parts += [f"discordant {b}/{c}", p_text(self.p_value)]
        parts.append(self.criterion())
        return ", ".join(parts) + f" → {self.verdict.value}"

    def to_dict(self) -> dict:
        """JSON-safe (plain floats, ints, strings; None for infinities and absent fields)."""
        return {
            "verdict": self.verdict.value,
            "test": self.test,
            "delta": float(self.delta),
            "interval": self.interval.to_dict(),
            "n": int(self.n),
            "unit": self.unit,
            "margin": None if self.margin is None else float(self.margin),
            "bound": None if self.bound is None else float(self.bound),
            "discordant": None if self.discordant is None else [int(v) for v in self.discordant],
            "p_value": None if self.p_value is None else float(self.p_value),
            "p_fail": None if self.p_fail is None else float(self.p_fail),
            "fail_alpha": None if self.fail_alpha is None else float(self.fail_alpha),
            "line": self.line(),
        }
