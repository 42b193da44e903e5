"""Ledger rows and runs made by hand for the gate's tests (tests/test_gate*.py)."""

from __future__ import annotations

from precision_kit import ledger, results
from precision_kit.machine import this_machine


def row(claim: str, case: str, figures: dict, verdict: str = "HOLDS", timing=None,
        accuracies: dict | None = None, sizes: dict | None = None) -> dict:
    return ledger.row(
        {"claim": claim, "source": "test", "statement": "s", "case": case, "params": {}, "verdict": verdict,
         "line": f"{claim} line", "note": "", "harness_broken": None, "figures": figures,
         "accuracies": accuracies or {}, "sizes": sizes or {}},
        "cpu", "quick", timing.to_dict() if timing is not None else None,
    )


def run(rows: list[dict], name: str) -> results.Results:
    return results.Results(name, this_machine(), {results.key(r): r for r in rows})
