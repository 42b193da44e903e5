"""A benchmark run's results, read back for gating, comparing and reporting.

Two files hold the same rows: the ledger `NNNN_<tag>.json` that `pytest bench/` writes at
the end of a session (`precision_kit.ledger.write_run`), and the JSON that
`--benchmark-autosave` (or `--benchmark-json`) writes, whose cases carry the row in
`extra_info`. `load` reads either and validates it strictly: a missing, empty, truncated
or corrupt file, a NaN or infinity anywhere, another schema version, or a malformed row
is a `ResultsError` that says what was expected and what to do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError
from .ledger import SCHEMA, newest
from .timing import Timing

VERDICTS = ("HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTED")
MIGRATABLE = ("precision_kit.ledger/2",)  # `precision_kit.migrate` turns these into SCHEMA
_HOW_TO = (
    "pass a run's ledger (.precision_kit/ledgers/<machine id>/NNNN_*.json, or that folder for the newest) "
    "or the --benchmark-autosave JSON of a `pytest bench/` run"
)


class ResultsError(DataError):
    """A results or baseline file cannot be used (the gate's infrastructure error)."""


@dataclass(frozen=True)
class Results:
    """One run: where it came from, its machine info and its rows keyed `ID[case]@device`."""

    path: str
    machine: dict[str, Any]
    rows: dict[str, dict[str, Any]]

    @property
    def devices(self) -> set[str]:
        return {r["device"] for r in self.rows.values()}

    @property
    def profile(self) -> str | None:
        profiles = {r.get("profile") for r in self.rows.values()}
        return profiles.pop() if len(profiles) == 1 else None


def key(row: dict[str, Any]) -> str:
    return f"{row['claim']}[{row['case']}]@{row['device']}"


def timing(row: dict[str, Any]) -> Timing | None:
    doc = row.get("timing")
    return Timing.from_dict(doc) if doc else None


def load(path: str | Path) -> Results:
    """Read and validate a run's results (a run's ledger or pytest-benchmark JSON). A
    folder means the newest run ledger under it (e.g. `.precision_kit/ledgers`)."""
    path = Path(path)
    if path.is_dir():
        found = newest(path)
        if found is None:
            raise ResultsError(f"{path} is a folder with no run ledger (NNNN_*.json) under it; {_HOW_TO}")
        path = found
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise ResultsError(f"{path}: expected a JSON object, found {type(doc).__name__}; {_HOW_TO}")
    if "benchmarks" in doc and "machine_info" in doc:
        machine = doc["machine_info"] if isinstance(doc["machine_info"], dict) else {}
        schema = (machine.get("precision_kit") or {}).get("schema")
        benchmarks = doc["benchmarks"] if isinstance(doc["benchmarks"], list) else []
        rows = [b.get("extra_info") for b in benchmarks if isinstance(b, dict)]
        rows = [r for r in rows if isinstance(r, dict) and "verdict" in r and "case" in r]
    elif "schema" in doc:
        schema, machine, rows = doc.get("schema"), doc.get("machine") or {}, doc.get("rows")
    else:
        raise ResultsError(
            f"{path}: neither a precision_kit ledger (no 'schema') nor a pytest-benchmark result "
            f"(no 'benchmarks' and 'machine_info'); {_HOW_TO}"
        )
    if schema in MIGRATABLE:
        raise ResultsError(
            f"{path}: schema {schema!r}, but this precision_kit reads {SCHEMA!r}; convert the file with "
            f"`precision-kit migrate {path} --out NEW.json` (or re-record it with this version)"
        )
    if schema != SCHEMA:
        raise ResultsError(
            f"{path}: schema {schema!r}, but this precision_kit reads {SCHEMA!r}; re-record the file with "
            "this version (`pytest bench/ --benchmark-autosave`, then `precision-kit baseline`)"
        )
    if not isinstance(rows, list) or not rows:
        raise ResultsError(f"{path}: expected a non-empty list of judged cases, found {rows!r:.80}; {_HOW_TO}")
    keyed: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        _check_row(path, i, row)
        k = key(row)
        if k in keyed:
            raise ResultsError(f"{path}: case {k} appears twice; a run judges each case once")
        keyed[k] = row
    return Results(str(path), machine, keyed)


def read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path} does not exist; {_HOW_TO}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"{path} cannot be read ({err}); {_HOW_TO}") from err
    if not text.strip():
        raise ResultsError(f"{path} is empty (a failed or interrupted write?); {_HOW_TO}")

    def reject(token: str):
        raise ResultsError(f"{path} contains {token}; results must hold finite numbers only (null for a missing one)")

    try:
        return json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as err:
        raise ResultsError(
            f"{path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}; "
            f"{len(text)} characters: truncated or corrupt?); {_HOW_TO}"
        ) from None


def _check_row(path: Path, i: int, row: Any) -> None:
    where = f"{path}: case #{i}"
    if not isinstance(row, dict):
        raise ResultsError(f"{where}: expected an object, found {type(row).__name__}")
    for field in ("claim", "case", "device", "verdict", "line"):
        if not isinstance(row.get(field), str):
            raise ResultsError(f"{where}: expected a string '{field}', found {row.get(field)!r}")
    where = f"{path}: {key(row)}"
    if row["verdict"] not in VERDICTS:
        raise ResultsError(f"{where}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
    if not isinstance(row.get("figures", {}), dict):
        raise ResultsError(f"{where}: expected 'figures' to be an object, found {type(row['figures']).__name__}")
    _check_typed(where, row)
    seen = row.get("verdicts_seen")
    if seen is not None and (not isinstance(seen, list) or not all(v in VERDICTS for v in seen)):
        raise ResultsError(f"{where}: verdicts_seen must list verdicts of {', '.join(VERDICTS)}, found {seen!r:.120}")
    envelope = row.get("timing_envelope")
    if envelope is not None and (not isinstance(envelope, list) or not all(_positive(v) for v in envelope)):
        raise ResultsError(f"{where}: timing_envelope must list positive finite numbers, found {envelope!r:.120}")
    doc = row.get("timing")
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise ResultsError(f"{where}: expected 'timing' to be an object, found {type(doc).__name__}")
    for field in ("seconds", "reference_seconds"):
        values = doc.get(field)
        if not isinstance(values, list) or not values or not all(_positive(v) for v in values):
            raise ResultsError(
                f"{where}: timing.{field} must be a non-empty list of positive finite seconds, found {values!r:.120}"
            )
    if len(doc["seconds"]) != len(doc["reference_seconds"]):
        raise ResultsError(f"{where}: timing has {len(doc['seconds'])} case and "
                           f"{len(doc['reference_seconds'])} reference rounds; they must pair up")


def _check_typed(where: str, row: dict) -> None:
    """The typed part of a row (schema /3): `params`, `accuracies`, `sizes`."""
    for name in ("params", "accuracies", "sizes"):
        if not isinstance(row.get(name), dict):
            raise ResultsError(f"{where}: expected '{name}' to be an object, found {row.get(name)!r:.80}")
    for arm, values in row["accuracies"].items():
        if not isinstance(values, list) or not all(v is None or _percent(v) for v in values):
            raise ResultsError(f"{where}: accuracies[{arm!r}] must list per-seed percentages in [0, 100] "
                               f"(null for a diverged seed), found {values!r:.120}")
    for name, value in row["sizes"].items():
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ResultsError(f"{where}: sizes[{name!r}] must be a whole number of bytes ≥ 0, found {value!r}")


def _percent(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 100.0


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
