"""Paired statistics that turn measured accuracies into claim verdicts.

Units and sign: accuracies are in percentage points, arms are paired (by seed, or by test
image), and a difference is always Δ = acc(arm B) − acc(arm A). To bound the *drop* of a
low-precision arm L against a reference R, pass a=L, b=R (then Δ = R − L is the drop).

Across seeds (training randomness), the per-seed Δ get a Student t interval:

- `equivalence`: the 90% CI of mean Δ (TOST, two one-sided tests at 5%) inside
  [−margin, +margin] → HOLDS; entirely above +margin or below −margin → FAILS; else INCONCLUSIVE.
- `at_most`: one-sided 95% upper bound of Δ ≤ bound → HOLDS; one-sided 95% lower bound > bound
  (Δ significantly above the bound) → FAILS; else INCONCLUSIVE.
- `superiority`: one-sided 95% lower bound of Δ > 0 → HOLDS; upper bound < 0 → FAILS; else
  INCONCLUSIVE.
- `non_inferiority` ("B loses less than `margin` against A"): one-sided 95% lower bound of
  Δ > −margin → HOLDS; upper bound < −margin → FAILS; else INCONCLUSIVE.

On one test set, `precision_kit.mcnemar` compares per-image correctness of two models (exact
McNemar test, Tango's score interval); the `*_images` judgements (`stats_images`) apply the
same rules (`verdict_rules`) to it.
The result types (`precision_kit.verdicts`) and `precision_kit.mcnemar`'s API are re-exported
here, so `from precision_kit.stats import ...` reaches everything.

Degenerate inputs: fewer than 2 paired seeds, NaN/inf, mismatched lengths or non-0/1
correctness raise `StatsInputError` (a ValueError); all Δ equal (sd = 0) collapses the t
interval to the point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from .mcnemar import McNemar, mcnemar_exact, paired_bootstrap_images, tango_interval
from .stats_images import at_most_images, equivalence_images, superiority_images
from .verdict_rules import at_most_verdict, check_bound, check_margin, equivalence_verdict, superiority_verdict
from .verdicts import (
    EQUIVALENCE,
    NON_INFERIORITY,
    SUPERIORITY,
    UPPER_BOUND,
    Interval,
    Judgement,
    StatsInputError,
    Verdict,
    check_confidence,
)

__all__ = [
    "Interval",
    "Judgement",
    "McNemar",
    "StatsInputError",
    "Verdict",
    "at_most",
    "at_most_images",
    "bootstrap_mean_ci",
    "bootstrap_superiority",
    "mean_at_least",
    "equivalence",
    "equivalence_images",
    "lower_bound",
    "mcnemar_exact",
    "p_above",
    "p_below",
    "mean_ci",
    "paired_bootstrap_images",
    "paired_deltas",
    "sd_interval",
    "superiority",
    "superiority_of_deltas",
    "superiority_images",
    "tango_interval",
    "upper_bound",
]


# ---------------------------------------------------------------------------- validation


def _values(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu()
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise StatsInputError(
            f"{name} must be one-dimensional (one value per seed), got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iuf":
        raise StatsInputError(
            f"{name} must hold numbers in percentage points, got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise StatsInputError(
            f"{name}[{i}] is {arr[i]}; every value must be a finite number of points"
        )
    return arr


def _enough(n: int) -> None:
    if n < 2:
        raise StatsInputError(
            f"at least 2 paired seeds are needed to judge a claim, got {n}; "
            "the ledger never judges on one run"
        )


def _deltas(deltas) -> np.ndarray:
    d = _values(deltas, "deltas")
    _enough(d.size)
    return d


# ---------------------------------------------------------------------------- across seeds


def paired_deltas(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Per-seed Δ = b − a in points, after checking the arms pair up: same length (the same
    seeds in the same order), at least 2 seeds, finite accuracies in [0, 100]."""
    a_, b_ = _values(a, "a"), _values(b, "b")
    if a_.size != b_.size:
        raise StatsInputError(
            f"a has {a_.size} seeds but b has {b_.size}; arms are paired by seed (same seeds, same order)"
        )
    for name, arr in (("a", a_), ("b", b_)):
        out = np.flatnonzero((arr < 0) | (arr > 100))
        if out.size:
            i = int(out[0])
            raise StatsInputError(
                f"{name}[{i}] is {arr[i]}; accuracies are percentages in [0, 100]"
            )
    _enough(a_.size)
    return b_ - a_


def _mean_se(d: np.ndarray) -> tuple[float, float]:
    """Mean and standard error; exactly (value, 0) when every Δ is the same."""
    if np.ptp(d) == 0:
        return float(d[0]), 0.0
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


