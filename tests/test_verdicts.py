"""The verdict rules (equivalence, at-most, superiority, per-image) and the ledger's one-line
verdict format of precision_kit.stats / .verdicts, on arms with chosen paired differences."""

from __future__ import annotations

import json

import pytest
from outcomes import arms, correctness, drop_arms

from precision_kit.stats import (
    Interval,
    Judgement,
    Verdict,
    at_most,
    at_most_images,
    equivalence,
    equivalence_images,
    mcnemar_exact,
    non_inferiority,
    superiority,
    superiority_images,
)

pytestmark = pytest.mark.cpu

MINUS = "\u2212"


# ------------------------------------------------------------------- verdict rules


@pytest.mark.parametrize(
    "deltas,verdict",
    [
        ([-0.05, -0.02, 0.00, 0.01, -0.03], Verdict.HOLDS),  # tight around 0, well inside ±0.2
        ([-0.50, -0.55, -0.60, -0.52, -0.58], Verdict.FAILS),  # whole CI below −0.2
        ([0.40, 0.45, 0.38, 0.50, 0.42], Verdict.FAILS),  # whole CI above +0.2
        ([-0.30, 0.20, -0.10, 0.25, -0.40], Verdict.INCONCLUSIVE),  # CI straddles −0.2
    ],
)
def test_equivalence_verdicts(deltas, verdict):
    """Equivalence at ±0.2: 90% CI inside → HOLDS, wholly outside → FAILS, else INCONCLUSIVE."""
    j = equivalence(*arms(deltas), margin=0.2)
    assert j.verdict is verdict and j.test == "equivalence" and j.margin == 0.2


@pytest.mark.parametrize(
    "drops,verdict",
    [
        ([0.30, 0.35, 0.28, 0.33, 0.31], Verdict.HOLDS),  # upper bound ≈ 0.34 ≤ 1.2
        ([1.80, 1.90, 1.75, 1.85, 1.95], Verdict.FAILS),  # lower bound ≈ 1.77 > 1.2
        ([0.20, 2.00, 0.90, 1.60, 0.40], Verdict.INCONCLUSIVE),  # bounds straddle 1.2
    ],
)
def test_at_most_verdicts(drops, verdict):
    """Claim "drop ≤ 1.2": one-sided 95% upper bound ≤ 1.2 → HOLDS; lower bound > 1.2 → FAILS."""
    j = at_most(*drop_arms(drops), bound=1.2)
    assert j.verdict is verdict and j.test == "upper-bound" and j.bound == 1.2
    # The line shows the bound that decided: the lower bound proves a FAIL.
    assert j.interval.sided == ("lower" if verdict is Verdict.FAILS else "upper")


@pytest.mark.parametrize(
    "deltas,verdict",
    [
        ([0.10, 0.12, 0.09, 0.11, 0.13], Verdict.HOLDS),
        ([-0.10, -0.12, -0.09, -0.11, -0.13], Verdict.FAILS),
        ([0.10, -0.12, 0.09, -0.11, 0.02], Verdict.INCONCLUSIVE),
    ],
)
def test_superiority_verdicts(deltas, verdict):
    """B > A: one-sided 95% lower bound > 0 → HOLDS; upper bound < 0 → FAILS."""
    assert superiority(*arms(deltas)).verdict is verdict


@pytest.mark.parametrize(
    "deltas,verdict",
    [
        ([0.38, 0.45, 0.30, 0.41, 0.36], Verdict.HOLDS),  # the source's table: fp16 *better* holds
        ([-0.05, -0.02, 0.00, 0.01, -0.03], Verdict.HOLDS),  # lower bound ≈ −0.04 > −0.2
        ([-0.50, -0.55, -0.60, -0.52, -0.58], Verdict.FAILS),  # upper bound ≈ −0.52 < −0.2
        ([-0.30, 0.20, -0.10, 0.25, -0.40], Verdict.INCONCLUSIVE),  # bounds straddle −0.2
    ],
)
def test_non_inferiority_verdicts(deltas, verdict):
    """B "loses less than 0.2" against A: one-sided 95% lower bound of Δ > −0.2 → HOLDS; upper
    bound < −0.2 → FAILS. Equivalence would FAIL the first row; the claim is one-sided."""
    j = non_inferiority(*arms(deltas), margin=0.2)
    assert j.verdict is verdict and j.test == "non-inferiority" and j.margin == 0.2
    assert j.interval.sided == ("upper" if verdict is Verdict.FAILS else "lower")
    assert j.line().endswith(f"Δ > {MINUS}0.2 → {verdict.value}")


def test_image_verdicts():
    """The same rules on one test set, from per-image correctness and Tango bounds."""
    same = correctness(12, 15)
    assert equivalence_images(*same, margin=0.2).verdict is Verdict.HOLDS
    assert equivalence_images(*correctness(5, 80), margin=0.2).verdict is Verdict.FAILS
    assert equivalence_images(*correctness(5, 30), margin=0.2).verdict is Verdict.INCONCLUSIVE
    # B drops 0.5 points (b=60, c=10); the drop is Δ for (a=B, b=A).
    a, b = correctness(60, 10)
    assert at_most_images(b, a, bound=1.0).verdict is Verdict.HOLDS
    assert at_most_images(b, a, bound=0.1).verdict is Verdict.FAILS
    assert at_most_images(b, a, bound=0.6).verdict is Verdict.INCONCLUSIVE
    assert superiority_images(b, a).verdict is Verdict.HOLDS
    assert superiority_images(a, b).verdict is Verdict.FAILS
    assert superiority_images(*same).verdict is Verdict.INCONCLUSIVE


