"""Reference-normalized timings, the side-by-side comparison of two runs, and the pytest
`--pk-gate` option refusing an unusable baseline before any case runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from precision_kit import compare, ledger, results
from precision_kit.machine import this_machine
from precision_kit.timing import AlternatingTimer, Timing, measure

ROOT = Path(__file__).resolve().parent.parent


def test_measure_alternates_case_and_reference_rounds():
    calls = []

    def reference():
        calls.append("ref")

    t = measure(lambda: calls.append("case"), rounds=3, warmup=1, reference=reference)
    assert calls == ["ref", "case"] * 4
    assert len(t.seconds) == len(t.reference_seconds) == 3
    assert t.normalized == sorted(s / r for s, r in zip(t.seconds, t.reference_seconds, strict=True))[1]
    assert Timing.from_dict(t.to_dict()) == t


def test_the_default_reference_is_a_real_gemm():
    a, b = torch.rand(128, 128), torch.rand(128, 128)
    t = measure(lambda: a @ b, rounds=2, warmup=0)
    assert t.reference.startswith("20 × fp32 GEMM 512³ on cpu")
    assert all(r > 0 for r in t.reference_seconds) and t.spread >= 0


def test_timing_rejects_unpaired_or_empty_rounds():
    with pytest.raises(ValueError, match="one reference time per round"):
        Timing((0.1, 0.2), (0.1,), "ref")
    with pytest.raises(ValueError, match="rounds must be"):
        measure(lambda: None, rounds=0)
    timer = AlternatingTimer("cpu", reference=lambda: None)
    timer.wrap(lambda: None)()
    with pytest.raises(RuntimeError, match="unpaired rounds"):
        timer.result()


def _row(case: str, device: str, seconds: float, verdict: str = "HOLDS") -> dict:
    timing = Timing((seconds,) * 3, (0.02,) * 3, "ref").to_dict()
    info = {"claim": "SZ-2", "source": "001", "statement": "s", "case": case, "verdict": verdict,
            "line": "l", "note": "", "figures": {}, "params": {}, "accuracies": {"fp32": [97.0, 97.2]}, "sizes": {}}
    return ledger.row(info, device, "quick", timing)


def _results(rows):
    return results.Results("x", this_machine(), {results.key(r): r for r in rows})


def test_compare_matches_a_cpu_run_with_a_cuda_run_by_case():
    cpu = _results([_row("precision=fp16", "cpu", 1.0), _row("precision=bf16", "cpu", 0.5)])
    gpu = _results([_row("precision=fp16", "cuda", 0.01, "FAILS"), _row("precision=tf32", "cuda", 0.01)])
    text = compare.table(cpu, gpu)
    line = next(x for x in text.splitlines() if x.startswith("SZ-2[precision=fp16]"))
    assert "cpu" in line and "cuda" in line and "0.01" in line and "FAILS (changed)" in line and "97.10" in line
    assert "only in A: SZ-2[precision=bf16]" in text and "only in B: SZ-2[precision=tf32]" in text
    # the GPU as A, 100 times as fast: a bigger number means A is faster
    line = next(x for x in compare.table(gpu, cpu).splitlines() if x.startswith("SZ-2[precision=fp16]"))
    assert "100.00" in line and "A faster ×" in compare.table(gpu, cpu)


def test_a_faster_is_b_time_over_a_time():
    assert compare.speedup_of_a(1.0, 12.0) == 12.0  # A takes a twelfth of B's time: 12× faster
    assert compare.speedup_of_a(12.0, 1.0) == pytest.approx(1 / 12)


def test_compare_matches_by_device_when_a_run_holds_several():
    a = _results([_row("c", "cpu", 1.0), _row("c", "cuda", 0.1)])
    b = _results([_row("c", "cpu", 2.0), _row("c", "cuda", 0.1)])
    matched, only_a, only_b = compare.pairs(a, b)
    assert [(x["device"], y["device"]) for x, y in matched] == [("cpu", "cpu"), ("cuda", "cuda")]
    assert not only_a and not only_b


@pytest.mark.parametrize("content", ["", "{not json", '{"schema": "precision_kit.ledger/1", "rows": []}'])
def test_pytest_gate_option_stops_before_any_case_on_an_unusable_baseline(tmp_path, content):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/", "--collect-only", "-q", "-p", "no:cacheprovider",
         f"--pk-gate={baseline}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "--pk-gate: infrastructure error" in proc.stderr and str(baseline) in proc.stderr
    assert baseline.read_text() == content  # never touched
