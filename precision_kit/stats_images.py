"""Judgements of one pair of models on one test set: per-image correctness compared by the exact
McNemar test and Tango's score interval (`precision_kit.mcnemar`), under the same rules as the
seed-level judgements (`verdict_rules`). They cover test-image sampling only, not
seed-to-seed training variation. Re-exported by `precision_kit.stats`."""

from __future__ import annotations

from .mcnemar import McNemar, mcnemar_exact, tango_p
from .verdict_rules import at_most_verdict, check_bound, check_margin, equivalence_verdict, superiority_verdict
from .verdicts import EQUIVALENCE, SUPERIORITY, UPPER_BOUND, Interval, Judgement, Verdict


def _image_judgement(
    m: McNemar, verdict: Verdict, shown: Interval, test: str, p_fail: float, fail_alpha: float, **threshold
) -> Judgement:
    """`p_fail`/`fail_alpha`: Tango's score test of the FAIL side, the test the bounds invert
    (FAILS exactly when p_fail < fail_alpha), for Holm across a claim's cases."""
    return Judgement(
        verdict, m.delta, shown, m.n, test, discordant=(m.b, m.c), p_value=m.p_value, p_fail=p_fail,
        fail_alpha=fail_alpha, **threshold
    )


def equivalence_images(correct_a, correct_b, margin: float, confidence: float = 0.90) -> Judgement:
    """`equivalence` for one pair of models on one test set (Tango CI, McNemar p shown).
    It covers test-image sampling only, not seed-to-seed training variation."""
    margin = check_margin(margin)
    m = mcnemar_exact(correct_a, correct_b, confidence)
    p_fail = min(tango_p(m.b, m.c, m.n, margin, "greater"), tango_p(m.b, m.c, m.n, -margin, "less"))
    return _image_judgement(
        m, equivalence_verdict(m.interval, margin), m.interval, EQUIVALENCE, p_fail,
        (1 - m.interval.confidence) / 2, margin=margin
    )


def at_most_images(correct_a, correct_b, bound: float, confidence: float = 0.95) -> Judgement:
    """`at_most` for one pair of models on one test set (one-sided Tango bounds)."""
    bound = check_bound(bound)
    m = mcnemar_exact(correct_a, correct_b, confidence)
    verdict, shown = at_most_verdict(m.lower_bound(confidence), m.upper_bound(confidence), bound)
    return _image_judgement(m, verdict, shown, UPPER_BOUND, tango_p(m.b, m.c, m.n, bound, "greater"),
                            1 - shown.confidence, bound=bound)


def superiority_images(correct_a, correct_b, confidence: float = 0.95) -> Judgement:
    """`superiority` for one pair of models on one test set (one-sided Tango bounds)."""
    m = mcnemar_exact(correct_a, correct_b, confidence)
    verdict, shown = superiority_verdict(m.lower_bound(confidence), m.upper_bound(confidence))
    return _image_judgement(m, verdict, shown, SUPERIORITY, tango_p(m.b, m.c, m.n, 0.0, "less"),
                            1 - shown.confidence)
