"""Convert a results file of an older schema (`precision_kit.ledger/2`: a run's ledger, a
baseline, or the JSON `--benchmark-autosave` wrote) into the current one (/3), whose rows
carry the typed result the gate and the report read.

A /2 row had no typed part: the /2 gate found per-seed accuracies by figure name (a name
with "accuracy", not "train" or "per_epoch") and sizes by a "bytes" ending. The migration
derives the typed fields by those same rules, so a migrated baseline gates what it gated
before:

- `accuracies`: each such list, named by its figure name less "accuracy" ("fp32_accuracy"
  → "fp32", "accuracy_lr1e-3" → "lr1e-3"). A /2 list left diverged seeds out, so its index
  is the seed only where no seed diverged;
- `sizes`: each integer "*bytes" figure (not peak memory), named by its path less the
  "bytes" ending ("fp32.serialized_bytes" → "fp32_serialized");
- `params`: the declared case (`claims.cases`) whose label is the row's case, else {}.

Arms or sizes whose names changed since are reported by the gate, not compared: re-record
a baseline with this version (`precision-kit baseline`) to gate everything again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .files import atomic_write_text
from .ledger import SCHEMA
from .results import MIGRATABLE, ResultsError, load, read_json

_ACCURACY = re.compile(r"^(?!train)(.*[_-])?accuracy([_-].*)?$")


def migrate_file(path: str | Path, out: str | Path) -> Path:
    """Write `path` (an older schema) converted to the current schema at `out`, validated by
    `results.load` before it replaces anything; `out` may be `path` itself."""
    path, out = Path(path), Path(out)
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise ResultsError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    if "benchmarks" in doc and isinstance(doc.get("machine_info"), dict):
        info = doc["machine_info"].setdefault("precision_kit", {})
        _check_schema(path, info.get("schema"))
        info["schema"] = SCHEMA
        for bench in doc.get("benchmarks") or []:
            extra = bench.get("extra_info") if isinstance(bench, dict) else None
            if isinstance(extra, dict) and "verdict" in extra:
                bench["extra_info"] = migrate_row(extra)
    elif "schema" in doc:
        _check_schema(path, doc["schema"])
        doc["schema"] = SCHEMA
        doc["rows"] = [migrate_row(r) if isinstance(r, dict) else r for r in doc.get("rows") or []]
    else:
        raise ResultsError(f"{path}: neither a precision_kit ledger nor a pytest-benchmark result")
    tmp = out.with_name(out.name + ".migrating")
    atomic_write_text(tmp, json.dumps(doc, indent=1, allow_nan=False))
    try:
        load(tmp)  # a file that does not validate never replaces anything
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _check_schema(path: Path, schema: Any) -> None:
    if schema == SCHEMA:
        raise ResultsError(f"{path} is already schema {SCHEMA!r}: nothing to migrate")
    if schema not in MIGRATABLE:
        raise ResultsError(f"{path}: schema {schema!r} cannot be migrated (this version migrates "
                           f"{', '.join(MIGRATABLE)}); re-record it with `pytest bench/` and `precision-kit baseline`")


def migrate_row(row: dict[str, Any]) -> dict[str, Any]:
    """A /2 row with the typed fields of /3 derived from its figures and case."""
    figures = row.get("figures") or {}
    new = dict(row)
    new.setdefault("params", _params(row.get("claim"), row.get("case")))
    new.setdefault("accuracies", {_arm(name): list(v) for name, v in _accuracy_lists(figures)})
    new.setdefault("sizes", {re.sub(r"[._\[\]]*bytes$", "", re.sub(r"[.\[\]]+", "_", p)).strip("_"): v
                             for p, v in _byte_sizes(figures)})
    return new


def _arm(name: str) -> str:
    return re.sub(r"(^|[_-])accuracy([_-]|$)", r"\1\2", name).strip("_-") or "accuracy"


def _accuracy_lists(figures: dict[str, Any]) -> Iterator[tuple[str, list]]:
    for name, value in figures.items():
        if (_ACCURACY.match(name) and "per_epoch" not in name and isinstance(value, list) and value
                and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)):
            yield name, value


def _byte_sizes(figures: Any, prefix: str = "") -> Iterator[tuple[str, int]]:
    if isinstance(figures, dict):
        for name, value in figures.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if isinstance(value, int) and not isinstance(value, bool):
                if str(name).endswith("bytes") and "peak_memory" not in path:
                    yield path, value
            else:
                yield from _byte_sizes(value, path)
    elif isinstance(figures, list):
        for i, value in enumerate(figures):
            yield from _byte_sizes(value, f"{prefix}[{i}]")


def _params(claim_id: Any, case: Any) -> dict[str, Any]:
    from .claims import REGISTRY

    entry = REGISTRY.get(claim_id) if isinstance(claim_id, str) else None
    if entry is None:
        return {}
    for params in entry.cases.all():
        if entry.cases.label(params) == case:
            return params
    return {}
