"""Multiplicity across the cases of one claim (CLAIMS.md, Statistics): a claim judged over
several cases (depths, clip values, dtypes) and declared FAILS on any one of them controls the
family-wise error with Holm's step-down procedure.

A family is every tested case of one accuracy claim on one device in one profile in this run
(HOLDS, FAILS or INCONCLUSIVE; UNTESTED cases test nothing and speed claims are ratios of
times, not hypotheses over seeds). Each case brings the one-sided p-value of the test that made
(or would make) it FAILS and the level that test used (`Judgement.p_fail`, `fail_alpha`).
Holm with per-case levels: order the cases by q = p / α; the k-th smallest (k = 1…m) is
rejected while q ≤ 1 / (m − k + 1). A FAILS that is not rejected becomes INCONCLUSIVE, with
the reason in its line. Holm never turns anything into FAILS, and "holds at every depth" needs
no correction (every case must hold on its own).

A FAILS with no p-value (an exact count, a file size, a deterministic check) carries no
sampling error: it keeps its verdict and ranks first.

A narrowed run (`pytest -k`, one shard) judges only some cases of a family, and Holm over
those alone could reject what the full run would not. When the caller says how many cases
the full family has (`family_size`: the claim's declared cases in the profile, less those
this machine cannot run) and some were not judged, each case of the family is held to
Bonferroni's level over the full family (q ≤ 1/m): any case rejected so is also rejected by
Holm in the full run (every smaller q is below 1/m too), so a narrowed run's FAILS is never
firmer than the full run's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

TESTED = ("HOLDS", "FAILS", "INCONCLUSIVE")


def holm(p_values: Sequence[float], alphas: Sequence[float]) -> list[bool]:
    """Which hypotheses Holm's step-down rejects, each at its own level α_i (the family-wise
    error stays at most max α_i; with equal α it is the textbook procedure)."""
    if len(p_values) != len(alphas):
        raise ValueError(f"{len(p_values)} p-values but {len(alphas)} levels; give one level per p-value")
    for p, a in zip(p_values, alphas, strict=True):
        if not (0.0 <= p <= 1.0) or math.isnan(p):
            raise ValueError(f"a p-value must lie in [0, 1], got {p}")
        if not (0.0 < a < 1.0):
            raise ValueError(f"a level must lie strictly between 0 and 1, got {a}")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i] / alphas[i])
    rejected = [False] * m
    for k, i in enumerate(order):
        if p_values[i] / alphas[i] > 1.0 / (m - k):
            break
        rejected[i] = True
    return rejected


def family_key(row: dict[str, Any]) -> tuple | None:
    """The family a ledger row belongs to, or None when it is not a tested accuracy case."""
    if row.get("speed_claim") or row.get("verdict") not in TESTED:
        return None
    return (row["claim"], row.get("device"), row.get("profile"))


def adjust(rows: list[dict[str, Any]],
           family_size: Callable[[tuple], int | None] | None = None) -> list[dict[str, Any]]:
    """The rows with Holm applied within each family (new dicts where a verdict changes; the
    input is left as it is). Each tested row gets `holm` = {"m", "rejected", "not_judged"} in
    its figures. `family_size(key)`: how many cases the full run judges in the family `key`
    (None: unknown); when the run judged fewer, Bonferroni over the full family (see above)."""
    families: dict[tuple, list[int]] = {}
    present: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        key = family_key(r)
        if key is not None:
            families.setdefault(key, []).append(i)
        if not r.get("speed_claim"):
            where = (r["claim"], r.get("device"), r.get("profile"))
            present[where] = present.get(where, 0) + 1
    out = list(rows)
    for key, members in families.items():
        ps, alphas = [], []
        for i in members:
            p, a = _evidence(rows[i])
            ps.append(p)
            alphas.append(a)
        full = family_size(key) if family_size is not None else None
        missing = max(0, full - present[key]) if full is not None else 0
        m = len(members) + missing
        rejected = holm(ps, alphas) if not missing else [p / a <= 1.0 / m for p, a in zip(ps, alphas, strict=True)]
        for i, r in zip(members, rejected, strict=True):
            out[i] = _apply(rows[i], m, r, missing)
    return out


def _evidence(row: dict[str, Any]) -> tuple[float, float]:
    """(p, α) of a row: its fail test, or (0, 1/2) for a FAILS without one (exact), or
    (1, 1/2) for a tested case without one (never rejected)."""
    p, alpha = row.get("p_fail"), row.get("fail_alpha")
    if p is not None and alpha:
        return float(p), float(alpha)
    return (0.0, 0.5) if row["verdict"] == "FAILS" else (1.0, 0.5)


def _apply(row: dict[str, Any], m: int, rejected: bool, missing: int = 0) -> dict[str, Any]:
    figures = {**(row.get("figures") or {}), "holm": {"m": m, "rejected": rejected, "not_judged": missing}}
    new = {**row, "figures": figures}
    if row["verdict"] != "FAILS" or rejected:
        return new
    p, alpha = row["p_fail"], row["fail_alpha"]
    figures["verdict_before_holm"] = "FAILS"
    new["verdict"] = "INCONCLUSIVE"
    how = (f"Holm over {m} cases of {row['claim']}" if not missing else
           f"Holm over {m} cases of {row['claim']} ({missing} not judged in this run: Bonferroni)")
    new["line"] = (
        f"{row['line']}; {how}: p={p:.3g} is not significant at the "
        f"family-wise level {alpha:.3g} → INCONCLUSIVE"
    )
    return new
