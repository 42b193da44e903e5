"""The gate on stored files: a partial run, the CLI's exit codes, unusable or foreign
baselines (infrastructure errors), and a baseline stored from several runs."""

from __future__ import annotations

import copy
import json

import pytest
from gate_rows import row as _row

from precision_kit import gate, ledger, results
from precision_kit.cli import main
from precision_kit.machine import this_machine


def test_a_partial_run_fails_the_gate_unless_narrowed_explicitly(tmp_path, capsys):
    """`pytest bench -k BI_2` judged 12 of 65 cases and the gate said "no regression": a
    baseline case missing from the run is a regression, unless the run is gated with
    --only-run-cases, which reports them."""
    base_rows = [_row("BI-2", "depth=2", {}), _row("BI-3", "depth=2", {}), _row("SZ-1", "precision=fp16", {})]
    base = _write(tmp_path, "base", base_rows)
    part = _write(tmp_path, "part", base_rows[:1])
    report = gate.gate(results.load(base), results.load(part))
    assert report.exit_code == gate.EXIT_REGRESSION
    assert {(f.kind, f.case) for f in report.regressions} == {
        ("missing", "BI-3[depth=2]@cpu"), ("missing", "SZ-1[precision=fp16]@cpu")}
    assert "2 baseline case(s) missing from this run, 2 failed" in report.text()
    narrowed = gate.gate(results.load(base), results.load(part), only_run_cases=True)
    assert narrowed.exit_code == gate.EXIT_OK and len(narrowed.findings) == 2
    assert main(["gate", str(part), "--baseline", str(base)]) == gate.EXIT_REGRESSION
    assert "--only-run-cases" in capsys.readouterr().out
    assert main(["gate", str(part), "--baseline", str(base), "--only-run-cases"]) == gate.EXIT_OK
    assert "missing from this run, reported" in capsys.readouterr().out


def test_cases_a_time_budget_left_out_are_reported_the_others_still_fail():
    """--pk-time-budget skipped a case: the gate names it with the reason and does not fail on
    it; a case missing for any other reason still fails."""
    base = _run_of([_row("BI-2", "depth=2", {}), _row("BI-3", "depth=2", {}), _row("SZ-1", "precision=fp16", {})])
    part = _run_of([_row("BI-2", "depth=2", {})])
    excused = {"BI-3[depth=2]@cpu": "--pk-time-budget=60 s was spent before it started"}
    report = gate.gate(base, part, not_run=excused)
    assert [(f.kind, f.case) for f in report.regressions] == [("missing", "SZ-1[precision=fp16]@cpu")]
    [note] = [f for f in report.findings if not f.regression]
    assert note.case == "BI-3[depth=2]@cpu" and "--pk-time-budget=60 s was spent" in note.message
    assert "2 baseline case(s) missing from this run, 1 failed" in report.text()
    everything = {**excused, "SZ-1[precision=fp16]@cpu": excused["BI-3[depth=2]@cpu"]}
    assert gate.gate(base, part, not_run=everything).exit_code == gate.EXIT_OK


def _run_of(rows):
    return results.Results("run", this_machine(), {results.key(r): r for r in rows})


def _write(tmp_path, name, rows, machine=None):
    path, _ = ledger.write(rows, tmp_path, machine if machine is not None else this_machine(), name=name)
    return path


def test_cli_gate_exit_codes_and_a_run_against_itself(tmp_path, capsys):
    rows = [_row("BI-3", "depth=2", {}, "HOLDS", accuracies={"a": [97.0, 97.5]})]
    base = _write(tmp_path, "base", rows)
    assert main(["gate", str(base), "--baseline", str(base)]) == gate.EXIT_OK
    flipped = _write(tmp_path, "cur", [dict(rows[0], verdict="FAILS")])
    assert main(["gate", str(flipped), "--baseline", str(base)]) == gate.EXIT_REGRESSION
    assert "REGRESSION verdict  BI-3[depth=2]@cpu" in capsys.readouterr().out



def test_cli_gate_confirm_fails_only_a_slowdown_that_repeats(tmp_path, capsys):
    from precision_kit.timing import Timing

    def timed(seconds):
        return [_row("SZ-3", "fp16", {}, timing=Timing((seconds,) * 3, (0.01,) * 3, "test reference"))]

    base, slow = _write(tmp_path, "base", timed(0.010)), _write(tmp_path, "slow", timed(0.014))
    fast_again, slow_again = _write(tmp_path, "fast", timed(0.010)), _write(tmp_path, "again", timed(0.015))
    assert main(["gate", str(slow), "--baseline", str(base)]) == gate.EXIT_REGRESSION
    assert main(["gate", str(slow), "--baseline", str(base), "--confirm", str(fast_again)]) == gate.EXIT_OK
    assert "NOT confirmed" in capsys.readouterr().out
    assert main(["gate", str(slow), "--baseline", str(base), "--confirm", str(slow_again)]) == gate.EXIT_REGRESSION
    assert "confirmed, measured again" in capsys.readouterr().out
    assert main(["gate", str(slow), "--baseline", str(base), "--confirm", str(tmp_path / "none.json")]) == \
        gate.EXIT_INFRA

