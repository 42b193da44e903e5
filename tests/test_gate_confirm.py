"""A timing regression must repeat (`gate_confirm.confirm`): a slowdown measured again within
the tolerance is reported, not failed; slower again, or not measured again, it fails; the
gate's other findings pass through untouched."""

from __future__ import annotations

from gate_rows import row, run

from precision_kit import gate, gate_confirm
from precision_kit.timing import Timing

REF = (0.010, 0.010, 0.010)


def _timed(seconds: float) -> Timing:
    return Timing((seconds,) * 3, REF, "test reference")


def _runs(first: float, again: float | None):
    base = run([row("SZ-3", "fp16", {}, timing=_timed(0.010)), row("SZ-1", "fp16", {})], "base")
    cur = run([row("SZ-3", "fp16", {}, timing=_timed(first)), row("SZ-1", "fp16", {})], "cur")
    second = run([] if again is None else [row("SZ-3", "fp16", {}, timing=_timed(again))], "again")
    return base, cur, second


def test_a_slowdown_measured_again_within_tolerance_is_reported_not_failed():
    base, cur, again = _runs(0.014, 0.0105)
    first = gate.gate(base, cur)
    assert first.exit_code == gate.EXIT_REGRESSION
    report = gate_confirm.confirm(first, base, again)
    assert report.exit_code == gate.EXIT_OK
    [finding] = [f for f in report.findings if f.case == "SZ-3[fp16]@cpu"]
    assert not finding.regression
    assert "NOT confirmed" in finding.message and "within the tolerance" in finding.message
    assert "+40%" in finding.message and "+5%" in finding.message  # both measurements' figures


def test_a_slowdown_measured_again_as_slow_fails():
    base, cur, again = _runs(0.014, 0.015)
    report = gate_confirm.confirm(gate.gate(base, cur), base, again)
    assert report.exit_code == gate.EXIT_REGRESSION
    [finding] = report.regressions
    assert finding.kind == "timing" and "confirmed, measured again" in finding.message and "+50%" in finding.message


def test_a_case_the_second_run_did_not_time_stays_a_regression():
    base, cur, again = _runs(0.014, None)
    report = gate_confirm.confirm(gate.gate(base, cur), base, again)
    assert report.exit_code == gate.EXIT_REGRESSION
    assert "not measured again" in report.regressions[0].message


def test_other_regressions_are_not_touched_by_a_fast_second_run():
    base, cur, again = _runs(0.010, 0.010)
    flipped = run([row("SZ-3", "fp16", {}, timing=_timed(0.014)), row("SZ-1", "fp16", {}, verdict="FAILS")], "cur")
    report = gate_confirm.confirm(gate.gate(base, flipped), base, again)
    assert [f.kind for f in report.regressions] == ["verdict"]
