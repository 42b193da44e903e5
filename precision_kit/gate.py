"""The regression gate: a run's results against a stored baseline of the same machine class.

For every case both runs judged:

- verdict: any change of the claim's verdict is a regression; a speed claim's (a ratio of
  times) only against a baseline from the same CPU model, and only between HOLDS and FAILS;
  against another CPU model of the class, an accuracy claim's move in or out of
  INCONCLUSIVE is reported (other kernels train other models), HOLDS ↔ FAILS still fails.
- timing: the case's time in units of the reference GEMM timed in the same run
  (`precision_kit.timing`), against the slowest of the unchanged runs the baseline was
  recorded from (between-run noise: one case measured 33 ms in one unchanged run and 43 ms
  in the next). A slowdown is a regression only if it exceeds both the floor (25%) and
  twice the within-run noise (the larger relative range of the two runs' per-round
  ratios). Cases under `MIN_GATED_SECONDS` per call are reported, not gated. Timings are
  gated only against a baseline recorded on the same CPU model (its name and its family and
  model numbers, `cpu_model`): the reference GEMM absorbs a
  clock, not a microarchitecture (an AMD EPYC with AVX-512 BF16 runs bfloat16 autocast several
  times faster, relative to its GEMM, than an Intel Xeon without it, in the same machine
  class); against another model the timings are compared and reported, not gated. A
  slowdown must repeat: `gate_confirm.confirm` holds each one to a second measurement of its case (the
  plugin runs the flagged cases again in a fresh process); slower only once, it is reported.
- accuracy: every arm's per-seed test accuracies (the row's typed `accuracies`, index =
  seed), paired by seed: Δ = current − baseline; a regression when the one-sided 95% upper
  t bound of the mean Δ is below −`ACCURACY_FLOOR` points (a real, consistent drop, not seed
  noise). A seed that diverged only in the current run is one too; an arm the baseline has
  and the run lacks is reported.
- size: every exact size (the row's typed `sizes`, bytes) must match exactly; a bigger one
  is a regression, a smaller one is reported.

A case of the baseline that the run did not judge is a regression ("missing"): a run that
skipped half the ledger must never pass. A deliberately narrowed run (`pytest -k …`) is
gated with `only_run_cases=True` (`--only-run-cases`), which reports them instead, as it
reports the cases a time budget left out (`not_run`, the plugin's `--pk-time-budget`). A case
only the run has is reported as added. An unusable baseline
(missing, corrupt, other schema, other machine class) is a `ResultsError`: the
infrastructure exit code, not a verdict on the code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .machine import format_cpu_id, machine_class
from .results import Results, ResultsError, timing
from .stats import upper_bound

EXIT_OK, EXIT_REGRESSION, EXIT_INFRA = 0, 1, 2
TIME_FLOOR = 0.25
NOISE_FACTOR = 2.0
MIN_GATED_SECONDS = 5e-3
ACCURACY_FLOOR = 0.25  # points


@dataclass(frozen=True)
class Finding:
    kind: str  # verdict | timing | accuracy | size | missing | added
    case: str
    message: str
    regression: bool


@dataclass
class GateReport:
    baseline: str
    current: str
    findings: list[Finding] = field(default_factory=list)
    compared: int = 0

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.regression]

    @property
    def exit_code(self) -> int:
        return EXIT_REGRESSION if self.regressions else EXIT_OK

    def text(self) -> str:
        head = (
            f"gate: {self.compared} cases of {self.current} against the baseline {self.baseline}: "
            + (f"{len(self.regressions)} REGRESSION(S)" if self.regressions else "no regression")
        )
        missing = [f for f in self.findings if f.kind == "missing"]
        if missing:
            failed = sum(f.regression for f in missing)
            how = f"{failed} failed" if failed else "reported"
            head += f"; {len(missing)} baseline case(s) missing from this run, {how}"
        lines = [head]
        for f in sorted(self.findings, key=lambda f: (not f.regression, f.kind, f.case)):
            lines.append(f"  {'REGRESSION' if f.regression else 'note':10s} {f.kind:8s} {f.case}: {f.message}")
        return "\n".join(lines)


def check_machine(baseline: Results, current: Results) -> None:
    """Raise `ResultsError` when the two runs come from different machine classes."""
    a, b = machine_class(baseline.machine), machine_class(current.machine)
    diff = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
    if diff:
        shown = ", ".join(f"{k}: baseline {x!r}, this run {y!r}" for k, (x, y) in diff.items())
        raise ResultsError(
            f"the baseline {baseline.path} comes from another machine class ({shown}); gate against a baseline "
            "recorded on this class of machine, or record one with `precision-kit baseline`"
        )


def gate(
    baseline: Results,
    current: Results,
    time_floor: float = TIME_FLOOR,
    min_seconds: float = MIN_GATED_SECONDS,
    only_run_cases: bool = False,
    not_run: Mapping[str, str] | None = None,
) -> GateReport:
    """Compare `current` with `baseline` case by case (see the module docstring). `not_run`:
    cases the run left out on purpose, with the reason (`--pk-time-budget`): reported, not failed."""
    check_machine(baseline, current)
    report = GateReport(baseline.path, current.path)
    missing = sorted(baseline.rows.keys() - current.rows.keys())
    for k in missing:
        if k in (not_run or {}):
            msg = f"in the baseline, not judged in this run: {not_run[k]}"
            report.findings.append(Finding("missing", k, msg, False))
        elif only_run_cases:
            msg = "in the baseline, not judged in this run (narrowed run)"
            report.findings.append(Finding("missing", k, msg, False))
        else:
            msg = ("in the baseline, not judged in this run; run the whole suite, or gate a deliberately narrowed "
                   "run with --only-run-cases")
            report.findings.append(Finding("missing", k, msg, True))
    for k in sorted(current.rows.keys() - baseline.rows.keys()):
        report.findings.append(Finding("added", k, "judged in this run, not in the baseline", False))
    other_cpu = _other_cpu(baseline, current)
    if other_cpu:
        report.findings.append(Finding("timing", "*", other_cpu, False))
    for k in sorted(baseline.rows.keys() & current.rows.keys()):
        base, cur = baseline.rows[k], current.rows[k]
        report.compared += 1
        report.findings += _verdict(k, base, cur, other_cpu)
        timings = _timing(k, base, cur, time_floor, min_seconds)
        if other_cpu:
            timings = [Finding(f.kind, f.case, f"{f.message} (not gated: other CPU model)", False) for f in timings]
        report.findings += timings
        report.findings += _accuracy(k, base, cur)
        report.findings += _sizes(k, base, cur)
    return report


def cpu_model(results: Results) -> str | None:
    """The CPU model a run's timings belong to: the model name and, where the run recorded
    them, the vendor, family and model numbers (ours, `machine.cpu_id`; in a run stored
    before they were recorded, pytest-benchmark's py-cpuinfo fields). The name alone is not
    enough: under this workplace's hypervisor a Zen 4 and a Zen 5 EPYC both read "AMD EPYC",
    and the same cases measured 1.2-2.5x slower relative to the reference GEMM on the Zen 4
    (bfloat16 autocast and int8 most)."""
    pk = results.machine.get("precision_kit") or {}
    name = pk.get("cpu_model")
    ident = pk.get("cpu_id")
    if ident is None:
        cpu = results.machine.get("cpu") or {}
        ident = format_cpu_id(cpu.get("vendor_id_raw"), cpu.get("family"), cpu.get("model"))
    if ident is None:
        return name
    return f"{name} ({ident})"


def _other_cpu(baseline: Results, current: Results) -> str:
    """'' when the two runs share a CPU model, else why their timings are not gated."""
    a, b = cpu_model(baseline), cpu_model(current)
    if a == b:
        return ""
    return (f"the baseline's timings come from {a!r}, this run's from {b!r}: timings are reported, not gated "
            "(record a baseline on this CPU model to gate them)")


FIRM = ("HOLDS", "FAILS")


def _verdict(k: str, base: dict, cur: dict, other_cpu: str = "") -> list[Finding]:
    """A changed verdict is a regression. A speed claim's verdict is a ratio of times against a
    target: against a baseline from another CPU model another verdict can be right (reported),
    and on the same model only a move between HOLDS and FAILS is one (a ratio near its target
    moves in and out of INCONCLUSIVE from run to run: BI-7's torchao weight-only at batch 64
    measured 1.24× [0.92, 1.67] in one run and [1.05, 1.34] in the next; its time itself is
    gated by the timing rule), and only when every unchanged run the baseline was recorded
    from (`verdicts_seen`) reached a firm verdict other than the current one (BI-7's torchao
    weight-only at batch 10,000 measured HOLDS, INCONCLUSIVE and FAILS in unchanged runs)."""
    if base["verdict"] == cur["verdict"]:
        return []
    msg = f"verdict changed {base['verdict']} → {cur['verdict']}: now {cur['line']} (was {base['line']})"
    if base.get("speed_claim") or cur.get("speed_claim"):
        if other_cpu:
            return [Finding("verdict", k, msg + " (a speed claim on another CPU model: not gated)", False)]
        seen = base.get("verdicts_seen") or [base["verdict"]]  # the baseline's unchanged runs
        if cur["verdict"] in seen or not all(v in FIRM for v in seen):
            why = "reached by an unchanged baseline run" if cur["verdict"] in seen else "near its target"
            return [Finding("verdict", k, msg + f" (a speed claim {why}: {seen}; reported)", False)]
        if cur["verdict"] not in FIRM:
            return [Finding("verdict", k, msg + " (a speed claim near its target: reported)", False)]
    elif other_cpu and not (base["verdict"] in FIRM and cur["verdict"] in FIRM):
        # Models trained on another microarchitecture are other models (other kernels, other
        # rounding): an interval at its margin may move in or out of INCONCLUSIVE. A move
        # between HOLDS and FAILS stays a regression; the accuracy rule still gates the figures.
        return [Finding("verdict", k, msg + " (another CPU model, at the margin: reported)", False)]
    return [Finding("verdict", k, msg, True)]


def envelope(row: dict) -> list[float]:
    """The normalized times of a baseline case over the unchanged runs it was recorded from
    (`precision-kit baseline RUN1 RUN2 …`); just its own for a single-run baseline."""
    values = row.get("timing_envelope") or []
    t = timing(row)
    return list(values) if values else ([t.normalized] if t else [])


def _timing(k: str, base: dict, cur: dict, floor: float, min_seconds: float) -> list[Finding]:
    checked = timing_check(base, cur, floor, min_seconds)
    if checked is None:
        return []
    status, figures = checked
    if status == "short":
        return [Finding("timing", k, f"too short to gate (< {min_seconds * 1e3:g} ms): {figures}", False)]
    if status == "slower":
        return [Finding("timing", k, f"slower: {figures}", True)]
    if status == "faster":
        return [Finding("timing", k, f"faster: {figures}", False)]
    return []


def timing_check(base: dict, cur: dict, floor: float, min_seconds: float) -> tuple[str, str] | None:
    """(status, figures) of one case's timing against the baseline's: status is short (not
    gated), slower (beyond the tolerance), faster or within; None when either run has no timing."""
    tb, tc = timing(base), timing(cur)
    if tb is None or tc is None:
        return None
    runs = envelope(base)
    slowest = max(runs)  # between-run noise: the slowest unchanged baseline run
    change = tc.normalized / slowest - 1.0
    spread = max(tb.spread, tc.spread)
    tolerance = max(floor, NOISE_FACTOR * spread)
    figures = (
        f"{tc.normalized:.4g}× the reference vs at most {slowest:.4g}× in {len(runs)} baseline run(s) "
        f"({change:+.0%}; tolerance +{tolerance:.0%} = max(floor {floor:.0%}, {NOISE_FACTOR:g} × spread {spread:.0%}); "
        f"{len(tc.seconds)} rounds; median {tc.median_seconds * 1e3:.4g} ms vs {tb.median_seconds * 1e3:.4g} ms)"
    )
    if tb.median_seconds < min_seconds:
        return "short", figures
    if change > tolerance:
        return "slower", figures
    if tc.normalized / min(runs) - 1.0 < -tolerance:
        return "faster", figures
    return "within", figures


def _accuracy(k: str, base: dict, cur: dict) -> list[Finding]:
    out = []
    lists_b, lists_c = base.get("accuracies") or {}, cur.get("accuracies") or {}
    for name in sorted(lists_b.keys() - lists_c.keys()):
        out.append(Finding("accuracy", k, f"arm {name!r} is in the baseline, not in this run's accuracies", False))
    for name in sorted(lists_b.keys() & lists_c.keys()):
        b, c = lists_b[name], lists_c[name]
        if len(b) != len(c):
            # seeds escalated in one run and not the other: the common seeds still pair
            out.append(Finding("accuracy", k, f"{name}: {len(c)} seeds vs {len(b)} in the baseline; "
                               f"the first {min(len(b), len(c))} compared", False))
        diverged = [i for i, (x, y) in enumerate(zip(b, c, strict=False)) if x is not None and y is None]
        if diverged:
            msg = f"{name}: seed(s) {diverged} diverged, they did not in the baseline"
            out.append(Finding("accuracy", k, msg, True))
        pairs = [(x, y) for x, y in zip(b, c, strict=False) if x is not None and y is not None]
        if len(pairs) < 2:
            continue
        deltas = [y - x for x, y in pairs]
        bound = upper_bound(deltas, 0.95)
        if bound.high < -ACCURACY_FLOOR:
            mean_b = sum(x for x, _ in pairs) / len(pairs)
            mean_c = sum(y for _, y in pairs) / len(pairs)
            out.append(Finding(
                "accuracy", k,
                f"{name} dropped: mean {mean_c:.2f}% vs {mean_b:.2f}% in the baseline, Δ={bound.estimate:+.2f} pt, "
                f"95% upper bound {bound.high:+.2f} pt < −{ACCURACY_FLOOR} pt, {len(pairs)} paired seeds",
                True,
            ))
    return out


def _sizes(k: str, base: dict, cur: dict) -> list[Finding]:
    b, c = base.get("sizes") or {}, cur.get("sizes") or {}
    out = [Finding("size", k, f"{name} is in the baseline, not in this run's sizes", False)
           for name in sorted(b.keys() - c.keys())]
    for name in sorted(b.keys() & c.keys()):
        if c[name] == b[name]:
            continue
        change = c[name] / b[name] - 1 if b[name] else math.inf
        word = "bigger" if c[name] > b[name] else "smaller"
        msg = f"{name} {word}: {c[name]:,} bytes vs {b[name]:,} in the baseline ({change:+.2%}; must match exactly)"
        out.append(Finding("size", k, msg, c[name] > b[name]))
    return out