def mean_ci(deltas, confidence: float = 0.90) -> Interval:
    """Two-sided Student t interval for the mean Δ: mean ± t_{(1+c)/2, n−1} · sd/√n.
    With sd = 0 it is the point itself."""
    d, conf = _deltas(deltas), check_confidence(confidence)
    m, se = _mean_se(d)
    half = float(sps.t.ppf((1 + conf) / 2, d.size - 1)) * se
    return Interval(m, m - half, m + half, conf, d.size)


def upper_bound(deltas, confidence: float = 0.95) -> Interval:
    """One-sided t upper bound: mean + t_{c, n−1} · sd/√n (low = −inf)."""
    d, conf = _deltas(deltas), check_confidence(confidence)
    m, se = _mean_se(d)
    return Interval(m, -math.inf, m + float(sps.t.ppf(conf, d.size - 1)) * se, conf, d.size)


def lower_bound(deltas, confidence: float = 0.95) -> Interval:
    """One-sided t lower bound: mean − t_{c, n−1} · sd/√n (high = +inf)."""
    d, conf = _deltas(deltas), check_confidence(confidence)
    m, se = _mean_se(d)
    return Interval(m, m - float(sps.t.ppf(conf, d.size - 1)) * se, math.inf, conf, d.size)


def mean_at_least(values, threshold: float, confidence: float = 0.95) -> tuple[Verdict, Interval]:
    """Does the mean of `values` reach `threshold`? HOLDS if the one-sided `confidence` lower
    t bound is ≥ threshold, FAILS if the one-sided upper bound is below it, else
    INCONCLUSIVE; the interval is [lower bound, upper bound] (each one-sided at `confidence`)."""
    low, high = lower_bound(values, confidence), upper_bound(values, confidence)
    if low.low >= threshold:
        verdict = Verdict.HOLDS
    elif high.high < threshold:
        verdict = Verdict.FAILS
    else:
        verdict = Verdict.INCONCLUSIVE
    return verdict, Interval(low.estimate, low.low, high.high, low.confidence, low.n)


def sd_interval(values, confidence: float = 0.90) -> Interval:
    """The sample sd of `values` (e.g. accuracies over folds) with its two-sided χ² interval:
    [s·√((n−1)/χ²_{(1+c)/2}), s·√((n−1)/χ²_{(1−c)/2})] on n − 1 degrees of freedom (exact for
    normal data). Estimate is the sample sd; `n` counts the values."""
    v, conf = _values(values, "values"), check_confidence(confidence)
    _enough(v.size)
    sd, df = float(v.std(ddof=1)), v.size - 1
    low = sd * math.sqrt(df / float(sps.chi2.ppf((1 + conf) / 2, df)))
    high = sd * math.sqrt(df / float(sps.chi2.ppf((1 - conf) / 2, df)))
    return Interval(sd, low, high, conf, v.size)


def bootstrap_mean_ci(
    deltas, confidence: float = 0.90, n_resamples: int = 10_000, seed: int = 0
) -> Interval:
    """Percentile bootstrap CI of the mean Δ: resample the seeds with replacement
    `n_resamples` times (numpy Generator seeded with `seed`, so reruns agree) and take the
    (1−c)/2 and (1+c)/2 quantiles of the resampled means. Estimate is the sample mean."""
    d, conf = _deltas(deltas), check_confidence(confidence)
    m, _ = _mean_se(d)
    means = _bootstrap_means(d, n_resamples, seed)
    low, high = np.quantile(means, [(1 - conf) / 2, (1 + conf) / 2])
    return Interval(m, float(low), float(high), conf, d.size)


