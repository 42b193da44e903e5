#!/usr/bin/env python3
"""The README's ledger table from a run's ledger: per case what the source says, what we
measured (Δ, interval, n, margin: the verdict line), the budget and the verdict, and whether
the verdict speaks for the claim (judged at the source's budget, or at a reduced one that
still reaches the claim's regime) or not (UNTESTED).

    PYTHONPATH=. python tools/readme_ledger.py baselines/quick-cpu/claims.json > table.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from precision_kit import results  # noqa: E402
from precision_kit.ledger import budget_text  # noqa: E402


def speaks(row: dict) -> str:
    """Whether the row's verdict is a verdict on the claim, in a few words."""
    if row["verdict"] == "UNTESTED":
        return "no: the budget cannot reach the claim"
    if row.get("speed_claim"):
        return "for this CPU"
    budget = row.get("budget") or {}
    if budget.get("at_source_budget"):
        return "yes"
    if budget.get("independent_of_budget"):
        return "yes (independent of the budget)"
    return "yes (fewer seeds)"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(run: results.Results) -> str:
    lines = ["| case | the source says | measured | budget | verdict | speaks for the claim |",
             "|---|---|---|---|---|---|"]
    for row in sorted(run.rows.values(), key=lambda r: (r["claim"], r["case"])):
        lines.append("| " + " | ".join(cell(x) for x in (
            f"{row['claim']} [{row['case']}]", row.get("statement") or "", row["line"],
            budget_text(row.get("budget")), f"**{row['verdict']}**", speaks(row))) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ledger", help="a run's ledger JSON (or a ledger folder: its newest)")
    args = p.parse_args(argv)
    print(table(results.load(args.ledger)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
