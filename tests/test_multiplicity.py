"""Staged seeds and Holm across a claim's cases (CLAIMS.md, Statistics)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precision_kit import ledger, multiplicity, progress, stats
from precision_kit.claims import base
from precision_kit.verdicts import Verdict, check_confidence, looks_scope, plan_looks


def test_holm_matches_the_textbook_step_down():
    # m = 4 at α = 0.05: thresholds 0.0125, 0.0167, 0.025, 0.05 in order of p
    assert multiplicity.holm([0.01, 0.04, 0.03, 0.005], [0.05] * 4) == [True, False, False, True]
    assert multiplicity.holm([0.001, 0.012, 0.02, 0.04], [0.05] * 4) == [True, True, True, True]
    # the first p above its threshold stops every later one, however small the later level
    assert multiplicity.holm([0.02, 0.021], [0.05, 0.05]) == [True, True]
    assert multiplicity.holm([0.03, 0.04], [0.05, 0.05]) == [False, False]


def test_holm_rejects_bad_input():
    with pytest.raises(ValueError, match="one level per p-value"):
        multiplicity.holm([0.1], [0.05, 0.05])
    with pytest.raises(ValueError, match="p-value must lie in"):
        multiplicity.holm([1.5], [0.05])


def _row(case, verdict, p=None, alpha=0.05, claim="BI-1", speed=False):
    return {"claim": claim, "case": case, "device": "cpu", "profile": "quick", "verdict": verdict,
            "line": f"… → {verdict}", "p_fail": p, "fail_alpha": None if p is None else alpha,
            "speed_claim": speed, "figures": {}}


def test_a_fails_at_the_margin_among_ten_cases_becomes_inconclusive():
    """Ten cases with Δ at the margin: each at p = 0.03 FAILS alone, but not as one of ten."""
    rows = [_row(f"d{i}", "FAILS", 0.03) for i in range(3)] + [_row(f"h{i}", "HOLDS", 0.9) for i in range(7)]
    out = multiplicity.adjust(rows)
    assert [r["verdict"] for r in out[:3]] == ["INCONCLUSIVE"] * 3
    assert "Holm over 10 cases" in out[0]["line"] and out[0]["figures"]["verdict_before_holm"] == "FAILS"
    assert rows[0]["verdict"] == "FAILS"  # the input is left as it was
    assert all(r["verdict"] == "HOLDS" for r in out[3:])


def test_a_clear_fails_survives_holm_and_exact_fails_need_no_correction():
    rows = [_row("a", "FAILS", 1e-6), _row("b", "FAILS", None), _row("c", "HOLDS", 0.8), _row("d", "FAILS", 0.04)]
    out = {r["case"]: r["verdict"] for r in multiplicity.adjust(rows)}
    assert out == {"a": "FAILS", "b": "FAILS", "c": "HOLDS", "d": "INCONCLUSIVE"}


def test_families_are_per_claim_and_leave_out_untested_and_speed_cases():
    rows = [_row("a", "FAILS", 0.03), _row("x", "UNTESTED", None), _row("s", "FAILS", 0.03, speed=True),
            _row("z", "FAILS", 0.03, claim="BI-3")]
    out = multiplicity.adjust(rows)
    assert [r["verdict"] for r in out] == ["FAILS", "UNTESTED", "FAILS", "FAILS"]
    assert out[0]["figures"]["holm"] == {"m": 1, "rejected": True, "not_judged": 0}


def test_a_narrowed_run_is_never_firmer_than_the_full_run():
    """A run that judged 2 of a family's 8 cases: each is held to Bonferroni over all 8 (the
    full run's Holm rejects whatever that rejects), never to Holm over the 2 it judged."""
    rows = [_row("a", "FAILS", 0.01), _row("b", "FAILS", 0.005)]
    assert [r["verdict"] for r in multiplicity.adjust(rows)] == ["FAILS", "FAILS"]  # Holm over 2: both
    out = multiplicity.adjust(rows, lambda key: 8)
    assert [r["verdict"] for r in out] == ["INCONCLUSIVE", "FAILS"]  # 0.01 > 0.05/8 ≥ 0.005
    assert out[0]["figures"]["holm"] == {"m": 8, "rejected": False, "not_judged": 6}
    assert "6 not judged in this run: Bonferroni" in out[0]["line"]
    # every case judged: Holm as before; UNTESTED rows of the family count as judged
    full = ([_row("a", "FAILS", 0.006), _row("b", "FAILS", 0.005)] + [_row(f"h{i}", "HOLDS", 0.9) for i in range(5)]
            + [_row("u", "UNTESTED")])
    out = multiplicity.adjust(full, lambda key: 8)
    assert [r["verdict"] for r in out[:2]] == ["FAILS", "FAILS"] and out[0]["figures"]["holm"]["m"] == 7
    # the property: whatever p-values the missing cases would have had, a case rejected in the
    # narrowed run is rejected by Holm over the full family
    rng = np.random.default_rng(0)
    for _ in range(300):
        ps = list(rng.uniform(0, 0.05, size=8))
        judged = rng.choice(8, size=int(rng.integers(1, 8)), replace=False)
        narrow = multiplicity.adjust([_row(str(i), "FAILS", ps[i]) for i in judged], lambda key: 8)
        whole = multiplicity.holm(ps, [0.05] * 8)
        for i, r in zip(judged, narrow, strict=True):
            assert r["verdict"] != "FAILS" or whole[i]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=2, max_size=12), st.sampled_from(["eq", "most", "sup", "noninf"]))
