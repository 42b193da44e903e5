"""`precision-kit` console script.

    precision-kit expect LEDGER.json [--out baselines/expected_verdicts.json]
        record a run's verdicts (claims.json written by `pytest bench/`) as the expected
        ones that the benchmark suite gates on; other profiles and devices are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import ledger
from .errors import DataError

DEFAULT_EXPECTED = Path("baselines") / "expected_verdicts.json"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; expected a claims.json written by `pytest bench/`") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}); expected a claims.json written by `pytest bench/`") from err


def expect(args: argparse.Namespace) -> int:
    doc = _read_json(Path(args.ledger))
    if doc.get("schema") != "precision_kit.ledger/1" or not isinstance(doc.get("rows"), list):
        raise DataError(
            f"{args.ledger}: expected schema 'precision_kit.ledger/1' with a 'rows' list, "
            f"found schema {doc.get('schema')!r}; pass the claims.json of a benchmark run"
        )
    out = Path(args.out)
    existing = _read_json(out) if out.exists() else {}
    merged = ledger.expected_verdicts(doc["rows"], existing)
    ledger.write_json(out, merged)
    print(f"recorded {len(doc['rows'])} verdicts into {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="precision-kit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("expect", help="record a run's verdicts as the expected ones")
    p.add_argument("ledger", help="claims.json of a benchmark run")
    p.add_argument("--out", default=str(DEFAULT_EXPECTED), help="expected-verdicts file (default: %(default)s)")
    p.set_defaults(func=expect)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DataError as err:
        print(f"precision-kit: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
