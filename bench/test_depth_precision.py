"""Source 000 — depth and precision (FP32 / FP16 AMP / INT8): claims BI-1 … BI-5.

Each case is a thin wrapper: `judge` runs the claim from `precision_kit.claims` (training
through the model cache), times what the claim is about, stores every figure in
`benchmark.extra_info` and checks the verdict against baselines/expected_verdicts.json.
"""

from __future__ import annotations

import pytest

from _cases import DEVICES


@pytest.mark.parametrize("precision", ["amp-fp16", "amp-bf16"])
@pytest.mark.parametrize("depth", [2, 4, 6, 8, 10], ids=lambda d: f"depth{d}")
@pytest.mark.parametrize("device", DEVICES)
def test_BI_1_amp_vs_fp32(judge, device, depth, precision):
    """BI-1: FP16 mixed precision loses < 0.2 pt of test accuracy vs FP32 at every depth.
    n = 5 paired seeds (quick; 10 paper); test: 90% CI of mean Δ inside ±0.2 pt (TOST).
    amp-bf16 is reported as its own arm (CPU autocast's fast dtype). Timed: inference of
    the amp model on the 10,000 test images under its autocast."""
    judge("BI-1", device, depth=depth, precision=precision)
