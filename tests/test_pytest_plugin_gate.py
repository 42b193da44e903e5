"""precision_kit's pytest plugin and the gate, in a suite of its own (pytester): the expected
verdicts and the gate set the exit code, and a timing regression fails only when a fresh
process measures it again."""

from __future__ import annotations

import json

import pytest
from plugin_suite import ledgers, readme_example, run

from precision_kit import cli, gate, ledger, results

pytest_plugins = ["pytester"]
# the same worker as test_pytest_plugin.py (`make test` passes --dist loadgroup)
pytestmark = pytest.mark.xdist_group("pytest-plugin")


def test_expected_verdicts_and_the_gate_set_the_exit_code(suite):
    suite.makepyfile(test_my_claims=readme_example())
    assert run(suite).ret == 0
    (first,) = ledgers(suite)
    baseline = suite.path / "baseline" / "claims.json"
    assert cli.main(["baseline", str(first), "--out", str(baseline)]) == 0

    out = run(suite, f"--pk-gate={baseline}")
    assert out.ret == 0, out.stdout.str()
    out.stdout.fnmatch_lines(["*regression gate (--pk-gate)*"])

    expected = suite.path / "expected.json"
    expected.write_text(json.dumps({"quick": {"cpu": {"MY-1[margin=1.0]": "FAILS"}}}))
    out = run(suite, f"--pk-expected={expected}")
    assert out.ret == pytest.ExitCode.TESTS_FAILED
    out.stdout.fnmatch_lines(["*1 verdict(s) differ from expected.json*",
                              "*MY-1?margin=1.0? on cpu (quick): expected FAILS, measured HOLDS*"])

    stored = results.load(baseline)
    (row,) = stored.rows.values()
    ledger.write([{**row, "verdict": "FAILS"}], baseline.parent, stored.machine, name="tampered")
    out = run(suite, f"--pk-gate={baseline.parent / 'tampered.json'}")
    assert out.ret == gate.EXIT_REGRESSION, out.stdout.str()

    out = run(suite, f"--pk-gate={suite.path / 'no-such-baseline.json'}")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--pk-gate: infrastructure error*"])


# A timed case whose work is chosen by the environment: REPS products of 256×256 matrices
# (fast), 5 × REPS (slow) in every session, or slow only in the first session (a marker file
# tells the later ones). Matrix products, not sleeps: the gate's times are in units of the
# reference GEMM, which a busy machine slows as it slows these.
SLOW_CASE = '''
import os
from pathlib import Path

import torch
from precision_kit.claims import ClaimResult, claim


@claim("TM-1", source="plugin test", section="timing", statement="a timed case", test="none")
def timed_case(ctx):
    mode, marker = os.environ["PK_TEST_SLOW"], Path(os.environ["PK_TEST_MARKER"])
    slow = mode == "always" or (mode == "first" and not marker.exists())
    marker.touch()
    reps = int(os.environ["PK_TEST_REPS"]) * (5 if slow else 1)
    x = torch.randn(256, 256, generator=torch.Generator().manual_seed(0)) / 16

    def work():
        y = x
        for _ in range(reps):
            y = y @ x
        return y

    return ClaimResult("TM-1", "a", "HOLDS", "timed", timed=work)


def test_timed(judge):
    judge("TM-1", "cpu")
'''


def _reps_for(seconds: float) -> int:
    """How many 256×256 products take `seconds` on one thread of this machine (measured here:
    a fixed count would fall under the gate's 5 ms floor on a fast CPU)."""
    import time

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.randn(256, 256) / 16
        start = time.perf_counter()
        for _ in range(50):
            x @ x
        per = (time.perf_counter() - start) / 50
    finally:
        torch.set_num_threads(threads)
    return max(1, round(seconds / per))


def test_a_timing_regression_fails_only_when_a_fresh_process_measures_it_again(suite, monkeypatch):
    """The gate's slowdown is held to a second measurement in a fresh process: slower only in
    the first session, it is reported as not confirmed and the session passes; slower in
    both, it fails; with --pk-no-confirm it fails at once. One torch thread, so that the
    other test worker's load spreads the rounds little (the gate widens its tolerance by it)."""
    suite.makepyfile(test_slow_case=SLOW_CASE)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PK_TEST_REPS", str(_reps_for(0.015)))
    monkeypatch.setenv("PK_TEST_MARKER", str(suite.path / "marker"))
    monkeypatch.setenv("PK_TEST_SLOW", "never")
    assert run(suite).ret == 0
    assert run(suite).ret == 0
    baseline = suite.path / "baseline" / "claims.json"
    assert cli.main(["baseline", *map(str, ledgers(suite)), "--out", str(baseline)]) == 0

    (suite.path / "marker").unlink()
    monkeypatch.setenv("PK_TEST_SLOW", "first")
    out = run(suite, f"--pk-gate={baseline}")
    assert out.ret == 0, out.stdout.str()[-3000:]
    out.stdout.fnmatch_lines(["*measuring 1 case(s) again in a fresh process*", "*no regression*",
                              "*note*timing*TM-1?a?@cpu: slower*NOT confirmed, measured again*"])

    monkeypatch.setenv("PK_TEST_SLOW", "always")
    out = run(suite, f"--pk-gate={baseline}")
    assert out.ret == gate.EXIT_REGRESSION, out.stdout.str()[-3000:]
    out.stdout.fnmatch_lines(["*1 REGRESSION(S)*", "*REGRESSION timing*TM-1?a?@cpu: slower*confirmed, measured again*"])

    out = run(suite, f"--pk-gate={baseline}", "--pk-no-confirm")
    assert out.ret == gate.EXIT_REGRESSION
    assert "fresh process" not in out.stdout.str()


def test_a_time_budget_skips_the_cases_after_it_and_the_gate_reports_them(suite):
    """--pk-time-budget: no case starts once the budget is spent (0 s: none starts); each is
    skipped with the reason, and the gate (which now runs though nothing was judged) reports it
    as not judged instead of failing on it. A bad budget is a usage error."""
    suite.makepyfile(test_my_claims=readme_example())
    assert run(suite).ret == 0
    (first,) = ledgers(suite)
    baseline = suite.path / "baseline" / "claims.json"
    assert cli.main(["baseline", str(first), "--out", str(baseline)]) == 0

    out = run(suite, f"--pk-gate={baseline}", "--pk-time-budget=0", "-rs")
    assert out.ret == 0, out.stdout.str()[-3000:]
    out.stdout.fnmatch_lines(["*regression gate (--pk-gate)*", "*1 baseline case(s) missing from this run, reported*",
                              "*note*missing*MY-1?margin=1.0?@cpu: *not judged in this run: --pk-time-budget=0 s*",
                              "*SKIPPED*--pk-time-budget=0 s was spent*before this case started*"])
    assert len(ledgers(suite)) == 1  # nothing judged, no ledger written

    out = run(suite, "--pk-time-budget=-1")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--pk-time-budget=-1: expected a number of seconds ≥ 0*"])
