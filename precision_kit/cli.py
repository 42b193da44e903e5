"""`precision-kit` console script.

    precision-kit gate CURRENT.json --baseline BASELINE.json [--only-run-cases] [--confirm AGAIN.json]
        gate a run against a stored baseline; exit 0 = no regression, 1 = regression
        (a baseline case the run did not judge included, unless --only-run-cases),
        2 = infrastructure error (baseline missing, corrupt, other schema or machine class).
        --confirm: a second run of the flagged cases; a slowdown fails only if it repeats there.
    precision-kit compare A.json B.json [--format github]
        the same cases of two runs side by side (e.g. CUDA vs CPU): times, how many times
        faster A is (B's seconds ÷ A's), accuracies, verdicts.
    precision-kit baseline RUN.json [RUN2.json …] --out baselines/quick-cpu/claims.json
        store a run as a baseline (several unchanged runs: their between-run timing noise
        too): validated first, written atomically, never replaced by a file that fails. A
        baseline given as a run brings the runs it was recorded from (extend one with a new run).
    precision-kit report RESULTS.json --out DIR [--other OTHER.json]
        the claims ledger, the machine info and the sources' figures regenerated from a
        run: DIR/report.md, a self-contained DIR/report.html and the figures as PNG files;
        --other adds a CPU-vs-GPU time per case figure.
    precision-kit expect LEDGER.json [--out baselines/expected_verdicts.json]
        record a run's verdicts as the expected ones the benchmark cases check as they run.
    precision-kit merge SHARD.json [SHARD2.json …] --out merged/claims.json
        combine the ledgers of `pytest bench/ --pk-shard i/n` runs (machines of one class)
        into one run's ledger, Holm applied again across every claim's merged cases.
    precision-kit migrate OLD.json [--out NEW.json]
        convert a results file of an older schema (ledger/2) to this version's (in place
        without --out; validated before it replaces anything).

RUN/CURRENT/BASELINE files are either the ledger a `pytest bench/` run writes
(.precision_kit/ledgers/<machine id>/NNNN_<tag>.json; a folder means the newest ledger
under it) or the JSON of `--benchmark-autosave`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import compare as compare_mod
from . import gate as gate_mod
from . import gate_confirm, ledger, results
from . import merge as merge_mod
from .errors import DataError, UnsupportedError

DEFAULT_EXPECTED = Path("baselines") / "expected_verdicts.json"


def _gate(args: argparse.Namespace) -> int:
    baseline = results.load(args.baseline)
    current = results.load(args.current)
    report = gate_mod.gate(baseline, current, time_floor=args.time_floor, only_run_cases=args.only_run_cases)
    if args.confirm:
        again = results.load(args.confirm)
        gate_mod.check_machine(baseline, again)
        report = gate_confirm.confirm(report, baseline, again, time_floor=args.time_floor)
    print(report.text())
    return report.exit_code


def _compare(args: argparse.Namespace) -> int:
    print(compare_mod.table(results.load(args.a), results.load(args.b), args.format))
    return 0


def _baseline(args: argparse.Namespace) -> int:
    runs = [results.load(path) for path in args.runs]  # raises before anything is written
    first = runs[0]
    for other in runs[1:]:
        gate_mod.check_machine(first, other)
    rows = []
    for k, row in first.rows.items():
        same = [r.rows[k] for r in runs if k in r.rows]
        if len(same) > 1:
            if {r["verdict"] for r in same} != {row["verdict"]}:
                print(f"warning: {k} reached different verdicts in the runs: {[r['verdict'] for r in same]}")
            # a baseline given as a run brings every run it was recorded from
            values = [v for r in same if r.get("timing") for v in gate_mod.envelope(r)]
            row = {**row, "timing_envelope": values} if len(values) > 1 else row
            row = {**row, "verdicts_seen": [v for r in same for v in (r.get("verdicts_seen") or [r["verdict"]])]}
        rows.append(row)
    out = Path(args.out)
    json_path, md_path = ledger.write(rows, out.parent, first.machine, name=out.stem)
    print(f"stored {len(rows)} cases of {len(runs)} run(s) as the baseline {json_path} (and {md_path})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report  # matplotlib is only needed here

    summary = write_report(Path(args.run), Path(args.out), Path(args.other) if args.other else None)
    print(summary.text())
    return 0


def _expect(args: argparse.Namespace) -> int:
    run = results.load(args.ledger)
    out = Path(args.out)
    existing = json.loads(out.read_text()) if out.exists() else {}
    merged = ledger.expected_verdicts(list(run.rows.values()), existing)
    ledger.write_json(out, merged)
    print(f"recorded {len(run.rows)} verdicts into {out}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    runs = [results.load(path) for path in args.shards]
    rows = merge_mod.merge(runs)
    out = Path(args.out)
    json_path, md_path = ledger.write(rows, out.parent, runs[0].machine, name=out.stem)
    print(f"merged {len(rows)} cases of {len(runs)} shard(s) into {json_path} (and {md_path}): {ledger.summary(rows)}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from .migrate import migrate_file

    out = migrate_file(args.file, args.out or args.file)
    print(f"migrated {args.file} to {ledger.SCHEMA}: {out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="precision-kit", description="Gate, compare and record precision_kit runs.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gate", help="gate a run against a baseline (exit 0 ok, 1 regression, 2 infrastructure)")
    g.add_argument("current", help="a run's ledger (or a ledger folder: its newest) or --benchmark-autosave JSON")
    g.add_argument("--baseline", required=True, help="the stored baseline of this machine class")
    g.add_argument("--time-floor", type=float, default=gate_mod.TIME_FLOOR,
                   help="smallest relative slowdown that can fail (default: %(default)s)")
    g.add_argument("--only-run-cases", action="store_true",
                   help="gate only the cases this run judged (a deliberately narrowed run, e.g. pytest -k); "
                   "without it a baseline case missing from the run is a regression")
    g.add_argument("--confirm", default=None, metavar="AGAIN",
                   help="a second run of the cases found slower (e.g. pytest NODEIDS --pk-ledger-dir DIR): a timing "
                   "regression fails only where that run measures the case slower too")
    g.set_defaults(func=_gate)
    c = sub.add_parser("compare", help="two runs side by side, e.g. CPU vs CUDA")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--format", default="simple", help="tabulate format, e.g. github (default: %(default)s)")
    c.set_defaults(func=_compare)
    b = sub.add_parser("baseline", help="store a validated run as a baseline (atomic)")
    b.add_argument("runs", nargs="+", help="runs of the unchanged tree (each case keeps every run's time)")
    b.add_argument("--out", required=True, help="e.g. baselines/quick-cpu/claims.json")
    b.set_defaults(func=_baseline)
    r = sub.add_parser("report", help="markdown + HTML report with the sources' figures from a run")
    r.add_argument("run", help="a run's ledger (or a ledger folder: its newest) or --benchmark-autosave JSON")
    r.add_argument("--out", required=True, help="folder for report.md, report.html and the PNG figures")
    r.add_argument("--other", help="a second run (e.g. on CUDA) for the CPU-vs-GPU figure")
    r.set_defaults(func=_report)
    e = sub.add_parser("expect", help="record a run's verdicts as the expected ones")
    e.add_argument("ledger", help="the ledger of a benchmark run (or a ledger folder: its newest)")
    e.add_argument("--out", default=str(DEFAULT_EXPECTED), help="expected-verdicts file (default: %(default)s)")
    e.set_defaults(func=_expect)
    m = sub.add_parser("merge", help="combine the ledgers of --pk-shard runs into one")
    m.add_argument("shards", nargs="+", help="the shards' ledgers (NNNN_*.json), machines of one class")
    m.add_argument("--out", required=True, help="e.g. merged/claims.json (and .md beside it)")
    m.set_defaults(func=_merge)
    mg = sub.add_parser("migrate", help="convert a results file of an older schema to this version's")
    mg.add_argument("file", help="a ledger, baseline or --benchmark-autosave JSON of schema ledger/2")
    mg.add_argument("--out", help="where to write it (default: in place, after it validates)")
    mg.set_defaults(func=_migrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, UnsupportedError, OSError, json.JSONDecodeError) as err:
        print(f"precision-kit {args.command}: infrastructure error: {err}", file=sys.stderr)
        return gate_mod.EXIT_INFRA


if __name__ == "__main__":
    sys.exit(main())
