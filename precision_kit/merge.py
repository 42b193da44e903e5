"""Shard ledgers combined into the ledger of one run (`precision-kit merge`).

`pytest bench/ --pk-shard i/n` on n machines of one class judges disjoint shares of the
cases. Holm's step-down across a claim's cases must see every case of the claim, so the
merge takes each row back to its verdict before Holm and applies Holm again over the merged
rows: the result is what one machine running every case would have written. Shards that
together miss some of a claim's declared cases (a case a shard skipped as unsupported
counts as missing: the shards' ledgers do not say why) are held to Bonferroni over the
declared family (`multiplicity`), never firmer than a full run."""

from __future__ import annotations

from typing import Any

from . import multiplicity
from .gate import check_machine
from .results import Results, ResultsError

_HOLM_LINE = "; Holm over "


def before_holm(row: dict[str, Any]) -> dict[str, Any]:
    """The row as its case judged it, before Holm across the claim's cases (`multiplicity`)."""
    figures = dict(row.get("figures") or {})
    figures.pop("holm", None)
    verdict = figures.pop("verdict_before_holm", None)
    out = {**row, "figures": figures}
    if verdict is not None:
        out["verdict"] = verdict
        out["line"] = row["line"].rsplit(_HOLM_LINE, 1)[0]
    return out


def merge(runs: list[Results]) -> list[dict[str, Any]]:
    """The rows of every shard, Holm applied across the merged claims. Raises `ResultsError`
    for shards of different machine classes or profiles, or a case judged by two shards."""
    if not runs:
        raise ResultsError("nothing to merge: give the ledgers of the shards (NNNN_*.json)")
    first, seen, rows = runs[0], {}, []
    profiles = {run.path: run.profile for run in runs}
    if len(set(profiles.values())) != 1:
        raise ResultsError(f"the shards ran different profiles ({profiles}); merge shards of one profile")
    for run in runs:
        check_machine(first, run)
        for key, row in run.rows.items():
            if key in seen:
                raise ResultsError(f"case {key} is in both {seen[key]} and {run.path}; shards judge disjoint "
                                   "cases (run each with --pk-shard i/n of the same n)")
            seen[key] = run.path
            rows.append(before_holm(row))
    from .claims.base import family_size

    return multiplicity.adjust(rows, family_size)
