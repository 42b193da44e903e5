"""What `run_claim` adds to a judged case: UNTESTED below the claim's regime (`mark_untested`)
and the p-value Holm needs (`fail_evidence`, from the Judgements among the figures). `result`
is a `base.ClaimResult` (not imported: base imports this module)."""

from __future__ import annotations

from typing import Any

from ..verdicts import Judgement, Verdict


def fail_evidence(result: Any) -> tuple[float | None, float | None]:
    """(p, α) of the test behind a FAILS (the smallest p among the case's failing
    Judgements), or of the nearest-to-failing Judgement for any other verdict; (None, None)
    when the case has no Judgement (an exact check)."""
    found = [j for j in _judgements(result.figures) if j.p_fail is not None and j.fail_alpha]
    if result.verdict == Verdict.FAILS:
        found = [j for j in found if j.verdict == Verdict.FAILS]
    if not found:
        return None, None
    best = min(found, key=lambda j: j.p_fail / j.fail_alpha)
    return best.p_fail, best.fail_alpha


def _judgements(value, depth: int = 0):
    """The tests among a case's figures: a `Judgement`, or anything judged like one (with a
    verdict, `p_fail` and `fail_alpha`, e.g. BI-3's band part)."""
    if isinstance(value, Judgement) or all(hasattr(value, a) for a in ("verdict", "p_fail", "fail_alpha")):
        yield value
    elif depth < 2 and isinstance(value, dict):
        for v in value.values():
            yield from _judgements(v, depth + 1)
    elif depth < 2 and isinstance(value, (list, tuple)):
        for v in value:
            yield from _judgements(v, depth + 1)


def mark_untested(result: Any, why: list[str]) -> None:
    """Turn a case judged below the claim's regime into UNTESTED: its figures stay (what was
    measured at this budget, and the verdict it would have drawn), no verdict on the claim."""
    if result.verdict == Verdict.UNTESTED:
        return
    result.figures["verdict_at_this_budget"] = str(result.verdict)
    result.line = f"UNTESTED: {'; '.join(why)}, the claim's regime is not reached (at this budget: {result.line})"
    result.verdict = Verdict.UNTESTED
