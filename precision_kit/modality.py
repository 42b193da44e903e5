"""Silverman's (1981) bootstrap test of unimodality: is a sample of numbers (a layer's
weights) drawn from a one-mode distribution?

The statistic is the critical bandwidth h₁: the smallest bandwidth at which the Gaussian
kernel density estimate of the sample has a single mode (for the Gaussian kernel the number
of modes never grows with the bandwidth, so h₁ is found by bisection). A multimodal sample
needs a large h₁ to smooth its modes away. The p-value is the share of smoothed bootstrap
samples, drawn from the one-mode estimate at h₁ and rescaled to the sample's variance, whose
density at h₁ still has more than one mode. Small p: reject unimodality. The test is known to
be conservative (Hall & York 2001), so a rejection is strong evidence; p is (1 + k)/(1 + B)
for k of B exceedances, never 0.

Large samples are subsampled (a fixed generator) to `max_samples` values first: the test is
about the shape, and its bootstrap is O(B · grid · n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GRID = 256
BISECTIONS = 40


@dataclass(frozen=True)
class Unimodality:
    """Result of `silverman_test`: critical bandwidth, p-value, bootstrap size, sample size."""

    h_crit: float
    p_value: float
    n_boot: int
    n: int

    def to_dict(self) -> dict:
        return {"h_crit": self.h_crit, "p_value": self.p_value, "n_boot": self.n_boot, "n": self.n}


def _sample(values, max_samples: int, seed: int) -> np.ndarray:
    x = np.asarray(values.detach().cpu().double() if hasattr(values, "detach") else values, dtype=np.float64)
    x = x.ravel()
    if x.size < 3 or not np.isfinite(x).all():
        raise ValueError(f"the unimodality test needs at least 3 finite values; found {x.size} "
                         f"({int((~np.isfinite(x)).sum())} not finite)")
    if x.size > max_samples:
        x = np.random.default_rng(seed).choice(x, size=max_samples, replace=False)
    return np.sort(x)


def modes(x: np.ndarray, h: float, lo: float, hi: float) -> int:
    """Local maxima of the Gaussian KDE of `x` with bandwidth `h` on `GRID` points in [lo, hi]."""
    grid = np.linspace(lo, hi, GRID)
    d = np.exp(-0.5 * ((grid[:, None] - x[None, :]) / h) ** 2).sum(axis=1)
    step = np.where(d[1:] > d[:-1] * (1 + 1e-12), 1, np.where(d[1:] < d[:-1] * (1 - 1e-12), -1, 0))
    slope = np.concatenate(([1], step[step != 0]))  # flat steps dropped; the left edge rises
    peaks = int(np.count_nonzero((slope[:-1] == 1) & (slope[1:] == -1))) + int(slope[-1] == 1)
    return max(peaks, 1)


def critical_bandwidth(x: np.ndarray) -> float:
    """The smallest bandwidth (to 2⁻⁴⁰ relative) with one KDE mode over the data ± 3h range."""
    span = float(x[-1] - x[0])
    if span == 0.0:
        return 0.0
    lo, hi = math.log(span * 1e-6), math.log(span)
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        h = math.exp(mid)
        if modes(x, h, float(x[0]) - 3 * h, float(x[-1]) + 3 * h) > 1:
            lo = mid
        else:
            hi = mid
    return math.exp(hi)


def silverman_test(values, n_boot: int = 200, max_samples: int = 1000, seed: int = 0) -> Unimodality:
    """Silverman's test of H0 "unimodal" (module docstring); reproducible from `seed`."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    x = _sample(values, max_samples, seed)
    h1 = critical_bandwidth(x)
    if h1 == 0.0:
        return Unimodality(0.0, 1.0, n_boot, x.size)
    rng = np.random.default_rng(seed + 1)
    mean, var = float(x.mean()), float(x.var(ddof=1))
    scale = 1.0 / math.sqrt(1.0 + h1 * h1 / var) if var > 0 else 1.0
    exceed = 0
    for _ in range(n_boot):
        star = rng.choice(x, size=x.size, replace=True)
        y = np.sort(mean + (star - star.mean() + h1 * rng.standard_normal(x.size)) * scale)
        if modes(y, h1, float(y[0]) - 3 * h1, float(y[-1]) + 3 * h1) > 1:
            exceed += 1
    return Unimodality(h1, (1 + exceed) / (1 + n_boot), n_boot, x.size)
