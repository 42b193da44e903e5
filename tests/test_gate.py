"""The regression gate: real measurements made slower, less accurate or bigger on purpose
make it fail with the case and the figures; verdicts and speed claims across CPU models.
The gate on stored files (CLI, unusable baselines, several-run baselines): test_gate_files.py."""

from __future__ import annotations

import copy
import math
from dataclasses import asdict

import pytest
import torch
from gate_rows import row as _row
from gate_rows import run as _run
from synthetic import synthetic_dataset

from precision_kit import gate, ledger, results
from precision_kit.machine import this_machine
from precision_kit.models import mlp
from precision_kit.quantize import quantize_int8
from precision_kit.size import model_size
from precision_kit.timing import measure
from precision_kit.train import TrainConfig, train

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=1024, n_test=500)


def _train_step_timing(data, epochs: int, on_step=None):
    config = TrainConfig(epochs=epochs, batch_size=128, evaluation="none")
    return measure(lambda: train(mlp(1, 32, seed=0), data, config, on_step=on_step), rounds=3, warmup=1)


def burn(n: int):
    """A deliberate slowdown passed to `train`: n extra 784×784 products after every step."""
    w = torch.full((784, 784), 1e-3)
    x = torch.rand(128, 784, generator=torch.Generator().manual_seed(0))

    def on_step(step, optimizer):
        y = x
        for _ in range(n):
            y = (y @ w).clamp_(-1, 1)

    return on_step


def _timed_above_the_floor(data):
    """The base case's timing, with as many epochs per call as put it at ≥ 3× the gate's
    5 ms floor on this machine (one epoch takes 3–5 ms on an AMD EPYC, ~8 ms on the Intel
    Xeon: a fixed size would be "too short to gate" on a fast CPU). Sized from measurements
    made here, doubling the epochs until the median is there."""
    epochs = 1
    for _ in range(8):
        timing = _train_step_timing(data, epochs)
        if timing.median_seconds >= 3 * gate.MIN_GATED_SECONDS:
            return epochs, timing
        epochs = max(2 * epochs, math.ceil(3 * gate.MIN_GATED_SECONDS / timing.median_seconds * epochs))
    raise AssertionError(f"{epochs} epochs still took {timing.median_seconds * 1e3:.3g} ms a call")


