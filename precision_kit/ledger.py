"""The claims ledger of a run: one row per judged case, printed as a table and written as
`claims.json` and `claims.md` (atomically) next to the saved benchmark results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .files import atomic_write_text

SCHEMA = "precision_kit.ledger/2"  # /2: rows carry the case's `timing` against the reference
COLUMNS = ("claim", "source", "claim in a few words", "case", "device", "measured", "verdict")


def row(result: dict[str, Any], device: str, profile: str, timing: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ledger row from `ClaimResult.to_dict()` plus where it ran and, for a timed case,
    its `Timing.to_dict()` against the reference computation."""
    return {**result, "device": device, "profile": profile, "timing": timing}


def table(rows: list[dict[str, Any]], fmt: str = "simple") -> str:
    body = [
        (
            r["claim"],
            (r.get("source") or "")[:3],
            r.get("statement") or "",
            r.get("case") or "",
            r["device"],
            r["line"] + (f" — {r['note']}" if r.get("note") else ""),
            r["verdict"],
        )
        for r in sorted(rows, key=lambda r: (r["claim"], r["device"], r.get("case") or ""))
    ]
    return tabulate(body, headers=COLUMNS, tablefmt=fmt, maxcolwidths=[None, None, 34, 20, None, 70, None])


def summary(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return ", ".join(f"{counts[v]} {v}" for v in ("HOLDS", "FAILS", "INCONCLUSIVE") if v in counts)


def write(
    rows: list[dict[str, Any]], folder: Path, machine: dict[str, Any] | None = None, name: str = "claims"
) -> tuple[Path, Path]:
    """Write `name`.json and `name`.md into `folder`, each through a temp file and a rename."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA, "machine": machine or {}, "rows": rows}
    md = "# Claims ledger\n\n" + summary(rows) + "\n\n" + table(rows, "github") + "\n"
    return (
        atomic_write_text(folder / f"{name}.json", json.dumps(doc, indent=1, allow_nan=False)),
        atomic_write_text(folder / f"{name}.md", md),
    )


def expected_verdicts(rows: list[dict[str, Any]], existing: dict | None = None) -> dict:
    """Merge a run's verdicts into an expected-verdicts mapping
    {profile: {device: {"ID[case]": verdict}}}; the benchmark's judge fixture gates on it."""
    out = json.loads(json.dumps(existing or {}))
    for r in rows:
        out.setdefault(r["profile"], {}).setdefault(r["device"], {})[f"{r['claim']}[{r['case']}]"] = r["verdict"]
    for devices in out.values():
        for device, cases in devices.items():
            devices[device] = dict(sorted(cases.items()))
    return out


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as indented strict JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
