"""The engine's targets, judged like the sources' claims (precision_kit.claims.engine_loop and
engine_speed): EN-3 the engine against the sources' plain DataLoader loop, EN-4 flat epoch
times of a wide MLP with denormals flushed, EN-1/EN-2 population training. Each ratio is
measured in one process; the verdicts enter the ledger and the gate.
"""

from __future__ import annotations

import pytest
from _cases import DEVICES

from precision_kit.pytest_plugin import claim_cases


@pytest.mark.cpu
@claim_cases("EN-3")
def test_EN_3_engine_vs_plain_loop(judge, case):
    """EN-3: ≥ 3.5× (batch 50) / ≥ 10× (batch 512) faster than torchvision + DataLoader per
    epoch, and ≤ 2× the FLOP bound at batch 512; 3 alternating rounds (CPU). Timed: one engine epoch."""
    judge("EN-3", "cpu", **case)


@pytest.mark.cpu
def test_EN_4_wide_mlp_epochs_do_not_slow_down(judge):
    """EN-4: last epoch ≤ 1.2× the first of the 784-1000³-10 MLP, denormals flushed (quick:
    2 epochs, UNTESTED; paper: 10)."""
    judge("EN-4", "cpu")


@claim_cases("EN-1")
@pytest.mark.parametrize("device", DEVICES)
def test_EN_1_population_speedup(judge, device, case):
    """EN-1: 10 seeds of 784-50-50-10 (Adam, fp32) as one population vs the sequential
    engine per member-step: ≥ 10× at batch 1, ≥ 3× at batch 50; 3 alternating rounds
    (quick: 2,000 / 300 steps), one-sided 95% bound. Timed: one population round."""
    judge("EN-1", device, **case)


@pytest.mark.parametrize("device", DEVICES)
def test_EN_2_population_flop_bound(judge, device):
    """EN-2: a 10-member population of 784-128-128-10 at batch 512 within 1.3× of the FLOP
    lower bound per member-epoch (3 rounds, one-sided 95% bound). Timed: one population epoch."""
    judge("EN-2", device)
