"""Tests of precision_kit.mcnemar: the exact McNemar test and Tango's score interval for
paired per-image correctness, against textbook values, scipy, statsmodels and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from outcomes import correctness
from scipy import stats as sps

from precision_kit.stats import mcnemar_exact, tango_interval

pytestmark = pytest.mark.cpu


# ------------------------------------------------------------------- exact McNemar


def test_mcnemar_textbook_b1_c7():
    """b = 1, c = 7: exact two-sided p = 2·(C(8,0) + C(8,1))/2⁸ = 18/256 = 0.0703125."""
    m = mcnemar_exact(*correctness(1, 7))
    assert (m.b, m.c, m.n) == (1, 7, 10_000)
    assert m.p_value == pytest.approx(2 * (math.comb(8, 0) + math.comb(8, 1)) / 2**8)
    assert m.p_value == pytest.approx(0.0703125, abs=1e-12)
    assert m.delta == pytest.approx(100 * 6 / 10_000)


@pytest.mark.parametrize("b,c", [(0, 1), (1, 7), (12, 15), (40, 10), (3, 3), (250, 200)])
def test_mcnemar_p_equals_binomtest(b, c):
    """The exact McNemar p-value is the two-sided binomial test of min(b, c) ~ Bin(b + c, 1/2)."""
    m = mcnemar_exact(*correctness(b, c))
    assert m.p_value == pytest.approx(sps.binomtest(min(b, c), b + c, 0.5).pvalue, rel=1e-12)


@pytest.mark.parametrize("b,c", [(1, 7), (12, 15), (40, 10), (0, 5)])
def test_mcnemar_matches_statsmodels(b, c):
    """Same p-value as statsmodels' exact McNemar on the 2×2 table of paired outcomes."""
    tables = pytest.importorskip(
        "statsmodels.stats.contingency_tables", reason="statsmodels is not installed"
    )
    a, bb = correctness(b, c)
    table = [
        [np.sum(a & bb), np.sum(a & ~bb)],
        [np.sum(~a & bb), np.sum(~a & ~bb)],
    ]
    ref = tables.mcnemar(table, exact=True)
    assert mcnemar_exact(a, bb).p_value == pytest.approx(ref.pvalue, rel=1e-12)


def test_mcnemar_accepts_torch_tensors():
    """Per-image correctness straight from evaluate() (torch bool tensors) works as is."""
    torch = pytest.importorskip("torch")
    a, b = correctness(12, 15)
    m = mcnemar_exact(torch.from_numpy(a), torch.from_numpy(b))
    assert (m.b, m.c) == (12, 15)
    assert mcnemar_exact(a.astype(np.int64), b.astype(np.float32)) == m


# ------------------------------------------------------------------- Tango interval


def test_tango_with_no_discordant_pairs_is_the_closed_form():
    """b = c = 0: Δ is exactly 0 and the score interval is ±z²/(N + z²) (finite, not NaN,
    not collapsed: no disagreement in N images still leaves a little room)."""
    z = sps.norm.ppf(0.975)
    ci = tango_interval(0, 0, 10_000, 0.95)
    expected = 100 * z**2 / (10_000 + z**2)
    assert ci.estimate == 0.0
    assert (ci.low, ci.high) == pytest.approx((-expected, expected), rel=1e-9)


def test_tango_textbook_bentur_airway_data():
    """Fagerland, Lydersen & Laake (2014), airway hyper-responsiveness (Bentur et al. 2009):
    n12 = 1, n21 = 7, N = 21, difference −0.286, Tango 95% CI −0.517 to −0.026."""
    ci = tango_interval(b=7, c=1, n=21, confidence=0.95)
    assert ci.estimate == pytest.approx(-100 * 6 / 21)
    assert ci.low == pytest.approx(-51.7, abs=0.05)
    assert ci.high == pytest.approx(-2.6, abs=0.05)


def test_tango_is_close_to_wald_for_many_discordant_pairs():
    """With hundreds of discordant pairs the score interval approaches the Wald interval
    Δ ± z·√(b + c − (c − b)²/N)/N."""
    b, c, n = 400, 450, 10_000
    se = math.sqrt(b + c - (c - b) ** 2 / n) / n * 100
    z = sps.norm.ppf(0.975)
    ci = tango_interval(b, c, n)
    assert ci.low == pytest.approx(0.5 - z * se, abs=0.01)
    assert ci.high == pytest.approx(0.5 + z * se, abs=0.01)


def test_tango_one_sided_bound_covers_at_nominal_rate_with_lopsided_discordance():
    """Repeated test sets of 10,000 images where B loses 0.3 points through lopsided flips
    (b ≫ c): the one-sided 95% upper bound of B's drop covers the true drop ~95% of the time.
    (The conditional Clopper-Pearson interval covers far less here.)"""
    rng = np.random.default_rng(3)
    p_b, p_c, n = 0.004, 0.001, 10_000
    true_delta = 100 * (p_c - p_b)  # −0.3 points
    counts = rng.multinomial(n, [p_b, p_c, 1 - p_b - p_c], size=600)
    hits = [
        tango_interval(int(b), int(c), n, 0.95, "lower").low <= true_delta for b, c, _ in counts
    ]
    assert abs(np.mean(hits) - 0.95) < 3 * math.sqrt(0.95 * 0.05 / 600)


# ------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_property_mcnemar_of_a_model_with_itself(correct):
    """A model against itself: no discordant images, p = 1, Δ = 0, finite interval around 0."""
    m = mcnemar_exact(correct, correct)
    assert (m.b, m.c, m.p_value, m.delta) == (0, 0, 1.0, 0.0)
    assert -100 <= m.interval.low <= 0 <= m.interval.high <= 100


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=300))
def test_property_mcnemar_swap_mirrors(pairs):
    """Swapping the models swaps b and c, keeps p, negates Δ and mirrors Tango's interval."""
    a, b = (np.array(x) for x in zip(*pairs, strict=False))
    fwd, back = mcnemar_exact(a, b), mcnemar_exact(b, a)
    assert (back.b, back.c) == (fwd.c, fwd.b)
    assert back.p_value == pytest.approx(fwd.p_value, rel=1e-12)
    assert back.delta == -fwd.delta
    assert (back.interval.low, back.interval.high) == pytest.approx(
        (-fwd.interval.high, -fwd.interval.low), abs=1e-8
    )
    assert 0.0 < fwd.p_value <= 1.0