def test_a_judgement_fails_exactly_when_its_fail_p_is_below_its_level(deltas, kind):
    a = np.full(len(deltas), 50.0)
    b = a + np.asarray(deltas)
    j = {"eq": lambda: stats.equivalence(a, b, margin=0.2), "most": lambda: stats.at_most(a, b, bound=0.2),
         "sup": lambda: stats.superiority(a, b), "noninf": lambda: stats.non_inferiority(a, b, margin=0.2)}[kind]()
    assert 0.0 <= j.p_fail <= 1.0
    # away from the knife edge, the p-value and the interval agree on FAILS
    if abs(j.p_fail - j.fail_alpha) > 1e-9:
        assert (j.verdict == Verdict.FAILS) == (j.p_fail < j.fail_alpha)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(0, 400), st.sampled_from(["eq", "most", "sup"]),
       st.sampled_from([0.05, 0.3, 1.0]))
def test_an_images_judgement_fails_exactly_when_its_fail_p_is_below_its_level(b, c, kind, threshold):
    """The `*_images` judgements (Tango's bounds) carry the p of the score test they invert."""
    n = 10_000
    right_a = np.zeros(n, dtype=bool)
    right_b = np.zeros(n, dtype=bool)
    right_a[:b] = True  # A right, B wrong
    right_b[b:b + c] = True  # B right, A wrong
    j = {"eq": lambda: stats.equivalence_images(right_a, right_b, margin=threshold),
         "most": lambda: stats.at_most_images(right_a, right_b, bound=threshold),
         "sup": lambda: stats.superiority_images(right_a, right_b)}[kind]()
    assert 0.0 <= j.p_fail <= 1.0 and j.fail_alpha == pytest.approx(0.05)
    if abs(j.p_fail - j.fail_alpha) > 1e-6:
        assert (j.verdict == Verdict.FAILS) == (j.p_fail < j.fail_alpha)


def test_planned_looks_split_the_error_and_end_with_their_scope():
    assert check_confidence(0.90) == 0.90
    plan_looks(2)  # outside a judge's scope (a judge called directly): nothing is staged
    assert check_confidence(0.90) == 0.90
    with looks_scope():
        plan_looks(2)
        assert check_confidence(0.90) == pytest.approx(0.95) and check_confidence(0.95) == pytest.approx(0.975)
        ci = stats.mean_ci([0.1, 0.2, 0.3])
        assert ci.confidence == pytest.approx(0.95) and ci.text().startswith("95% CI")
    assert check_confidence(0.90) == 0.90