BAD_BASELINES = {
    "empty": ("", "is empty"),
    "truncated": ('{"schema": "precision_kit.ledger/2", "machine": {}, "rows": [{"cla', "not valid JSON"),
    "corrupt": ("\x00\x01 not json", "not valid JSON"),
    "nan": ('{"schema": "precision_kit.ledger/2", "machine": {}, "rows": [{"x": NaN}]}', "contains NaN"),
    "old-schema": ('{"schema": "precision_kit.ledger/1", "machine": {}, "rows": []}', "'precision_kit.ledger/1'"),
    "no-rows": ('{"schema": "precision_kit.ledger/3", "machine": {}, "rows": []}', "non-empty list"),
    "schema-2": ('{"schema": "precision_kit.ledger/2", "machine": {}, "rows": []}', "precision-kit migrate"),
    "untyped-row": (None, "expected 'accuracies' to be an object"),
    "bad-accuracy": (None, "per-seed percentages"),
    "bad-timing": (None, "timing.seconds"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BASELINES))
def test_an_unusable_baseline_is_an_infrastructure_error(tmp_path, capsys, kind):
    current = _write(tmp_path, "current", [_row("BI-3", "depth=2", {})])
    text, expected = BAD_BASELINES[kind]
    baseline = tmp_path / "baseline.json"
    if text is None:
        row = _row("BI-3", "depth=2", {})
        if kind == "bad-timing":
            row["timing"] = {"seconds": [0.1, None], "reference_seconds": [0.2, 0.2]}
        elif kind == "untyped-row":
            del row["accuracies"]
        else:
            row["accuracies"] = {"fp32": [97.1, 9710]}  # a count where a percentage belongs
        text = json.dumps({"schema": ledger.SCHEMA, "machine": {}, "rows": [row]})
    baseline.write_text(text)
    assert main(["gate", str(current), "--baseline", str(baseline)]) == gate.EXIT_INFRA
    assert expected in capsys.readouterr().err
    assert main(["gate", str(current), "--baseline", str(tmp_path / "missing.json")]) == gate.EXIT_INFRA


def test_a_baseline_from_another_machine_class_is_an_infrastructure_error(tmp_path, capsys):
    other = copy.deepcopy(this_machine())
    other["precision_kit"]["cpu_count"] = 128
    other["precision_kit"]["gpu"] = "NVIDIA H100 80GB HBM3"
    baseline = _write(tmp_path, "base", [_row("BI-3", "depth=2", {})], other)
    current = _write(tmp_path, "cur", [_row("BI-3", "depth=2", {})])
    assert main(["gate", str(current), "--baseline", str(baseline)]) == gate.EXIT_INFRA
    err = capsys.readouterr().err
    assert "another machine class" in err and "cpu_count: baseline 128" in err and "gpu: baseline 'NVIDIA" in err


def test_storing_a_baseline_never_overwrites_it_with_a_bad_run(tmp_path):
    good = _write(tmp_path, "run", [_row("BI-3", "depth=2", {})])
    target = tmp_path / "baselines" / "claims.json"
    assert main(["baseline", str(good), "--out", str(target)]) == 0
    stored = target.read_bytes()
    assert results.load(target).rows.keys() == {"BI-3[depth=2]@cpu"}
    broken = tmp_path / "broken.json"
    broken.write_text(good.read_text()[:100])
    assert main(["baseline", str(broken), "--out", str(target)]) == gate.EXIT_INFRA
    assert target.read_bytes() == stored
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_baseline_of_several_runs_keeps_their_between_run_noise(tmp_path, capsys):
    from precision_kit.timing import Timing

    def run(name, seconds):
        t = Timing((seconds,) * 5, (0.02,) * 5, "ref")
        return _write(tmp_path, name, [_row("SZ-1", "precision=fp64", {}, timing=t)])

    fast, slow = run("fast", 0.033), run("slow", 0.043)  # one unchanged case, two modes
    target = tmp_path / "baseline.json"
    assert main(["baseline", str(fast), str(slow), "--out", str(target)]) == 0
    [row] = results.load(target).rows.values()
    assert row["timing_envelope"] == pytest.approx([1.65, 2.15])
    # 0.043 s is +30% over the first run alone, but inside what the unchanged runs did
    assert main(["gate", str(slow), "--baseline", str(fast)]) == gate.EXIT_REGRESSION
    assert main(["gate", str(slow), "--baseline", str(target)]) == gate.EXIT_OK
    capsys.readouterr()
    assert main(["gate", str(run("slower", 0.06)), "--baseline", str(target)]) == gate.EXIT_REGRESSION
    assert "3× the reference vs at most 2.15× in 2 baseline run(s) (+40%" in capsys.readouterr().out


def test_a_baseline_extended_by_a_run_keeps_every_run_it_was_recorded_from(tmp_path):
    from precision_kit.timing import Timing

    def run(name, seconds, verdict="HOLDS"):
        timing = Timing((seconds,) * 3, (0.01,) * 3, "test reference")
        return _write(tmp_path, name, [_row("BI-3", "depth=8", {}, verdict, timing=timing)])

    first = tmp_path / "b1" / "claims.json"
    assert main(["baseline", str(run("a", 0.010)), str(run("b", 0.011)), "--out", str(first)]) == 0
    extended = tmp_path / "b2" / "claims.json"
    assert main(["baseline", str(first), str(run("c", 0.013, "FAILS")), "--out", str(extended)]) == 0
    (row,) = results.load(extended).rows.values()
    assert row["timing_envelope"] == pytest.approx([1.0, 1.1, 1.3])
    assert row["verdicts_seen"] == ["HOLDS", "HOLDS", "FAILS"]
    slow = results.load(run("d", 0.0145))  # +32% over the 2-run envelope, +12% over the 3-run one
    assert gate.gate(results.load(first), slow).exit_code == gate.EXIT_REGRESSION
    assert gate.gate(results.load(extended), slow).exit_code == gate.EXIT_OK

