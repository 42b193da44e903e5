"""The claims ledger of a run: one row per judged case, printed as a table and written,
one pair of files per run, as `NNNN_<tag>.json` and `NNNN_<tag>.md` into
`.precision_kit/ledgers/<machine id>/` (`write_run`), named like pytest-benchmark's
autosave file of the same run but kept out of its storage folder (`.benchmarks/`), where
`pytest-benchmark list/compare` would take a ledger for one of its runs and fail on it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .files import atomic_write_text, atomic_writer

# /2: rows carry the case's `timing` against the reference; /3: rows carry the typed result
# (`params`, per-arm per-seed `accuracies`, exact `sizes`) that the gate and the report read
# (`precision-kit migrate` turns a /2 file into /3).
SCHEMA = "precision_kit.ledger/3"
LEDGER_DIR = Path(".precision_kit") / "ledgers"
_RUN_FILE = re.compile(r"^(\d{4})_.*\.json$")
COLUMNS = ("claim", "source", "claim in a few words", "case", "device", "measured", "budget", "verdict")


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
            budget_text(r.get("budget")),
            r["verdict"],
        )
        for r in sorted(rows, key=lambda r: (r["claim"], r["device"], r.get("case") or ""))
    ]
    return tabulate(body, headers=COLUMNS, tablefmt=fmt, maxcolwidths=[None, None, 34, 20, None, 70, 24, None])


def budget_text(budget: dict[str, Any] | None) -> str:
    """"source" for a case run at the source's own budget, else what was reduced."""
    if not budget:
        return "—"  # a row recorded before budgets were stated
    text = "source" if budget.get("at_source_budget") else "reduced: " + "; ".join(budget.get("reduced") or [])
    stage = budget.get("seed_stage")
    if stage and stage[0] > 1:
        text += f"; seeds escalated to {max(budget.get('seeds') or [0])} (stage {stage[0]} of {stage[1]})"
        looks = budget.get("earlier_looks") or []
        if looks:
            text += " after " + ", ".join(f"{look['verdict']} at {look['seeds']}" for look in looks)
    return text


def summary(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return ", ".join(f"{counts[v]} {v}" for v in ("HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTED") if v in counts)


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


def _markdown(rows: list[dict[str, Any]], title: str) -> str:
    return f"# Claims ledger ({title})\n\n" + summary(rows) + "\n\n" + table(rows, "github") + "\n"


class RunLedger:
    """The ledger of one run, written again (atomically) after every judged case, so a run
    that is stopped — interrupted, killed, out of its time window — keeps every case it
    finished. Its name, `NNNN_<tag>.json` and `.md` in `folder` with NNNN one more than the
    highest number there, is claimed at the first write with a hard link, so a run never
    replaces another run's ledger (a name a concurrent run took moves it to the next)."""

    def __init__(self, folder: Path, machine: dict[str, Any] | None, tag: str) -> None:
        if not re.fullmatch(r"[\w.+-]+", tag):
            raise ValueError(f"a ledger tag is letters, digits and _.+- only; found {tag!r}")
        self.folder, self.machine, self.tag = Path(folder), machine or {}, tag
        self.json_path: Path | None = None

    @property
    def md_path(self) -> Path | None:
        return self.json_path.with_suffix(".md") if self.json_path else None

    def save(self, rows: list[dict[str, Any]], machine: dict[str, Any] | None = None) -> tuple[Path, Path]:
        """Write `rows` (every case judged so far) as this run's ledger; its two paths."""
        if machine:
            self.machine = machine
        text = json.dumps({"schema": SCHEMA, "machine": self.machine, "tag": self.tag, "rows": rows},
                          indent=1, allow_nan=False)
        if self.json_path is None:
            self.json_path = self._claim(text)
        else:
            atomic_write_text(self.json_path, text)
        return self.json_path, atomic_write_text(self.md_path, _markdown(rows, self.json_path.stem))

    def _claim(self, text: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        taken = (int(m.group(1)) for p in self.folder.iterdir() if (m := _RUN_FILE.match(p.name)))
        number = max(taken, default=0)
        for _ in range(100):
            number += 1
            path = self.folder / f"{number:04d}_{self.tag}.json"
            try:
                with atomic_writer(path, "w", replace=False) as fh:
                    fh.write(text)
                return path
            except FileExistsError:
                continue
        raise FileExistsError(f"no free ledger number in {self.folder} after 100 tries; is another run writing there?")


def write_run(
    rows: list[dict[str, Any]], folder: Path, machine: dict[str, Any] | None, tag: str
) -> tuple[Path, Path]:
    """Write a finished run's ledger as `NNNN_<tag>.json` and `.md` into `folder` (`RunLedger`)."""
    return RunLedger(folder, machine, tag).save(rows)


def newest(folder: Path) -> Path | None:
    """The most recently written run ledger (`NNNN_*.json`) under `folder`, or None."""
    runs = [p for p in folder.rglob("*.json") if _RUN_FILE.match(p.name)]
    return max(runs, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def expected_verdicts(rows: list[dict[str, Any]], existing: dict | None = None) -> dict:
    """Merge a run's verdicts into an expected-verdicts mapping
    {profile: {device: {"ID[case]": verdict}}}; the benchmark's judge fixture gates on it.
    Speed claims are left out, and an entry an older file holds for one is dropped: their
    verdicts belong to a CPU model, not to a device kind."""
    out = json.loads(json.dumps(existing or {}))
    for r in rows:
        if r.get("speed_claim"):
            # a ratio of times on this CPU model: no machine-independent expectation
            out.get(r["profile"], {}).get(r["device"], {}).pop(f"{r['claim']}[{r['case']}]", None)
            continue
        out.setdefault(r["profile"], {}).setdefault(r["device"], {})[f"{r['claim']}[{r['case']}]"] = r["verdict"]
    for devices in out.values():
        for device, cases in devices.items():
            devices[device] = dict(sorted(cases.items()))
    return out


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as indented strict JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
