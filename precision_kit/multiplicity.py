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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def adjust(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with Holm applied within each family (new dicts where a verdict changes; the
    input is left as it is). Each tested row gets `holm` = {"m", "rejected"} in its figures."""
    families: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        key = family_key(r)
        if key is not None:
            families.setdefault(key, []).append(i)
    out = list(rows)
    for members in families.values():
        ps, alphas = [], []
        for i in members:
            p, a = _evidence(rows[i])
            ps.append(p)
            alphas.append(a)
        for i, rejected in zip(members, holm(ps, alphas), strict=True):
            out[i] = _apply(rows[i], len(members), rejected)
    return out


def _evidence(row: dict[str, Any]) -> tuple[float, float]:
    """(p, α) of a row: its fail test, or (0, 1/2) for a FAILS without one (exact), or
    (1, 1/2) for a tested case without one (never rejected)."""
    p, alpha = row.get("p_fail"), row.get("fail_alpha")
    if p is not None and alpha:
        return float(p), float(alpha)
    return (0.0, 0.5) if row["verdict"] == "FAILS" else (1.0, 0.5)


def _apply(row: dict[str, Any], m: int, rejected: bool) -> dict[str, Any]:
    figures = {**(row.get("figures") or {}), "holm": {"m": m, "rejected": rejected}}
    new = {**row, "figures": figures}
    if row["verdict"] != "FAILS" or rejected:
        return new
    p, alpha = row["p_fail"], row["fail_alpha"]
    figures["verdict_before_holm"] = "FAILS"
    new["verdict"] = "INCONCLUSIVE"
    new["line"] = (
        f"{row['line']}; Holm over {m} cases of {row['claim']}: p={p:.3g} is not significant at the "
        f"family-wise level {alpha:.3g} → INCONCLUSIVE"
    )
    return new
