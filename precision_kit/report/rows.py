"""Reading the loaded rows: pick a claim's cases, read their typed part (`params`,
`accuracies`, `sizes`: schema /3), find a figure entry."""

from __future__ import annotations

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


def param(row: Row, name: str) -> Any:
    """The case's parameter `name` (`row["params"]`, e.g. param(row, "depth") == 2 for the case
    "depth=2-torch.ao"); None where the row has no such parameter (or, recorded before /3, no params)."""
    params = row.get("params")
    return params.get(name) if isinstance(params, dict) else None


def per_seed(row: Row, arm: str) -> list[float | None]:
    """The arm's test accuracies (%) indexed by seed, None where that seed diverged; [] where the
    row has no such arm (or, recorded before /3, no `accuracies`)."""
    found = row.get("accuracies")
    values = found.get(arm) if isinstance(found, dict) else None
    return list(values) if isinstance(values, list) else []


def accuracies(row: Row, arm: str) -> list[float]:
    """The arm's per-seed test accuracies (%) of the seeds that did not diverge (`per_seed`, None dropped)."""
    return [a for a in per_seed(row, arm) if a is not None]


def all_accuracies(row: Row) -> dict[str, list[float]]:
    """{arm: `accuracies(row, arm)`} of every arm the row holds a non-diverged seed of, in the row's order."""
    found = row.get("accuracies")
    out = {arm: accuracies(row, arm) for arm in (found if isinstance(found, dict) else {})}
    return {arm: acc for arm, acc in out.items() if acc}


def sizes(row: Row) -> dict[str, int]:
    """The exact sizes in bytes the row measured (`row["sizes"]`, e.g. {"fp32_serialized": 475797});
    {} for a row recorded before /3."""
    found = row.get("sizes")
    return {name: v for name, v in (found.items() if isinstance(found, dict) else ())
            if isinstance(v, int) and not isinstance(v, bool)}


def size(row: Row, name: str) -> int | None:
    """One of `sizes(row)`, e.g. size(row, "int8_serialized"); None where not measured."""
    return sizes(row).get(name)


def source_of(row: Row) -> str:
    src = row.get("source") or ""
    return src[:3] if src[:3] in SOURCES else "other"