def _bootstrap_means(d: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """`n_resamples` means of the seeds resampled with replacement (numpy Generator seeded
    with `seed`, so reruns agree)."""
    if n_resamples < 1:
        raise StatsInputError(f"n_resamples must be at least 1, got {n_resamples}")
    if np.ptp(d) == 0:
        return np.full(n_resamples, float(d[0]))
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    rows = max(1, 2**20 // d.size)  # bound memory for long inputs
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        means[start:stop] = d[rng.integers(0, d.size, size=(stop - start, d.size))].mean(axis=1)
    return means


def bootstrap_superiority(a, b, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> Judgement:
    """`superiority` ("B beats A", Δ = b − a > 0) with one-sided percentile-bootstrap bounds
    over the seeds instead of t bounds, for a per-seed Δ far from normal (a difference of two
    standard deviations). HOLDS if the lower bound (the 1 − c quantile of the resampled means)
    is above 0, FAILS if the upper bound (the c quantile) is below 0. `p_fail`: the share of
    resampled means ≥ 0, so FAILS ⇔ p_fail < 1 − c up to the quantile's interpolation."""
    d, conf = paired_deltas(a, b), check_confidence(confidence)
    m, _ = _mean_se(d)
    means = _bootstrap_means(d, n_resamples, seed)
    low, high = (float(q) for q in np.quantile(means, [1 - conf, conf]))
    verdict, shown = superiority_verdict(Interval(m, low, math.inf, conf, d.size),
                                          Interval(m, -math.inf, high, conf, d.size))
    return Judgement(verdict, m, shown, d.size, SUPERIORITY, p_fail=float(np.mean(means >= 0)),
                     fail_alpha=1 - conf)


# ---------------------------------------------------------------------------- verdicts


def p_above(deltas, threshold: float) -> float:
    """One-sided t p-value for "mean Δ > threshold" (H0: mean Δ ≤ threshold); with sd = 0,
    0 when every Δ is above the threshold, else 1."""
    d = _deltas(deltas)
    m, se = _mean_se(d)
    if se == 0:
        return 0.0 if m > threshold else 1.0
    return float(sps.t.sf((m - threshold) / se, d.size - 1))


def p_below(deltas, threshold: float) -> float:
    """One-sided t p-value for "mean Δ < threshold" (H0: mean Δ ≥ threshold)."""
    d = _deltas(deltas)
    m, se = _mean_se(d)
    if se == 0:
        return 0.0 if m < threshold else 1.0
    return float(sps.t.cdf((m - threshold) / se, d.size - 1))


def equivalence(a, b, margin: float, confidence: float = 0.90) -> Judgement:
    """Claim "B matches A within ±margin points": TOST at (1 − confidence)/2 per side, read
    off the two-sided t CI of the per-seed Δ (rule in the module docstring)."""
    margin = check_margin(margin)
    d = paired_deltas(a, b)
    ci = mean_ci(d, confidence)
    return Judgement(
        equivalence_verdict(ci, margin), ci.estimate, ci, ci.n, EQUIVALENCE, margin=margin,
        p_fail=min(p_above(d, margin), p_below(d, -margin)), fail_alpha=(1 - ci.confidence) / 2,
    )


def at_most(a, b, bound: float, confidence: float = 0.95) -> Judgement:
    """Claim "Δ = b − a is at most `bound` points", with one-sided t bounds at `confidence`.
    The line shows the upper bound, or the lower bound when that one proves a FAIL."""
    bound = check_bound(bound)
    d = paired_deltas(a, b)
    verdict, shown = at_most_verdict(lower_bound(d, confidence), upper_bound(d, confidence), bound)
    return Judgement(verdict, shown.estimate, shown, shown.n, UPPER_BOUND, bound=bound,
                     p_fail=p_above(d, bound), fail_alpha=1 - shown.confidence)


def superiority(a, b, confidence: float = 0.95) -> Judgement:
    """Claim "B beats A" (Δ > 0), with one-sided t bounds at `confidence`. The line shows
    the lower bound, or the upper bound when that one proves a FAIL."""
    return superiority_of_deltas(paired_deltas(a, b), confidence)


def superiority_of_deltas(deltas, confidence: float = 0.95) -> Judgement:
    """`superiority` on per-seed Δ given directly (e.g. a difference of two differences of
    accuracies, which is no accuracy itself)."""
    d = _deltas(deltas)
    verdict, shown = superiority_verdict(lower_bound(d, confidence), upper_bound(d, confidence))
    return Judgement(verdict, shown.estimate, shown, shown.n, SUPERIORITY,
                     p_fail=p_below(d, 0.0), fail_alpha=1 - shown.confidence)


def non_inferiority(a, b, margin: float, confidence: float = 0.95) -> Judgement:
    """Claim "B loses less than `margin` points against A" (Δ = b − a > −margin), with
    one-sided t bounds at `confidence`. The line shows the lower bound, or the upper bound
    when that one proves a FAIL (B loses more than the margin)."""
    margin = check_margin(margin)
    d = paired_deltas(a, b)
    low, high = lower_bound(d, confidence), upper_bound(d, confidence)
    if low.low > -margin:
        verdict, shown = Verdict.HOLDS, low
    elif high.high < -margin:
        verdict, shown = Verdict.FAILS, high
    else:
        verdict, shown = Verdict.INCONCLUSIVE, low
    return Judgement(verdict, shown.estimate, shown, shown.n, NON_INFERIORITY, margin=margin,
                     p_fail=p_below(d, -margin), fail_alpha=1 - shown.confidence)
