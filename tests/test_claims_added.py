"""The claims the ledger missed (issue 12): every judged part of BI-6, SZ-8, SZ-9, TD-6, TD-7,
CH-7, CH-8 and CH-11 FAILS on data that contradicts it, HOLDS on data that agrees, and is INCONCLUSIVE
at its boundary. (Each judge also runs end to end at a smoke budget: test_claims_smoke.py.)"""

from __future__ import annotations

import pytest
import torch

from precision_kit.claims.chasing_99_epochs import FULL_TRAIN, judge_more_epochs, reaches
from precision_kit.claims.chasing_99_throughput import NO_HELP, TERRIBLE, judge_gpu_help, judge_throughput
from precision_kit.claims.clipping_time_stability import clip_spread, judge_clip_times, judge_stability
from precision_kit.claims.depth_convergence import epochs_to, judge_convergence, rises
from precision_kit.claims.training_dynamics_deeper import judge_deeper_gain
from precision_kit.claims.training_dynamics_layers import class_selectivity, judge_layers
from precision_kit.verdicts import Verdict

H, F, INC = Verdict.HOLDS, Verdict.FAILS, Verdict.INCONCLUSIVE


# ---------------------------------------------------------------- BI-6


def _curve(start: float, slope: float, bumps=(), epochs: int = 10) -> list[float]:
    """A test-loss curve falling from `start` by `slope` per epoch, with a rise at each bump."""
    out, v = [], start
    for e in range(epochs):
        v = max(0.05, v - slope) + (0.05 if e in bumps else 0.0)
        out.append(v)
    return out


def test_bi6_curve_measures():
    assert epochs_to([0.3, 0.2, 0.1, 0.15], 0.12) == 3 and epochs_to([0.3, 0.2], 0.1) == 3  # never: E + 1
    assert rises([0.3, 0.2, 0.25, 0.1, 0.12]) == pytest.approx(0.07) and rises([0.3, 0.2, 0.1]) == 0.0


def test_bi6_holds_when_deep_nets_are_slower_and_bumpier():
    shallow = {d: [_curve(0.30 + 0.01 * s, 0.08) for s in range(5)] for d in (2, 4)}
    deep = [_curve(0.40 + 0.01 * s, 0.03, bumps=(5 + s % 3, 8)) for s in range(5)]
    verdict, slower, unstable, _, _ = judge_convergence(shallow, deep)
    assert (verdict, slower.verdict, unstable.verdict) == (H, H, H)


def test_bi6_fails_when_deep_nets_converge_as_fast_and_smoothly():
    shallow = {d: [_curve(0.40 + 0.01 * s, 0.03, bumps=(5 + s % 3, 8)) for s in range(5)] for d in (2, 4)}
    deep = [_curve(0.30 + 0.01 * s, 0.08) for s in range(5)]  # faster and never rising: contradicts both parts
    verdict, slower, unstable, _, _ = judge_convergence(shallow, deep)
    assert (verdict, slower.verdict, unstable.verdict) == (F, F, F)


def test_bi6_needs_both_parts():
    shallow = {d: [_curve(0.30 + 0.01 * s, 0.08, bumps=(6 + s % 3,)) for s in range(5)] for d in (2, 4)}
    deep = [_curve(0.40 + 0.01 * s, 0.03) for s in range(5)]  # slower but smoother
    verdict, slower, unstable, _, _ = judge_convergence(shallow, deep)
    assert slower.verdict == H and unstable.verdict == F and verdict == F


# ---------------------------------------------------------------- SZ-8


def _times(amp_factor: float, clip_factor: float = 1.0):
    base = {"train": [1.0, 1.02, 0.98], "eval": [0.5, 0.51, 0.49]}
    out = {}
    for p, f in (("fp32", 1.0), ("amp-fp16", amp_factor)):
        out[p] = {"0.01": {k: [v * f for v in vs] for k, vs in base.items()},
                  "0.5": {k: [v * f * clip_factor for v in vs] for k, vs in base.items()}}
    return out


def test_sz8_holds_when_times_match_and_fails_when_amp_is_ten_times_slower_or_a_clip_value_costs_more():
    assert judge_clip_times(_times(1.03)).verdict == H
    slow_amp = judge_clip_times(_times(10.0))
    assert slow_amp.verdict == F and all(j.verdict == F for js in slow_amp.by_precision.values() for j in js.values())
    slow_clip = judge_clip_times(_times(1.0, clip_factor=2.0))
    assert slow_clip.verdict == F and all(j.verdict == F for js in slow_clip.by_clip.values() for j in js.values())
    edge = _times(1.0)
    edge["amp-fp16"]["0.5"]["train"] = [1.0, 1.6, 1.2]  # straddles the ±20% band
    assert judge_clip_times(edge).verdict == INC


# ---------------------------------------------------------------- SZ-9


def test_sz9_spread_per_seed_and_diverged_seeds():
    spread = clip_spread({0.01: [97.0, 96.0, None], 0.5: [97.2, 96.6, 97.0]})
    assert spread[0] == pytest.approx(0.1414, abs=1e-3) and spread[2] is None


