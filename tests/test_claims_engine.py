"""EN-1/EN-2 (the population engine's targets): the judges can fail and can hold."""

from __future__ import annotations

import math

from precision_kit.claims.engine_speed import at_least, at_most
from precision_kit.verdicts import Verdict


def logs(*ratios: float) -> list[float]:
    return [100 * math.log(r) for r in ratios]


def test_a_speedup_below_the_target_fails_and_one_above_holds():
    assert at_least(logs(4.2, 4.4, 4.5), 10.0)[0] == Verdict.FAILS
    assert at_least(logs(12.0, 12.5, 11.8), 10.0)[0] == Verdict.HOLDS
    assert at_least(logs(6.0, 14.0, 10.0), 10.0)[0] == Verdict.INCONCLUSIVE


def test_a_time_above_the_flop_bound_target_fails_and_one_below_holds():
    assert at_most(logs(1.45, 1.47, 1.50), 1.3)[0] == Verdict.FAILS
    assert at_most(logs(1.10, 1.12, 1.11), 1.3)[0] == Verdict.HOLDS
    verdict, mean, lo, hi = at_most(logs(1.2, 1.25, 1.22), 1.3)
    assert lo <= mean <= hi and math.isclose(mean, (1.2 * 1.25 * 1.22) ** (1 / 3))


def test_en3_and_en4_are_registered_claims_judged_through_the_ledger():
    from precision_kit.claims import REGISTRY

    assert {"EN-3", "EN-4"} <= set(REGISTRY)


def test_en4_a_last_epoch_slower_than_its_ceiling_fails():
    import pytest

    from precision_kit.claims.engine_loop import at_most_ratio

    assert at_most_ratio(1.05, 1.2) is Verdict.HOLDS
    assert at_most_ratio(5.0, 1.2) is Verdict.FAILS  # the unflushed-denormal slowdown
    with pytest.raises(ValueError, match="positive and finite"):
        at_most_ratio(float("nan"), 1.2)


def test_en3_and_en4_skip_on_cuda_with_a_reason():
    import pytest

    from precision_kit.claims import Context, run_claim
    from precision_kit.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="CPU target"):
        run_claim("EN-4", Context(device="cuda"))
