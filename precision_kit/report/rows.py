"""Reading the loaded rows: pick a claim's cases, parse case strings, find a figure entry."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .style import Skip

Row = dict[str, Any]
SOURCES = {
    "000": "000 (depth and precision: FP32 / FP16 / INT8)",
    "001": "001 (precision of parameters)",
    "002": "002 (training dynamics)",
    "003": "003 (“Chasing 99%”)",
}
VERDICT_ORDER = {"FAILS": 0, "INCONCLUSIVE": 1, "HOLDS": 2, "UNTESTED": 3}


def primary_device(rows: list[Row]) -> str | None:
    """The device with the most rows (figures are drawn for one device; ties: alphabetical)."""
    counts = Counter(r["device"] for r in rows)
    return min(counts, key=lambda d: (-counts[d], d)) if counts else None


def of(rows: list[Row], claim: str) -> list[Row]:
    """The rows of `claim`, in case order."""
    return sorted((r for r in rows if r["claim"] == claim), key=lambda r: r["case"])


def need(rows: list[Row], *claims: str) -> dict[str, list[Row]]:
    """{claim: rows}; Skip naming the claims the run does not hold when any is missing."""
    found = {c: of(rows, c) for c in claims}
    missing = [c for c, rs in found.items() if not rs]
    if missing:
        raise Skip(f"the run has no {' or '.join(missing)} case")
    return found


def figures(row: Row) -> dict[str, Any]:
    return row.get("figures") or {}


def entry(rows: list[Row], name: str, what: str) -> list[tuple[Row, Any]]:
    """(row, figures[name]) for every row that has the entry; Skip if none does."""
    out = [(r, figures(r)[name]) for r in rows if figures(r).get(name) is not None]
    if not out:
        claims = sorted({r["claim"] for r in rows})
        raise Skip(
            f"no {what}: the {', '.join(claims)} rows hold no '{name}' figure "
            "(recorded by a newer precision_kit; re-run the benchmark)"
        )
    return out


def leading_int(case: str, name: str) -> int | None:
    m = re.search(rf"{re.escape(name)}=(\d+)", case)
    return int(m.group(1)) if m else None


def tail(case: str, name: str) -> str:
    """What follows `name=<int>-` in a case string: tail('depth=2-amp-fp16', 'depth') == 'amp-fp16'."""
    m = re.search(rf"{re.escape(name)}=\d+-?(.*)$", case)
    return m.group(1) if m else ""


def source_of(row: Row) -> str:
    src = row.get("source") or ""
    return src[:3] if src[:3] in SOURCES else "other"