def _staged_claim(monkeypatch, verdict_for_n):
    seen = []

    def judge(ctx, **params):
        n = len(ctx.seeds())
        seen.append((n, check_confidence(0.90)))
        return base.ClaimResult("ZZ-9", "", verdict_for_n(n), f"n={n}")

    monkeypatch.setitem(base.REGISTRY, "ZZ-9", base.Claim("ZZ-9", "s", "1", "st", "t", judge))
    return seen


def test_an_inconclusive_case_escalates_its_seeds_once_at_the_split_level(monkeypatch):
    seen = _staged_claim(monkeypatch, lambda n: Verdict.INCONCLUSIVE if n < 10 else Verdict.HOLDS)
    result = base.run_claim("ZZ-9", base.Context(profile="quick"))
    assert [n for n, _ in seen] == [5, 10] and all(c == pytest.approx(0.95) for _, c in seen)
    assert result.verdict == Verdict.HOLDS and result.budget["seed_stage"] == [2, 2]
    assert result.budget["seeds"] == [10] and result.budget["at_source_budget"]  # 10 seeds = the source's n
    assert check_confidence(0.90) == 0.90  # the plan ended with the judge


def test_an_escalation_says_what_its_first_look_saw_in_the_ledger_and_to_the_listener(monkeypatch):
    _staged_claim(monkeypatch, lambda n: Verdict.INCONCLUSIVE if n < 10 else Verdict.FAILS)
    events = []
    with progress.listen(events.append):
        result = base.run_claim("ZZ-9", base.Context(profile="quick"))
    assert result.budget["earlier_looks"] == [{"seeds": 5, "verdict": "INCONCLUSIVE", "line": "n=5"}]
    assert [(e.kind, e.what) for e in events] == [("note", "INCONCLUSIVE at 5 seeds (n=5); escalating to 10 seeds")]
    assert ledger.budget_text(result.budget).endswith("seeds escalated to 10 (stage 2 of 2) after INCONCLUSIVE at 5")
    _staged_claim(monkeypatch, lambda n: Verdict.HOLDS)
    assert "earlier_looks" not in base.run_claim("ZZ-9", base.Context(profile="quick")).budget


def test_a_case_stays_inconclusive_after_the_last_stage_and_firm_verdicts_never_escalate(monkeypatch):
    seen = _staged_claim(monkeypatch, lambda n: Verdict.INCONCLUSIVE)
    result = base.run_claim("ZZ-9", base.Context(profile="paper"))
    assert [n for n, _ in seen] == [10, 20] and result.verdict == Verdict.INCONCLUSIVE
    seen = _staged_claim(monkeypatch, lambda n: Verdict.FAILS)
    assert base.run_claim("ZZ-9", base.Context(profile="quick")).budget["seed_stage"] == [1, 2]
    assert [n for n, _ in seen] == [5]


def test_an_untested_case_does_not_escalate(monkeypatch):
    def judge(ctx, **params):
        ctx.seeds(), ctx.pick(1, 20, "epochs")
        return base.ClaimResult("ZZ-9", "", Verdict.INCONCLUSIVE, "l")

    monkeypatch.setitem(base.REGISTRY, "ZZ-9", base.Claim("ZZ-9", "s", "1", "st", "t", judge))
    result = base.run_claim("ZZ-9", base.Context(profile="quick"))
    assert result.verdict == Verdict.UNTESTED and result.budget["seed_stage"] == [1, 2]


def test_run_claim_takes_the_fail_evidence_from_the_failing_judgement(monkeypatch):
    def judge(ctx, **params):
        a = [90.0] * 5
        holds = stats.at_most(a, [90.0, 90.1, 89.9, 90.0, 90.05], bound=1.2)
        fails = stats.superiority(a, [89.0, 88.8, 89.1, 89.2, 88.9])
        return base.ClaimResult("ZZ-9", "", Verdict.FAILS, "l", figures={"parts": [holds, fails]})

    monkeypatch.setitem(base.REGISTRY, "ZZ-9", base.Claim("ZZ-9", "s", "1", "st", "t", judge))
    result = base.run_claim("ZZ-9", base.Context(profile="quick"))
    assert result.p_fail is not None and result.p_fail < result.fail_alpha
    assert result.to_dict()["p_fail"] == result.p_fail