# ------------------------------------------------------------------- one-line format


def test_equivalence_line_format():
    """The ledger's verdict line, exactly: true minus signs, explicit plus, 2 decimals."""
    j = equivalence(*arms([-0.13, -0.09, -0.04, 0.01, 0.05]), margin=0.2)
    expected = "Δ=−0.04 pt, 90% CI [−0.11, +0.03], 5 paired seeds, margin ±0.2 → HOLDS"
    assert j.line() == expected
    assert MINUS in j.line() and "-" not in j.line()


def test_one_sided_and_image_line_formats():
    """One-sided results show their bound; image results add discordant b/c and the p-value."""
    j = at_most(*drop_arms([0.30, 0.35, 0.28, 0.33, 0.31]), bound=1.2)
    assert j.line() == "Δ=+0.31 pt, 95% upper bound +0.34, 5 paired seeds, bound ≤ 1.2 → HOLDS"
    j = superiority(*arms([-0.10, -0.12, -0.09, -0.11, -0.13]))
    assert j.line() == "Δ=−0.11 pt, 95% upper bound −0.09, 5 paired seeds, Δ > 0 → FAILS"
    m = mcnemar_exact(*correctness(12, 15))
    assert m.line() == "Δ=+0.03 pt, 95% CI [−0.08, +0.14], 10000 images, discordant 12/15, p=0.70"
    j = equivalence_images(*correctness(12, 15), margin=0.2)
    assert j.line() == (
        "Δ=+0.03 pt, 90% CI [−0.06, +0.12], 10000 images, discordant 12/15, p=0.70, "
        "margin ±0.2 → HOLDS"
    )


def test_to_dict_is_json_safe():
    """Judgements serialise to strict JSON: open interval ends become null, verdict a string."""
    j = at_most(*drop_arms([0.30, 0.35, 0.28, 0.33, 0.31]), bound=1.2)
    d = json.loads(json.dumps(j.to_dict(), allow_nan=False))
    assert d["verdict"] == "HOLDS" and d["interval"]["low"] is None and d["bound"] == 1.2
    assert d["line"] == j.line()
    img = json.loads(json.dumps(at_most_images(*correctness(12, 15), bound=0.5).to_dict()))
    assert img["discordant"] == [12, 15] and img["unit"] == "images"
    assert Verdict.HOLDS == "HOLDS" and str(Verdict.FAILS) == "FAILS"


def test_judgement_rejects_inconsistent_fields():
    """An equivalence judgement needs its margin; McNemar fields come as a pair."""
    ci = Interval(0.0, -0.1, 0.1, 0.9, 5)
    with pytest.raises(ValueError):
        Judgement(Verdict.HOLDS, 0.0, ci, 5, "equivalence")
    with pytest.raises(ValueError):
        Judgement(Verdict.HOLDS, 0.0, ci, 5, "superiority", discordant=(1, 2))


# ------------------------------------------------------------------- several parts, expected verdicts
def test_combine_fails_first_then_untested_then_holds():
    from precision_kit.verdicts import combine

    hold, fail, inc, unt = Verdict.HOLDS, Verdict.FAILS, Verdict.INCONCLUSIVE, Verdict.UNTESTED
    assert combine(hold, hold) is hold and combine(hold, fail) is fail and combine(hold, inc) is inc
    assert combine(hold, unt) is unt and combine(inc, unt) is unt and combine(unt, fail) is fail


@pytest.mark.parametrize(
    "expected,measured,ok",
    [
        ("HOLDS", "HOLDS", True),
        ("HOLDS", "INCONCLUSIVE", False),  # drift away from a firm verdict fails
        ("FAILS", "INCONCLUSIVE", False),
        ("HOLDS", "UNTESTED", False),
        ("UNTESTED", "UNTESTED", True),
        ("UNTESTED", "HOLDS", False),  # a case that became tested needs its expectation recorded
        ("INCONCLUSIVE", "INCONCLUSIVE", True),
        ("INCONCLUSIVE", "HOLDS", True),  # firmer: accepted, reported
        ("INCONCLUSIVE", "FAILS", True),
        ("INCONCLUSIVE", "UNTESTED", False),
    ],
)
def test_an_expected_verdict_accepts_only_itself_or_a_firmer_one(expected, measured, ok):
    from precision_kit.verdicts import expectation

    accepted, message = expectation(expected, Verdict(measured))
    assert accepted is ok
    assert (message == "") is (expected == measured)


def test_an_unknown_expected_verdict_says_what_to_fix():
    from precision_kit.verdicts import expectation

    with pytest.raises(ValueError, match="expected_verdicts.json"):
        expectation("PASSES", Verdict.HOLDS)
