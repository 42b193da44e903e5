"""BI-5's timing protocol (precision_kit.claims.amp_speed): untimed warm-up rounds of
every arm before the alternating timed rounds, so the start-up cost of the first training in
a process (CUDA context, cuBLAS handles, autocast) lands on no timed round. `train` is
replaced by a fake with known seconds: what is tested is which calls are timed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from precision_kit.claims import amp_speed, depth_precision
from precision_kit.claims.base import Context
from precision_kit.verdicts import Verdict

START_UP = 100.0  # seconds the first training of the fake process pays


class FakeTrain:
    """`train(model, data, config)` whose seconds depend on the precision and the round, plus
    START_UP on its very first call; it records the precision of every call."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds, self.calls, self.engines = seconds, [], set()

    def __call__(self, model, data, config, engine="auto"):
        self.calls.append(config.precision)
        self.engines.add(engine)
        n = len(self.calls)
        took = self.seconds[config.precision] * (1.0 + 0.01 * (n % 3)) + (START_UP if n == 1 else 0.0)
        return SimpleNamespace(epoch_seconds=(took,), peak_memory_bytes=n)


@pytest.fixture
def fake_train(monkeypatch):
    fake = FakeTrain({"fp32": 1.0, "amp-fp16": 0.5})
    monkeypatch.setattr(amp_speed, "train", fake)
    return fake


def configs():
    ctx = Context()
    return {p: depth_precision.depth_arm(ctx, 2, p).config for p in ("fp32", "amp-fp16")}


def test_warmup_rounds_are_run_but_not_timed(fake_train):
    built = []
    seconds, memory = amp_speed.alternating_seconds(
        configs(), lambda: built.append(1), data=None, rounds=3, warmup=1)
    assert fake_train.calls == ["fp32", "amp-fp16"] * 4
    assert len(built) == 8  # a fresh model for every training
    assert {p: len(s) for p, s in seconds.items()} == {"fp32": 3, "amp-fp16": 3}
    assert max(seconds["fp32"]) < 2.0  # the first call's start-up was in the warm-up
    assert memory == {"fp32": 7, "amp-fp16": 8}  # from the last round


def test_without_warmup_the_first_arm_pays_the_start_up(fake_train):
    seconds, _ = amp_speed.alternating_seconds(configs(), lambda: None, None, rounds=2, warmup=0)
    assert fake_train.calls == ["fp32", "amp-fp16"] * 2
    assert seconds["fp32"][0] > START_UP


@pytest.mark.parametrize(("rounds", "warmup"), [(0, 1), (3, -1)])
def test_alternating_seconds_rejects_bad_round_counts(rounds, warmup):
    with pytest.raises(ValueError, match="rounds ≥ 1 and warmup ≥ 0"):
        amp_speed.alternating_seconds(configs(), lambda: None, None, rounds=rounds, warmup=warmup)


def test_bi5_warms_up_both_arms_and_says_so(fake_train, monkeypatch):
    monkeypatch.setattr(amp_speed, "dataset", lambda arm, device, root: None)
    result = amp_speed.bi5(Context())
    rounds = len(result.figures["seconds"]["fp32"])
    assert result.figures["warmup_rounds"] == amp_speed.WARMUP_ROUNDS == 1
    assert fake_train.calls == ["fp32", "amp-fp16"] * (rounds + 1)
    assert fake_train.engines == {"autograd"}  # both arms on one code path (fp32 would take MLPStep)
    assert len(result.figures["seconds"]["amp-fp16"]) == rounds == 5
    assert max(result.figures["seconds"]["fp32"]) < 2.0
    assert result.verdict == Verdict.HOLDS and result.figures["ratio"] == pytest.approx(0.5, rel=0.05)
    assert "after 1 untimed" in result.line


# ------------------------------------------------------------------- BI-3 and BI-4 judges
@pytest.mark.parametrize(
    "drops,verdict",
    [
        ([0.0, 0.02, -0.01, 0.01, 0.0], Verdict.FAILS),  # CI wholly below 0.5: "far smaller than claimed"
        ([0.6, 0.9, 0.7, 1.1, 0.8], Verdict.HOLDS),  # inside the band
        ([0.1, 0.9, 0.3, 0.7, 0.2], Verdict.HOLDS),  # a CI reaching into the band overlaps it
        ([2.0, 2.2, 1.9, 2.1, 2.05], Verdict.FAILS),  # wholly above 1.2
    ],
)
def test_bi3_about_part_fails_a_drop_far_from_the_band(drops, verdict):
    from outcomes import drop_arms

    int8, fp32 = drop_arms(drops)
    assert depth_precision.about_band(int8, fp32).verdict is verdict


def test_bi3_is_holds_only_if_both_parts_hold():
    """BI-3 at the measured drops (≈ 0 pt): "at most 1.2" holds, "about 0.5–1.2" fails, so the
    case FAILS; the old single-part judge called it HOLDS."""
    from outcomes import drop_arms

    from precision_kit.stats import at_most
    from precision_kit.verdicts import combine

    int8, fp32 = drop_arms([0.0, 0.02, -0.01, 0.01, 0.0])
    at = at_most(int8, fp32, bound=1.2).verdict
    about = depth_precision.about_band(int8, fp32).verdict
    assert at is Verdict.HOLDS and about is Verdict.FAILS and combine(at, about) is Verdict.FAILS


def test_bi4_reference_is_the_better_depth_by_its_mean_not_a_per_seed_max():
    # depth 4 is better on average; a per-seed max would mix in depth 2's lucky seed
    acc = {2: [97.0, 98.5, 97.0], 4: [97.8, 97.7, 97.9]}
    assert depth_precision.reference_depth(acc) == 4
    assert depth_precision.reference_depth({2: [98.0, 98.0], 4: [97.0, 97.0]}) == 2
    with pytest.raises(ValueError, match="at least one seed"):
        depth_precision.reference_depth({2: [], 4: []})