def test_sz9_holds_when_fp32_is_steadier_and_fails_when_amp_is():
    steady, jumpy = [0.05, 0.04, 0.06, 0.05, 0.03], [0.40, 0.55, 0.35, 0.50, 0.45]
    assert judge_stability(steady, jumpy)[0].verdict == H
    j, _ = judge_stability(jumpy, steady)  # fp32 the jumpier: contradicts the claim
    assert j.verdict == F and j.p_fail < j.fail_alpha
    mixed, _ = judge_stability([0.1, 0.3, 0.2, 0.4, 0.2], [0.3, 0.1, 0.2, 0.2, 0.4])
    assert mixed.verdict == INC
    _, note = judge_stability([0.1, None, 0.2, 0.3], [0.3, 0.4, None, 0.5])
    assert "2 seed(s)" in note


# ---------------------------------------------------------------- CH-7, CH-8


def test_reaching_full_train_accuracy():
    assert reaches([100.0] * 5).verdict == H
    assert reaches([99.5, 99.6, 99.4, 99.5, 99.55]).verdict == F  # ~300 training images wrong
    assert reaches([99.99, 99.90, 99.98, 99.93, 99.97]).verdict == INC
    assert FULL_TRAIN == 99.95


def test_more_epochs_both_parts():
    fewer, more = [97.2, 97.3, 97.25, 97.1, 97.2], [97.5, 97.6, 97.45, 97.4, 97.55]
    assert judge_more_epochs(fewer, more, [100.0] * 5)[0] == H
    verdict, better, _ = judge_more_epochs(more, fewer, [100.0] * 5)  # more epochs worse: contradicts (a)
    assert better.verdict == F and verdict == F
    verdict, _, full = judge_more_epochs(fewer, more, [99.0, 99.1, 98.9, 99.0, None])  # far from 100%: (b)
    assert full.verdict == F and verdict == F


# ---------------------------------------------------------------- CH-11


def test_ch11_throughput_and_gpu_parts():
    b50 = [1e-5, 1.1e-5, 0.95e-5]
    assert judge_throughput([2e-4, 2.1e-4, 1.9e-4], b50)[0] == H  # 20× slower per sample: terrible
    assert judge_throughput([2e-5, 2.1e-5, 1.9e-5], b50)[0] == F  # only 2×: contradicts "terrible"
    assert judge_throughput([5e-5, 8e-5, 4e-5], b50)[0] == INC  # around the 5× line
    cpu = [1e-4, 1.05e-4, 0.98e-4]
    assert judge_gpu_help(cpu, [0.98e-4, 1.0e-4, 1.0e-4])[0] == H  # the GPU no faster at batch 1
    assert judge_gpu_help(cpu, [2e-5, 2.1e-5, 1.9e-5])[0] == F  # 5× faster: contradicts "no help"
    assert TERRIBLE == 5.0 and NO_HELP == 1.2


# ---------------------------------------------------------------- TD-6


def test_class_selectivity_of_a_digit_unit_a_general_unit_and_a_dead_one():
    labels = torch.arange(10).repeat(20)
    digit = (labels == 3).double() * 2.0  # fires for 3 only
    general = torch.ones(200, dtype=torch.float64)  # fires alike for every digit
    dead = torch.zeros(200, dtype=torch.float64)
    si = class_selectivity(torch.stack([digit, general, dead], 1), labels)
    assert si.tolist() == pytest.approx([1.0, 0.0])  # the dead unit is left out
    with pytest.raises(ValueError, match="none of \\[9\\]"):
        class_selectivity(torch.ones(9, 1), torch.arange(9))


def test_td6_holds_when_the_last_layer_is_more_selective_and_fails_when_the_first_is():
    rising = [[0.10 + 0.01 * s, 0.20, 0.45 + 0.02 * s] for s in range(5)]
    assert judge_layers(rising).verdict == H
    falling = [[0.50 + 0.02 * s, 0.30, 0.12 + 0.01 * s] for s in range(5)]  # contradicts the claim
    assert judge_layers(falling).verdict == F
    assert judge_layers([[0.2, 0.2, 0.21], [0.2, 0.2, 0.19], [0.2, 0.2, 0.2]]).verdict == INC


# ---------------------------------------------------------------- TD-7


def test_td7_holds_when_dropout_helps_the_deeper_cnn_more_and_fails_when_less():
    shallow_gain = [0.05, 0.10, 0.00, 0.08, 0.04]
    deep_gain = [0.40, 0.35, 0.50, 0.45, 0.38]
    assert judge_deeper_gain(shallow_gain, deep_gain).verdict == H
    assert judge_deeper_gain(deep_gain, shallow_gain).verdict == F  # helps the deeper one less: contradicts
    assert judge_deeper_gain([0.1, 0.3, 0.2, 0.25, 0.15], [0.2, 0.1, 0.3, 0.15, 0.25]).verdict == INC
