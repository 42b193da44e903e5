"""BI-7 (source 000: int8 vs fp32 CPU inference time, `claims.int8_speed`) and SZ-10 (source
001: distinct values of the weights rounded to 1 decimal, `claims.rounding_values`).

(a) The verdict logic on numbers made to contradict or support each claim: every judged
part can FAIL, can HOLD, and BI-7 can be INCONCLUSIVE. (b) The judges end to end on a small
synthetic MNIST (trained for real, a model cache of the test's own), returning well-formed
results. No assertion reads a wall-clock value."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
from synthetic import synthetic_dataset, train_on

from precision_kit import experiment
from precision_kit.claims import REGISTRY, int8_speed, parameter_precision_setup, rounding_claims, rounding_values
from precision_kit.claims.base import ClaimResult, Context
from precision_kit.claims.depth_precision import depth_arm
from precision_kit.errors import UnsupportedError
from precision_kit.quantize import INT8_BACKENDS, round_weights
from precision_kit.stats import StatsInputError
from precision_kit.verdicts import Verdict

pytestmark = pytest.mark.cpu


def test_both_claims_are_registered():
    assert {"BI-7", "SZ-10"} <= set(REGISTRY)
    assert REGISTRY["BI-7"].source.startswith("000_") and REGISTRY["SZ-10"].source.startswith("001_")


# ---------------------------------------------------------------- BI-7 verdict logic

FP32 = [1.00, 1.02, 0.98, 1.01, 0.99]


def test_int8_slower_in_every_round_fails():
    j = int8_speed.speed_judgement([2.0, 2.1, 1.9, 2.05, 2.0], FP32)
    assert j.verdict == Verdict.FAILS
    assert 1.0 < j.low <= j.ratio <= j.high and j.ratio == pytest.approx(2.0, rel=0.05)
    assert j.n == 5 and j.line().endswith("→ FAILS")


def test_int8_faster_in_every_round_holds():
    j = int8_speed.speed_judgement([0.50, 0.52, 0.49, 0.51, 0.50], FP32)
    assert j.verdict == Verdict.HOLDS
    assert j.low <= j.ratio <= j.high < 1.0 and j.ratio == pytest.approx(0.5, rel=0.05)


def test_int8_sometimes_faster_sometimes_slower_is_inconclusive():
    j = int8_speed.speed_judgement([0.8, 1.25, 0.9, 1.15, 1.0], FP32)
    assert j.verdict == Verdict.INCONCLUSIVE
    assert j.low < 1.0 < j.high


def test_a_small_but_consistent_speed_up_holds_and_a_noisy_large_one_does_not():
    assert int8_speed.speed_judgement([0.97, 0.99, 0.95, 0.98, 0.96], FP32).verdict == Verdict.HOLDS
    assert int8_speed.speed_judgement([0.2, 1.6, 0.3, 1.4, 0.5], FP32).verdict == Verdict.INCONCLUSIVE


def test_ratio_is_the_geometric_mean_of_the_per_round_ratios():
    j = int8_speed.speed_judgement([2.0, 0.5], [1.0, 1.0])
    assert j.ratio == pytest.approx(1.0) and j.verdict == Verdict.INCONCLUSIVE
    assert int8_speed.log_ratios([2.0, 0.5], [1.0, 1.0]) == pytest.approx([math.log(2), -math.log(2)])


def test_speed_judgement_rejects_unusable_rounds():
    with pytest.raises(ValueError, match="pair up"):
        int8_speed.speed_judgement([1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="positive finite"):
        int8_speed.speed_judgement([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive finite"):
        int8_speed.speed_judgement([1.0, math.nan], [1.0, 1.0])
    with pytest.raises(StatsInputError):
        int8_speed.speed_judgement([1.0], [1.0])


def test_fastest_backend_has_the_smallest_ratio():
    js = {"a": int8_speed.speed_judgement([0.9, 0.91], [1.0, 1.0]),
          "b": int8_speed.speed_judgement([0.4, 0.41], [1.0, 1.0]),
          "c": int8_speed.speed_judgement([1.9, 2.0], [1.0, 1.0])}
    assert int8_speed.fastest(js) == "b"
    with pytest.raises(ValueError, match="no int8 backend"):
        int8_speed.fastest({})


def test_judgement_is_json_safe():
    doc = int8_speed.speed_judgement([0.5, 0.6], [1.0, 1.0]).to_dict()
    assert json.loads(json.dumps(doc))["verdict"] == "HOLDS"


# ---------------------------------------------------------------- BI-7 timing protocol


def test_batches_have_the_asked_size_and_count_and_wrap_around():
    images = torch.arange(10.0).reshape(10, 1, 1, 1)
    batches = int8_speed.make_batches(images, 4, 5)
    assert [b.shape[0] for b in batches] == [4] * 5
    assert [int(b[0]) for b in batches] == [0, 4, 1, 5, 2]  # starts wrap inside 0 … 6
    [whole] = int8_speed.make_batches(images, 10, 1)
    assert torch.equal(whole, images)
    with pytest.raises(ValueError, match="batch_size=11 needs at least"):
        int8_speed.make_batches(images, 11, 1)


def test_warmup_is_untimed_and_the_order_of_the_arms_rotates():
    calls = []

    def model(name):
        return lambda x: calls.append(name)

    models = {"fp32": model("fp32"), "a": model("a"), "b": model("b")}
    seconds = int8_speed.alternating_latency(models, [torch.zeros(1)] * 2, rounds=3, warmup=1)
    rounds = [calls[i:i + 6:2] for i in range(0, len(calls), 6)]  # one name per round and arm
    assert rounds == [["fp32", "a", "b"], ["a", "b", "fp32"], ["b", "fp32", "a"], ["fp32", "a", "b"]]
    assert len(calls) == 4 * 3 * 2  # (1 warm-up + 3) rounds × 3 arms × 2 batches
    assert {name: len(s) for name, s in seconds.items()} == {"fp32": 3, "a": 3, "b": 3}


@pytest.mark.parametrize(("rounds", "warmup"), [(0, 1), (2, -1)])
def test_alternating_latency_rejects_bad_round_counts(rounds, warmup):
    with pytest.raises(ValueError, match="rounds ≥ 1 and warmup ≥ 0"):
        int8_speed.alternating_latency({"fp32": lambda x: x}, [torch.zeros(1)], rounds, warmup)


# ---------------------------------------------------------------- SZ-10 verdict logic


def test_25_distinct_values_at_one_decimal_fails():
    state = {"0.weight": torch.arange(-12, 13, dtype=torch.float32).reshape(5, 5) / 10, "0.bias": torch.zeros(5)}
    assert rounding_values.distinct_rounded(state, 1) == 25
    assert rounding_values.distinct_verdict([11, rounding_values.distinct_rounded(state, 1)]) == Verdict.FAILS


def test_at_most_19_distinct_values_in_every_seed_holds():
    assert rounding_values.distinct_verdict([11, 19, 13]) == Verdict.HOLDS
    assert rounding_values.distinct_verdict([20]) == Verdict.FAILS
    with pytest.raises(ValueError, match="at least one model"):
        rounding_values.distinct_verdict([])


def test_distinct_count_merges_signed_zeros_spans_layers_and_skips_integer_tensors():
    state = {
        "0.weight": torch.tensor([[-0.04, 0.04], [0.12, 0.149]]),  # → −0.0, 0.0, 0.1, 0.1
        "0.bias": torch.tensor([0.26, -0.31]),  # → 0.3, −0.3 (biases count)
        "steps": torch.tensor([7, 8, 9]),  # not a floating tensor: not a weight
    }
    assert rounding_values.distinct_rounded(state, 1) == 4  # 0, 0.1, 0.3, −0.3
    assert rounding_values.distinct_rounded(state, 2) == 6  # −0.04, 0.04, 0.12, 0.15, 0.26, −0.31


def test_distinct_count_matches_the_rounded_models_values():
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
    for d in (1, 2, 3):
        values = torch.cat([p.detach().flatten() for p in round_weights(model, d).parameters()])
        reference = torch.unique(torch.round(values.double() * 10**d)).numel()
        assert rounding_values.distinct_rounded(model.state_dict(), d) == reference


# ---------------------------------------------------------------- end to end, synthetic data


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=256, n_test=200)


@pytest.fixture
def synthetic(cache_dir, data, monkeypatch):
    """BI-7 and SZ-10 train (a few steps, a cache of the test's own) and load the synthetic
    data instead of MNIST; every call to `run_seeds` is recorded."""
    calls = []
    train_on(data, monkeypatch, (int8_speed, parameter_precision_setup), (int8_speed,), calls)
    monkeypatch.setattr(int8_speed, "PASSES", {1: 4, 64: 2, 10_000: 1})  # short rounds: nothing here is timed
    int8_speed.measure.cache_clear()  # each test measures afresh (one measurement per batch size and process)
    return SimpleNamespace(ctx=Context(device="cpu"), calls=calls)


def _well_formed(result: ClaimResult, claim_id: str) -> dict:
    assert isinstance(result, ClaimResult) and result.claim_id == claim_id
    assert result.verdict in tuple(Verdict) and result.line.endswith(f"→ {result.verdict.value}")
    assert result.timed_device == "cpu"
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # strict JSON
    assert doc["claim"] == claim_id and doc["verdict"] == result.verdict.value
    result.timed()  # the timed work runs
    return doc


@pytest.mark.parametrize("batch_size", [1, 64])
def test_bi7_end_to_end_on_the_trained_depth2_model_of_seed_0(synthetic, batch_size):
    result = int8_speed.bi7(synthetic.ctx, batch_size=batch_size, backend="torch.ao")
    doc = _well_formed(result, "BI-7")
    label = REGISTRY["BI-7"].cases.label({"batch_size": batch_size, "backend": "torch.ao"})
    assert label == f"batch={batch_size}-torch.ao"
    [(arm, seeds, device)] = synthetic.calls  # BI-2/BI-3's arm and run: nothing retrains
    assert arm == depth_arm(synthetic.ctx, 2) and seeds == [0] and device == "cpu"
    f = result.figures
    measured = set(f["judgements"])
    assert "torch.ao" in measured and measured | set(f["unavailable_backends"]) == set(INT8_BACKENDS)
    assert f["fastest_backend"] in measured and f["fastest_backend"] in result.note
    assert {name: len(s) for name, s in f["seconds"].items()} == {n: 5 for n in ("fp32", *measured)}
    assert f["passes_per_round"] == int8_speed.PASSES[batch_size] and f["rounds"] == 5
    assert f["judgements"]["torch.ao"].verdict == result.verdict
    assert f["bounds"][0] <= f["ratio"] <= f["bounds"][1]
    # weight bytes: int8 weights are smaller than fp32 ones (fixed by the shapes, not timed)
    assert f["weights"]["torch.ao"]["weight_bytes"] < f["weights"]["fp32"]["weight_bytes"]
    assert doc["figures"]["weights"]["fp32"]["weight_bytes"] == 4 * (784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10)


def test_bi7_skips_an_uninstalled_backend_and_reports_it_in_other_cases(synthetic, monkeypatch):
    real = int8_speed.quantize_int8

    def without_torchao(model, backend="torch.ao"):
        if backend.startswith("torchao") or backend.startswith("onnxruntime"):
            raise UnsupportedError(f"backend {backend!r} needs torchao, which is not installed")
        return real(model, backend)

    monkeypatch.setattr(int8_speed, "quantize_int8", without_torchao)
    with pytest.raises(UnsupportedError, match="needs torchao"):
        int8_speed.bi7(synthetic.ctx, batch_size=1, backend="torchao-dynamic")
    result = int8_speed.bi7(synthetic.ctx, batch_size=1, backend="torch.ao")
    assert set(result.figures["judgements"]) == {"torch.ao"} and result.figures["fastest_backend"] == "torch.ao"
    assert set(result.figures["unavailable_backends"]) == {"torchao-dynamic", "torchao-weight-only",
                                                           "onnxruntime-dynamic"}
    assert "not measured: torchao-dynamic, torchao-weight-only, onnxruntime-dynamic" in result.note


def test_bi7_batch_10000_is_the_whole_test_set_and_needs_that_many_images(synthetic):
    with pytest.raises(ValueError, match="batch_size=10000 needs at least that many test images"):
        int8_speed.bi7(synthetic.ctx, batch_size=10_000)


@pytest.mark.parametrize(("params", "match"), [({"batch_size": 32}, "batch_size=32"),
                                               ({"backend": "onnx"}, "backend='onnx'")])
def test_bi7_rejects_unknown_cases(params, match):
    with pytest.raises(ValueError, match=match):
        int8_speed.bi7(Context(), **params)


def test_sz10_end_to_end_on_the_trained_fp32_models(synthetic, data):
    result = rounding_values.sz10(synthetic.ctx)
    doc = _well_formed(result, "SZ-10")
    assert REGISTRY["SZ-10"].cases.label({}) == "decimals=1"
    counts = doc["figures"]["distinct_values"]
    assert set(counts) == {"1", "2", "3", "4"} and all(len(c) == 5 for c in counts.values())
    runs = experiment.run_seeds(rounding_claims.arm(synthetic.ctx), range(5), data=data)  # from the cache
    assert all(r.from_cache for r in runs)
    for d in (1, 2, 3, 4):
        assert counts[str(d)] == [rounding_values.distinct_rounded(r.state_dict, d) for r in runs]
    assert result.verdict == rounding_values.distinct_verdict(counts["1"])
    assert all(f"d={d}:" in result.note for d in (2, 3, 4))


def test_sz10_fails_on_models_with_more_than_19_values(monkeypatch):
    wide = {"0.weight": torch.linspace(-1.5, 1.5, 400).reshape(20, 20), "0.bias": torch.zeros(20)}
    narrow = {"0.weight": torch.linspace(-0.5, 0.5, 400).reshape(20, 20), "0.bias": torch.zeros(20)}
    runs = [SimpleNamespace(seed=0, state_dict=narrow), SimpleNamespace(seed=1, state_dict=wide)]
    monkeypatch.setattr(rounding_values, "fp32_runs", lambda ctx: runs)
    result = rounding_values.sz10(Context())
    assert result.verdict == Verdict.FAILS
    assert result.figures["distinct_values"]["1"] == [11, 31]
    assert "[11, 31]" in result.line
    monkeypatch.setattr(rounding_values, "fp32_runs", lambda ctx: runs[:1])
    assert rounding_values.sz10(Context()).verdict == Verdict.HOLDS