@pytest.fixture
def one_thread():
    """Time on one thread: beside another busy process (the other xdist worker), two torch
    threads stall at every barrier and the per-round ratios spread by up to 6× (measured
    on a 2-core AMD EPYC), which rightly widens the gate's tolerance past the slowdown; on
    one thread the spread stayed under 0.8."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_an_injected_slowdown_fails_the_gate_naming_case_and_figures(data, one_thread):
    epochs, timing = _timed_above_the_floor(data)
    base = _run([_row("BI-5", "depth=1", {}, timing=timing)], "base")
    # 8 extra 784×784 products per step: tens of times slower
    slow = _run([_row("BI-5", "depth=1", {}, timing=_train_step_timing(data, epochs, burn(8)))], "slow")
    report = gate.gate(base, slow)
    assert report.exit_code == gate.EXIT_REGRESSION, (timing, slow.rows)
    [finding] = report.regressions
    assert finding.kind == "timing" and finding.case == "BI-5[depth=1]@cpu"
    assert "slower" in finding.message and "× the reference" in finding.message and "tolerance" in finding.message


def test_timings_from_another_cpu_model_are_reported_not_gated():
    """An AMD EPYC's bfloat16 timings cannot gate an Intel Xeon of the same machine class:
    the same 3× slowdown that fails against its own CPU model is only reported."""
    from precision_kit.timing import Timing

    fast = Timing((0.010, 0.010, 0.010), (0.010, 0.010, 0.010), "test reference")
    slow = Timing((0.030, 0.030, 0.030), (0.010, 0.010, 0.010), "test reference")
    base = _run([_row("SZ-2", "bf16", {}, timing=fast)], "base")
    cur = _run([_row("SZ-2", "bf16", {}, timing=slow)], "cur")
    assert gate.gate(base, cur).exit_code == gate.EXIT_REGRESSION
    other = copy.deepcopy(base.machine)
    other["precision_kit"]["cpu_model"] = "Another CPU @ 9 GHz"
    report = gate.gate(results.Results("base", other, base.rows), cur)
    assert report.exit_code == gate.EXIT_OK
    assert any(f.case == "*" and "not gated" in f.message for f in report.findings)
    assert any(f.kind == "timing" and "slower" in f.message and not f.regression for f in report.findings)


def _accuracies(data, lr: float) -> list[float]:
    out = []
    for seed in SEEDS:
        result = train(mlp(1, 32, seed=seed), data, TrainConfig(epochs=2, batch_size=64, lr=lr, seed=seed))
        out.append(result.test_accuracy)
    return out


def test_a_deliberate_accuracy_loss_fails_the_gate(data):
    good = _accuracies(data, lr=1e-3)
    worse = _accuracies(data, lr=1e-5)  # the deliberate regression: a learning rate 100× too small
    assert min(good) > max(worse)  # the premise: the change really hurts
    report = gate.gate(
        _run([_row("SZ-1", "precision=fp32", {"train_accuracy": good}, accuracies={"fp32": good})], "base"),
        _run([_row("SZ-1", "precision=fp32", {"train_accuracy": worse}, accuracies={"fp32": worse})], "worse"),
    )
    [finding] = report.regressions
    assert finding.kind == "accuracy" and finding.case == "SZ-1[precision=fp32]@cpu"
    assert "fp32 dropped" in finding.message and "3 paired seeds" in finding.message


def test_the_gate_reads_typed_accuracies_not_figure_names():
    """A list named like an accuracy among the figures is not gated: only the typed field is."""
    good, worse = [97.0, 97.2, 97.1], [90.0, 90.2, 90.1]
    report = gate.gate(_run([_row("X-1", "c", {"fp32_accuracy": good})], "a"),
                       _run([_row("X-1", "c", {"fp32_accuracy": worse})], "b"))
    assert report.exit_code == gate.EXIT_OK
    report = gate.gate(_run([_row("X-1", "c", {}, accuracies={"fp32": good, "gone": good})], "a"),
                       _run([_row("X-1", "c", {}, accuracies={"fp32": worse})], "b"))
    assert [f.kind for f in report.regressions] == ["accuracy"]
    assert any("'gone' is in the baseline" in f.message and not f.regression for f in report.findings)


def test_seeds_pair_by_index_and_a_newly_diverged_seed_is_a_regression():
    base = [97.0, 97.2, 97.1, 97.3, 97.0]
    escalated = base + [97.1, 97.2, 97.0, 97.1, 97.3]  # the same 5 seeds, then 5 more (seed stage 2)
    report = gate.gate(_run([_row("X-1", "c", {}, accuracies={"a": base})], "a"),
                       _run([_row("X-1", "c", {}, accuracies={"a": escalated})], "b"))
    assert report.exit_code == gate.EXIT_OK and any("first 5 compared" in f.message for f in report.findings)
    diverged = [97.0, None, 97.1, 97.3, 97.0]
    report = gate.gate(_run([_row("X-1", "c", {}, accuracies={"a": base})], "a"),
                       _run([_row("X-1", "c", {}, accuracies={"a": diverged})], "b"))
    assert any("seed(s) [1] diverged" in f.message for f in report.regressions)


def test_seed_noise_alone_is_not_an_accuracy_regression():
    base = [97.1, 97.4, 96.9, 97.2, 97.0]
    cur = [97.3, 97.0, 97.1, 96.9, 97.2]  # other seeds' worth of noise, no consistent drop
    report = gate.gate(
        _run([_row("X-1", "c", {}, accuracies={"a": base})], "a"),
        _run([_row("X-1", "c", {}, accuracies={"a": cur})], "b"),
    )
    assert report.exit_code == gate.EXIT_OK


def test_a_bigger_quantized_model_fails_the_gate():
    model = mlp(2, 64, seed=0)
    small = asdict(model_size(quantize_int8(model, "torch.ao")))
    # the deliberate regression: the last Linear left in float32 (quantized only up to it)
    partly = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {"1", "3"}, dtype=torch.qint8)
    bigger = asdict(model_size(partly))
    report = gate.gate(
        _run([_row("BI-2", "depth=2", {}, sizes={"int8_serialized": small["serialized_bytes"]})], "base"),
        _run([_row("BI-2", "depth=2", {}, sizes={"int8_serialized": bigger["serialized_bytes"]})], "big"),
    )
    assert report.regressions and {f.kind for f in report.regressions} == {"size"}
    assert any("int8_serialized bigger" in f.message for f in report.regressions)
    # a size among the figures (not typed) is not gated
    report = gate.gate(_run([_row("BI-2", "depth=2", {"int8": small})], "base"),
                       _run([_row("BI-2", "depth=2", {"int8": bigger})], "big"))
    assert report.exit_code == gate.EXIT_OK


def test_a_flipped_verdict_fails_the_gate_and_added_cases_are_reported():
    base = _run([_row("BI-3", "depth=2", {}, "HOLDS")], "base")
    cur = _run([_row("BI-3", "depth=2", {}, "FAILS"), _row("NEW-1", "c", {})], "cur")
    report = gate.gate(base, cur)
    [finding] = report.regressions
    assert finding.kind == "verdict" and "HOLDS → FAILS" in finding.message
    assert {(f.kind, f.case) for f in report.findings if not f.regression} == {("added", "NEW-1[c]@cpu")}


def test_a_speed_claims_verdict_is_gated_only_on_its_own_cpu_model():
    base_row = dict(_row("BI-7", "batch_size=64-torch.ao", {}, verdict="HOLDS"), speed_claim=True)
    cur_row = dict(_row("BI-7", "batch_size=64-torch.ao", {}, verdict="FAILS"), speed_claim=True)
    base, cur = _run([base_row], "base"), _run([cur_row], "cur")
    assert gate.gate(base, cur).exit_code == gate.EXIT_REGRESSION  # same CPU model: a regression
    other = copy.deepcopy(base.machine)
    other["precision_kit"]["cpu_model"] = "Another CPU @ 9 GHz"
    report = gate.gate(results.Results("base", other, base.rows), cur)
    assert report.exit_code == gate.EXIT_OK
    [finding] = [f for f in report.findings if f.kind == "verdict"]
    assert "not gated" in finding.message and not finding.regression
    # on its own CPU model a speed ratio drifting in or out of INCONCLUSIVE is reported
    near = _run([dict(_row("BI-7", "batch_size=64-torch.ao", {}, verdict="INCONCLUSIVE"), speed_claim=True)], "near")
    assert gate.gate(base, near).exit_code == gate.EXIT_OK
    # an accuracy claim's verdict change fails against any CPU model of the class
    acc = _run([_row("SZ-1", "fp16", {}, verdict="HOLDS")], "b"), _run([_row("SZ-1", "fp16", {}, verdict="FAILS")], "c")
    assert gate.gate(results.Results("b", other, acc[0].rows), acc[1]).exit_code == gate.EXIT_REGRESSION


def test_a_speed_claim_is_held_to_the_verdicts_the_baselines_unchanged_runs_reached():
    def row(verdict, seen=None):
        r = dict(_row("BI-7", "batch=10000-torchao-weight-only", {}, verdict=verdict), speed_claim=True)
        return {**r, "verdicts_seen": seen} if seen else r

    fails = _run([row("FAILS")], "cur")
    # the unchanged runs reached HOLDS, INCONCLUSIVE and HOLDS: the ratio sits at its target, FAILS is reported
    report = gate.gate(_run([row("HOLDS", ["HOLDS", "INCONCLUSIVE", "HOLDS"])], "base"), fails)
    assert report.exit_code == gate.EXIT_OK and "reported" in report.findings[0].message
    # one unchanged run reached FAILS itself: reported
    assert gate.gate(_run([row("HOLDS", ["HOLDS", "FAILS", "HOLDS"])], "base"), fails).exit_code == gate.EXIT_OK
    # every unchanged run held: FAILS is a regression
    assert gate.gate(_run([row("HOLDS", ["HOLDS", "HOLDS", "HOLDS"])], "base"), fails).exit_code == gate.EXIT_REGRESSION


def test_a_baseline_of_several_runs_records_the_verdicts_each_reached(tmp_path):
    from precision_kit.cli import main

    paths = []
    for i, verdict in enumerate(("HOLDS", "INCONCLUSIVE", "HOLDS")):
        r = dict(_row("BI-7", "c", {}, verdict=verdict), speed_claim=True)
        paths.append(ledger.write([r], tmp_path / str(i), this_machine(), name="run")[0])
    out = tmp_path / "base" / "claims.json"
    assert main(["baseline", *map(str, paths), "--out", str(out)]) == 0
    [row] = results.load(out).rows.values()
    assert row["verdicts_seen"] == ["HOLDS", "INCONCLUSIVE", "HOLDS"] and row["verdict"] == "HOLDS"


def test_speed_claims_get_no_expected_verdict():
    rows = [dict(_row("EN-1", "batch_size=1", {}, verdict="FAILS"), speed_claim=True),
            _row("SZ-1", "fp16", {}, verdict="HOLDS")]
    assert ledger.expected_verdicts(rows) == {"quick": {"cpu": {"SZ-1[fp16]": "HOLDS"}}}
    stale = {"quick": {"cpu": {"EN-1[batch_size=1]": "HOLDS", "SZ-1[fp16]": "FAILS"}}}  # an older file's
    assert ledger.expected_verdicts(rows, stale) == {"quick": {"cpu": {"SZ-1[fp16]": "HOLDS"}}}


def test_a_run_is_held_to_its_expected_verdicts_except_a_speed_claims():
    """An accuracy claim that moved from the expected FAILS is a change; a speed claim is not
    held to an expected verdict an older file still has (SZ-2 bf16 measured FAILS on a Zen 5
    EPYC and INCONCLUSIVE on a Zen 4): it is named in a note, and the gate judges it."""
    from precision_kit.plugin.expected import compare

    expected = {"quick": {"cpu": {"SZ-2[bf16]": "FAILS", "SZ-1[fp16]": "FAILS", "SZ-5[d=3]": "INCONCLUSIVE"}}}
    rows = [dict(_row("SZ-2", "bf16", {}, verdict="INCONCLUSIVE"), speed_claim=True),
            _row("SZ-1", "fp16", {}, verdict="HOLDS"),
            _row("SZ-5", "d=3", {}, verdict="HOLDS"),
            _row("SZ-6", "b=0.5", {}, verdict="FAILS")]
    changed, notes = compare(expected, "quick", rows, "expected.json")
    assert changed == ["SZ-1[fp16] on cpu (quick): expected FAILS, measured HOLDS: SZ-1 line"]
    assert any(n.startswith("SZ-2[bf16] on cpu: a speed claim") and "ignored" in n for n in notes)
    assert any(n.startswith("SZ-5[d=3] on cpu: firmer than expected") for n in notes)
    assert any(n == "SZ-6[b=0.5] on cpu: no expected verdict recorded in expected.json" for n in notes)


def test_on_another_cpu_model_only_a_firm_flip_of_an_accuracy_verdict_fails():
    base = _run([_row("CH-4", "depth=3", {}, verdict="INCONCLUSIVE"), _row("SZ-10", "d=1", {}, verdict="HOLDS")], "b")
    other = copy.deepcopy(base.machine)
    other["precision_kit"]["cpu_model"] = "Another CPU @ 9 GHz"
    moved = _run([_row("CH-4", "depth=3", {}, verdict="HOLDS"), _row("SZ-10", "d=1", {}, verdict="HOLDS")], "c")
    assert gate.gate(results.Results("b", other, base.rows), moved).exit_code == gate.EXIT_OK
    assert gate.gate(base, moved).exit_code == gate.EXIT_REGRESSION  # the same CPU model: exact
    flipped = _run([_row("CH-4", "depth=3", {}, verdict="INCONCLUSIVE"),
                    _row("SZ-10", "d=1", {}, verdict="FAILS")], "f")
    assert gate.gate(results.Results("b", other, base.rows), flipped).exit_code == gate.EXIT_REGRESSION
