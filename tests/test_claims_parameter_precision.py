"""Unit tests of the pure helpers of source 001's claims (SZ-1 … SZ-7), on synthetic numbers
and tensors: no dataset, no training."""

from __future__ import annotations

import math

import pytest
import torch

from precision_kit.claims import REGISTRY
from precision_kit.claims.kfold_protocol import judge_protocol
from precision_kit.claims.parameter_precision import SPEC, ratio_judgement
from precision_kit.claims.parameter_precision_setup import format_mean_sd
from precision_kit.claims.rounding_claims import (
    HIST_EDGES,
    collapse_judgement,
    degradation_judgement,
    histogram,
    outside_count,
)
from precision_kit.stats import StatsInputError, Verdict
from precision_kit.verdicts import combine

pytestmark = pytest.mark.cpu


def test_all_claims_registered():
    assert {f"SZ-{i}" for i in range(1, 8)} <= set(REGISTRY)


def test_model_is_784_128_64_10():
    model = SPEC.build(0)
    shapes = [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]
    assert shapes == [(128, 784), (64, 128), (10, 64)]


# ---------------------------------------------------------------- SZ-2 ratios


def test_ratio_inside_band_holds():
    j = ratio_judgement([1.0, 1.1, 0.9, 1.0], [1.02, 1.1, 0.93, 0.99])
    assert j.verdict == Verdict.HOLDS
    assert j.low <= j.ratio <= j.high
    assert math.isclose(j.ratio, 1.0, abs_tol=0.05)
    assert j.n == 4


def test_ratio_far_above_band_fails():
    j = ratio_judgement([1.0, 1.0, 1.0], [11.0, 10.5, 11.5])
    assert j.verdict == Verdict.FAILS
    assert j.ratio > 10
    assert "×" in j.text()


def test_ratio_far_below_band_fails():
    assert ratio_judgement([1.0, 1.0, 1.0], [0.5, 0.52, 0.49]).verdict == Verdict.FAILS


def test_ratio_straddling_band_is_inconclusive():
    assert ratio_judgement([1.0, 1.0, 1.0], [0.9, 1.6, 1.2]).verdict == Verdict.INCONCLUSIVE


def test_ratio_band_is_symmetric_on_log_scale():
    # ×1.25 and ×0.8 are the same distance from 1 on the log scale: both on the edge, HOLDS.
    assert ratio_judgement([1.0, 1.0], [1.25, 1.25]).verdict == Verdict.HOLDS
    assert ratio_judgement([1.0, 1.0], [0.8, 0.8]).verdict == Verdict.HOLDS
    assert ratio_judgement([1.0, 1.0], [1.3, 1.3]).verdict == Verdict.FAILS


def test_ratio_rejects_bad_inputs():
    with pytest.raises(ValueError, match="paired"):
        ratio_judgement([1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        ratio_judgement([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(StatsInputError):
        ratio_judgement([1.0], [1.0])


def test_combine():
    hold, fail, unsure = Verdict.HOLDS, Verdict.FAILS, Verdict.INCONCLUSIVE
    assert combine(hold, hold) == hold
    assert combine(hold, fail) == fail
    assert combine(unsure, fail) == fail
    assert combine(hold, unsure) == unsure


# ---------------------------------------------------------------- SZ-5 thresholds


def test_collapse_to_chance():
    assert collapse_judgement([9.8, 10.1, 11.35, 9.6, 10.3]).verdict == Verdict.HOLDS
    assert collapse_judgement([60.0, 65.0, 58.0, 70.0, 62.0]).verdict == Verdict.FAILS
    j = collapse_judgement([10.0] * 5)  # all equal: the interval collapses to the point
    assert j.verdict == Verdict.HOLDS and j.delta == 0.0


def test_clear_degradation():
    full = [97.0, 97.1, 96.9, 97.2, 97.0]
    assert degradation_judgement(full, [80.0, 82.0, 79.0, 81.0, 80.5]).verdict == Verdict.HOLDS
    j = degradation_judgement(full, [96.95, 97.1, 96.85, 97.2, 96.9])
    assert j.verdict == Verdict.FAILS  # drop ≈ 0.04 pt, far below 1 pt
    assert j.delta == pytest.approx(0.04 - 1.0, abs=1e-9)


# ---------------------------------------------------------------- SZ-6 range and histogram


def test_outside_count_is_exact():
    sd = {"w": torch.tensor([-0.5, 0.5, 0.50001, -0.7]), "b": torch.tensor([0.1]),
          "n": torch.tensor([3])}  # integer tensors are ignored
    assert outside_count(sd) == 2
    assert outside_count(sd, bound=1.0) == 0


def test_histogram_counts_every_value():
    t = torch.tensor([-2.0, -1.0, -0.01, 0.0, 0.02, 0.99, 1.0, 3.0])
    counts = histogram(t)
    assert len(counts) == len(HIST_EDGES) + 1  # below + (edges − 1) bins + above
    assert sum(counts) == t.numel()
    assert counts[0] == 1 and counts[-1] == 1
    assert counts[1] == 1  # −1.0 in the first bin
    assert counts[-2] == 2  # 0.99 and 1.0 in the last (closed) bin


def test_histogram_of_uniform_weights_is_flat_inside():
    t = torch.linspace(-0.5, 0.5, 20001)[:-1]
    counts = histogram(t)
    inner = counts[11:31]  # the 20 bins covering [−0.5, 0.5)
    assert sum(inner) == t.numel()
    assert max(inner) - min(inner) <= 2


def test_format_mean_sd():
    assert format_mean_sd([97.0, 97.2]) == "97.10 ± 0.14"
    assert format_mean_sd([50.0]) == "50.00 ± 0.00"


# ---------------------------------------------------------------- SZ-7 protocol


def test_kfold_estimate_that_agrees_with_the_test_set_holds():
    cv = [97.80, 97.65, 97.90, 97.72, 97.85]
    j, sd = judge_protocol(cv, [c + d for c, d in zip(cv, [0.1, -0.05, 0.08, 0.0, 0.12], strict=True)])
    assert j.verdict == Verdict.HOLDS and j.margin == 0.5
    assert sd.low < sd.estimate < sd.high and sd.n == 5


def test_kfold_estimate_far_from_the_test_set_fails():
    """A protocol whose estimate is 1.5 pt off the test accuracy does not estimate it."""
    cv = [97.80, 97.65, 97.90, 97.72, 97.85]
    j, _ = judge_protocol(cv, [c - 1.5 + d for c, d in zip(cv, [0.1, -0.05, 0.08, 0.0, 0.12], strict=True)])
    assert j.verdict == Verdict.FAILS


def test_kfold_estimate_at_the_margin_is_inconclusive():
    cv = [97.8, 97.6, 97.9, 97.7, 97.8]
    j, _ = judge_protocol(cv, [c + d for c, d in zip(cv, [0.9, 0.1, 0.7, 0.2, 0.6], strict=True)])
    assert j.verdict == Verdict.INCONCLUSIVE
