"""Tests of precision_kit.stats: paired t intervals, bootstraps and degenerate inputs, against
hand computations, scipy, textbook values and statistical properties. Elsewhere: the exact
McNemar test and Tango's interval (test_mcnemar.py), the verdict rules and the verdict line
(test_verdicts.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from outcomes import arms, correctness
from scipy import stats as sps

from precision_kit.stats import (
    StatsInputError,
    Verdict,
    bootstrap_mean_ci,
    equivalence,
    lower_bound,
    mcnemar_exact,
    mean_ci,
    paired_bootstrap_images,
    paired_deltas,
    superiority,
    tango_interval,
    upper_bound,
)

pytestmark = pytest.mark.cpu

# Student's (1908) sleep data (R's `sleep`): extra hours of sleep for 10 patients on two drugs.
SLEEP_DRUG1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_DRUG2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


# ------------------------------------------------------------------- t intervals


def test_paired_deltas_are_b_minus_a():
    """Δ is arm B minus arm A, seed by seed."""
    np.testing.assert_allclose(paired_deltas([98.0, 99.0], [98.5, 98.0]), [0.5, -1.0])


def test_mean_ci_equals_hand_computation_and_scipy():
    """The two-sided 90% t interval is mean ± t_{0.95, n−1}·s/√n, the same as
    scipy.stats.t.interval around the mean with the standard error as scale."""
    d = np.array([0.12, -0.05, 0.08, 0.20, -0.01, 0.03])
    n, mean, sd = d.size, d.mean(), d.std(ddof=1)
    half = sps.t.ppf(0.95, n - 1) * sd / math.sqrt(n)
    ci = mean_ci(d, 0.90)
    assert ci.estimate == pytest.approx(mean)
    assert (ci.low, ci.high) == pytest.approx((mean - half, mean + half), rel=1e-12)
    lo, hi = sps.t.interval(0.90, n - 1, loc=mean, scale=sps.sem(d))
    assert (ci.low, ci.high) == pytest.approx((lo, hi), rel=1e-12)
    assert (ci.confidence, ci.n, ci.sided) == (0.90, 6, "two-sided")


def test_mean_ci_student_sleep_textbook():
    """Student's sleep data, paired: mean difference 1.58 h, 95% CI [0.7001142, 2.4598858]
    (R: t.test(extra ~ group, data = sleep, paired = TRUE), with the sign of drug 2 − drug 1)."""
    ci = mean_ci(np.subtract(SLEEP_DRUG2, SLEEP_DRUG1), 0.95)
    assert ci.estimate == pytest.approx(1.58)
    assert ci.low == pytest.approx(0.7001142, abs=1e-7)
    assert ci.high == pytest.approx(2.4598858, abs=1e-7)


def test_one_sided_bounds_are_ends_of_the_two_sided_interval():
    """A one-sided 95% bound is one end of the two-sided 90% interval; its other end is open."""
    d = np.subtract(SLEEP_DRUG2, SLEEP_DRUG1)
    ci, up, lo = mean_ci(d, 0.90), upper_bound(d, 0.95), lower_bound(d, 0.95)
    assert up.high == pytest.approx(ci.high) and up.low == -math.inf and up.sided == "upper"
    assert lo.low == pytest.approx(ci.low) and lo.high == math.inf and lo.sided == "lower"


def test_t_interval_covers_the_true_mean_at_its_nominal_rate():
    """For normal per-seed Δ with 5 seeds, the 90% t interval covers the true mean in about
    90% of repeated experiments (2000 of them: 0.90 ± 3 standard errors)."""
    rng = np.random.default_rng(7)
    hits = [mean_ci(rng.normal(0.3, 0.1, 5), 0.90).contains(0.3) for _ in range(2000)]
    assert abs(np.mean(hits) - 0.90) < 3 * math.sqrt(0.9 * 0.1 / 2000)


def test_tost_false_equivalence_rate_is_at_most_alpha():
    """When the true Δ sits exactly on the margin, equivalence is not true, and TOST via the
    90% CI must declare HOLDS in at most ~5% of experiments."""
    rng = np.random.default_rng(11)
    holds = 0
    for _ in range(2000):
        a = rng.normal(98.0, 0.1, 5)
        holds += equivalence(a, a + rng.normal(0.2, 0.1, 5), margin=0.2).verdict is Verdict.HOLDS
    assert holds / 2000 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000)


# ------------------------------------------------------------------- degenerate inputs


def test_one_seed_is_refused():
    """The ledger never judges on one run: every seed-level statistic needs 2 paired seeds."""
    with pytest.raises(ValueError, match="at least 2 paired seeds"):
        paired_deltas([99.0], [98.9])
    for stat in (mean_ci, upper_bound, lower_bound, bootstrap_mean_ci):
        with pytest.raises(StatsInputError, match="at least 2 paired seeds"):
            stat([0.1])
    with pytest.raises(ValueError, match="at least 2 paired seeds"):
        equivalence([], [], margin=0.2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_name_their_index(bad):
    """NaN/inf cannot be judged; the error points at the offending seed."""
    with pytest.raises(ValueError, match=r"b\[2\]"):
        equivalence([99.0, 99.1, 99.2], [99.0, 99.1, bad], margin=0.2)
    with pytest.raises(ValueError, match=r"deltas\[1\]"):
        mean_ci([0.1, bad, 0.2])


def test_mismatched_and_malformed_inputs_are_refused():
    """Arms must pair up; accuracies are points in [0, 100]; correctness is 0/1 per image."""
    with pytest.raises(ValueError, match="paired by seed"):
        paired_deltas([99.0, 99.1, 99.2], [99.0, 99.1])
    with pytest.raises(ValueError, match=r"a\[1\].*\[0, 100\]"):
        paired_deltas([99.0, 101.0], [99.0, 99.1])
    with pytest.raises(ValueError, match="one-dimensional"):
        mean_ci([[0.1, 0.2]])
    with pytest.raises(ValueError, match="same test images"):
        mcnemar_exact(np.ones(10, bool), np.ones(9, bool))
    with pytest.raises(ValueError, match=r"correct_b\[3\]"):
        mcnemar_exact([1, 0, 1, 1], [1, 0, 1, 0.5])
    with pytest.raises(ValueError, match="margin"):
        equivalence(*arms([0.1, 0.2]), margin=0.0)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([0.1, 0.2], confidence=1.0)


def test_identical_deltas_collapse_the_interval_to_the_point():
    """sd = 0: every interval is the point itself (no NaN), and verdicts follow from it."""
    d = [0.1] * 5
    for ci in (mean_ci(d), bootstrap_mean_ci(d)):
        assert ci.estimate == ci.low == ci.high == 0.1
    assert upper_bound(d).high == 0.1 and lower_bound(d).low == 0.1
    a = np.full(4, 98.0)
    assert equivalence(a, a + 0.1, margin=0.2).verdict is Verdict.HOLDS
    assert equivalence(a, a + 0.3, margin=0.2).verdict is Verdict.FAILS
    assert superiority(a, a + 0.1).verdict is Verdict.HOLDS
    assert equivalence(a, a, margin=0.2).line() == (
        "Δ=0.00 pt, 90% CI [0.00, 0.00], 4 paired seeds, margin ±0.2 → HOLDS"
    )


def test_no_discordant_images():
    """b = c = 0: Δ = 0 exactly, p = 1, a finite Tango interval around 0, bootstrap [0, 0]."""
    a = np.ones(10_000, dtype=bool)
    a[:50] = False
    m = mcnemar_exact(a, a)
    assert (m.b, m.c, m.p_value, m.delta) == (0, 0, 1.0, 0.0)
    assert math.isfinite(m.interval.low) and m.interval.low < 0 < m.interval.high
    boot = paired_bootstrap_images(a, a)
    assert (boot.low, boot.high) == (0.0, 0.0)


# ------------------------------------------------------------------- bootstrap


def test_bootstrap_mean_ci_is_reproducible_and_contains_the_mean():
    """Same seed → same interval; the percentile interval contains the sample mean."""
    d = [0.12, -0.05, 0.08, 0.20, -0.01, 0.03, 0.07]
    ci = bootstrap_mean_ci(d, seed=5)
    assert ci == bootstrap_mean_ci(d, seed=5)
    assert ci != bootstrap_mean_ci(d, seed=6)
    assert ci.contains(float(np.mean(d))) and ci.estimate == pytest.approx(np.mean(d))


def test_bootstrap_is_close_to_t_interval_for_a_normal_sample():
    """For 30 normal Δ the percentile bootstrap and the t interval nearly agree (each end
    within 15% of the t interval's width; the bootstrap runs a little narrow)."""
    d = np.random.default_rng(0).normal(0.1, 0.2, 30)
    t, boot = mean_ci(d, 0.90), bootstrap_mean_ci(d, 0.90)
    width = t.high - t.low
    assert boot.low == pytest.approx(t.low, abs=0.15 * width)
    assert boot.high == pytest.approx(t.high, abs=0.15 * width)


def test_paired_image_bootstrap_matches_index_resampling():
    """The multinomial draw of discordant counts is the distribution of resampling image
    indices: its quantiles agree with a literal index bootstrap, and both with Tango."""
    a, b = correctness(30, 20, n=2000, both_wrong=40)
    boot = paired_bootstrap_images(a, b, 0.95, n_resamples=4000, seed=1)
    assert boot == paired_bootstrap_images(a, b, 0.95, n_resamples=4000, seed=1)
    idx = np.random.default_rng(2).integers(0, a.size, size=(4000, a.size))
    literal = 100 * (b[idx].mean(axis=1) - a[idx].mean(axis=1))
    lo, hi = np.quantile(literal, [0.025, 0.975])
    assert boot.estimate == pytest.approx(-0.5)
    assert (boot.low, boot.high) == pytest.approx((lo, hi), abs=0.1)
    tango = tango_interval(30, 20, 2000)
    assert (boot.low, boot.high) == pytest.approx((tango.low, tango.high), abs=0.1)


# ------------------------------------------------------------------- properties

deltas_st = st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=30)
accuracy_pairs_st = st.lists(
    st.tuples(st.floats(90, 100, allow_nan=False), st.floats(90, 100, allow_nan=False)),
    min_size=2,
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(deltas_st, st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]))
def test_property_intervals_contain_the_mean(d, confidence):
    """Any t interval or one-sided bound, at any confidence, contains the sample mean."""
    m = float(np.mean(d))
    tol = 1e-9
    ci = mean_ci(d, confidence)
    assert ci.low - tol <= m <= ci.high + tol
    assert upper_bound(d, confidence).high >= m - tol
    assert lower_bound(d, confidence).low <= m + tol


@settings(max_examples=100, deadline=None)
@given(deltas_st, st.floats(-5, 5, allow_nan=False))
def test_property_shifting_deltas_shifts_the_interval(d, k):
    """The t interval is location-equivariant: Δ + k gives the interval + k."""
    ci, shifted = mean_ci(d), mean_ci(np.asarray(d) + k)
    assert shifted.estimate == pytest.approx(ci.estimate + k, abs=1e-9)
    assert shifted.low == pytest.approx(ci.low + k, abs=1e-9)
    assert shifted.high == pytest.approx(ci.high + k, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(accuracy_pairs_st)
def test_property_swapping_arms_mirrors_everything(pairs):
    """Swapping A and B negates Δ and mirrors the interval; equivalence (symmetric margin)
    keeps its verdict, and superiority's HOLDS and FAILS trade places."""
    a, b = (np.array(x) for x in zip(*pairs, strict=False))
    np.testing.assert_array_equal(paired_deltas(b, a), -paired_deltas(a, b))
    fwd, back = equivalence(a, b, margin=0.5), equivalence(b, a, margin=0.5)
    assert back.delta == pytest.approx(-fwd.delta, abs=1e-12)
    assert (back.interval.low, back.interval.high) == pytest.approx(
        (-fwd.interval.high, -fwd.interval.low), abs=1e-12
    )
    assert back.verdict is fwd.verdict
    swap = {Verdict.HOLDS: Verdict.FAILS, Verdict.FAILS: Verdict.HOLDS}
    expected = swap.get(superiority(a, b).verdict, Verdict.INCONCLUSIVE)
    assert superiority(b, a).verdict is expected


def test_sd_interval_is_the_chi_square_interval():
    from precision_kit.stats import StatsInputError, sd_interval

    values = [97.1, 97.4, 96.9, 97.3, 97.0]
    iv = sd_interval(values, 0.90)
    s = float(np.std(values, ddof=1))
    assert iv.estimate == pytest.approx(s)
    assert iv.low == pytest.approx(s * math.sqrt(4 / sps.chi2.ppf(0.95, 4)))
    assert iv.high == pytest.approx(s * math.sqrt(4 / sps.chi2.ppf(0.05, 4)))
    with pytest.raises(StatsInputError, match="at least 2"):
        sd_interval([1.0])
