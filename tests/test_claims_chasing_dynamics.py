"""Unit tests of source 003's CH-9 (dead ReLUs) and CH-10 (confusions), precision_kit.claims.
chasing_99_dynamics: the dead-unit counter on hand-built models whose dead units are known,
every judged part fed supporting (HOLDS), contradicting (FAILS) and ambiguous (INCONCLUSIVE)
data, the judges' wiring on crafted runs, and both judges end to end on a small synthetic
MNIST (CH-2's and CH-6's arms trained for real through `run_seeds`, a test cache of their own)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from scipy import stats as sps
from synthetic import synthetic_dataset, train_on
from torch import nn

from precision_kit import binomial
from precision_kit.claims import REGISTRY, chasing_99, chasing_99_arch, chasing_99_setup
from precision_kit.claims import chasing_99_confusions as cf
from precision_kit.claims import chasing_99_dynamics as dyn
from precision_kit.claims.base import ClaimResult, Context
from precision_kit.claims.pairing import paired_runs
from precision_kit.errors import PrecisionKitError
from precision_kit.stats import StatsInputError
from precision_kit.verdicts import Verdict


def test_both_claims_register():
    assert {"CH-9", "CH-10"} <= set(REGISTRY)
    assert REGISTRY["CH-9"].judge is dyn.ch9 and REGISTRY["CH-10"].judge is cf.ch10


# ---------------------------------------------------------------------------- dead units
def hand_built() -> nn.Sequential:
    """2 → 3 → 2 → 2 ReLU MLP. For inputs with both coordinates > 0: hidden unit 1 (weights
    −1, −1, bias −1) never fires, units 0 and 2 do; in layer 2, unit 0 (weights −1 from every
    unit, bias 0) never fires, unit 1 (weights +1, bias 0) does."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, -1.0], [0.0, 1.0]]))
        model[0].bias.copy_(torch.tensor([0.0, -1.0, 0.0]))
        model[2].weight.copy_(torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
        model[2].bias.zero_()
    return model


POSITIVE = torch.rand(7, 2, generator=torch.Generator().manual_seed(0)) + 0.1


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
def test_dead_units_finds_the_known_dead_units_whatever_the_chunking(batch_size):
    masks = dyn.dead_units(hand_built(), POSITIVE, batch_size=batch_size)
    assert [m.tolist() for m in masks] == [[False, True, False], [True, False]]
    overall, per_layer = dyn.dead_percent(masks)
    assert overall == pytest.approx(100 * 2 / 5) and per_layer == pytest.approx([100 / 3, 50.0])


def test_a_unit_that_fires_on_one_image_of_the_last_chunk_is_alive():
    images = POSITIVE.clone()
    images[-1] = torch.tensor([-5.0, -5.0])  # only this image makes hidden unit 1 fire (5 + 5 − 1 > 0)
    masks = dyn.dead_units(hand_built(), images, batch_size=3)  # chunks 3 + 3 + 1
    assert masks[0].tolist() == [False, False, False]


def test_dead_units_counts_in_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.99), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.zero_()
    model.train()
    masks = dyn.dead_units(model, POSITIVE)
    assert masks[0].tolist() == [False] * 4 and model.training  # dropout after the ReLU does not matter
    assert not any(h for m in model.modules() for h in m._forward_hooks.values())  # hooks removed


def test_dead_units_needs_relus_and_images():
    sigmoid = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2))
    with pytest.raises(PrecisionKitError, match="no nn.ReLU"):
        dyn.dead_units(sigmoid, POSITIVE)
    with pytest.raises(ValueError, match="at least one image"):
        dyn.dead_units(hand_built(), POSITIVE[:0])
    with pytest.raises(ValueError, match="one dead-unit mask per ReLU layer"):
        dyn.dead_percent([])


# ---------------------------------------------------------------------------- CH-9 parts
def test_more_dead_holds_fails_and_is_inconclusive():
    low = [1.0, 0.0, 2.0, 1.0, 0.0]
    assert dyn.more_dead([20.0, 25.0, 18.0, 30.0, 22.0], low).verdict == Verdict.HOLDS
    assert dyn.more_dead([0.0, 0.0, 0.0, 0.0, 0.0], [5.0, 6.0, 4.0, 7.0, 5.0]).verdict == Verdict.FAILS
    ambiguous = dyn.more_dead([3.0, 0.0, 4.0, 0.0, 1.0], low)
    assert ambiguous.verdict == Verdict.INCONCLUSIVE
    assert ambiguous.delta == pytest.approx(0.8)  # Δ = dead(1e-2) − dead(1e-4): the sign is the claim's


def test_large_share_holds_fails_and_is_inconclusive():
    held = dyn.large_share([25.0, 30.0, 28.0, 27.0, 26.0])
    assert held.verdict == Verdict.HOLDS and held.interval.low >= 10
    failed = dyn.large_share([1.0, 2.0, 0.0, 1.0, 2.0])
    assert failed.verdict == Verdict.FAILS and failed.interval.high < 10
    assert dyn.large_share([0.0] * 5).verdict == Verdict.FAILS  # nothing dies at all
    ambiguous = dyn.large_share([2.0, 20.0, 5.0, 18.0, 9.0])
    assert ambiguous.verdict == Verdict.INCONCLUSIVE and ambiguous.interval.contains(10.0)
    line = held.line()
    assert "large share ≥ 10%" in line and "up to 40%" in line and "5 seeds" in line and line.endswith("HOLDS")
    assert json.loads(json.dumps(held.to_dict()))["verdict"] == "HOLDS"


def test_large_share_needs_two_seeds():
    with pytest.raises(StatsInputError, match="at least 2"):
        dyn.large_share([30.0])


# ---------------------------------------------------------------------------- CH-10 parts
def confusion(top_fp: int | None = None, pair: tuple[int, int] | None = None, extra: int = 20) -> torch.Tensor:
    """A 10 × 10 test confusion matrix: 100 right per digit, 1 of every wrong kind, plus
    `extra` images of another digit predicted as `top_fp`, and/or `extra` confusions of `pair`."""
    m = torch.ones(10, 10, dtype=torch.long) + 99 * torch.eye(10, dtype=torch.long)
    if top_fp is not None:
        m[(top_fp + 1) % 10, top_fp] += extra
    if pair is not None:
        i, j = pair
        m[i, j] += extra // 2
        m[j, i] += extra - extra // 2
    return m


def test_false_positives_are_column_sums_without_the_diagonal():
    m = confusion(top_fp=3)
    assert cf.false_positives(m).tolist() == [9, 9, 9, 29, 9, 9, 9, 9, 9, 9]
    assert cf.top_false_positive(m) == (3, True)
    tie = confusion(top_fp=3)
    tie[0, 5] += 20
    assert cf.top_false_positive(tie) == (3, False)  # 3 and 5 tie: argmax is 3, but not the only one


def test_top_confused_pair_adds_both_directions():
    m = confusion(pair=(9, 4), extra=30)  # 15 one way, 15 the other: neither cell alone is the top
    m[2, 7] += 20  # the largest single cell, but {2, 7} sums to 22 < 32
    assert cf.top_confused_pair(m) == ((4, 9), 32, True)
    m[7, 2] += 10
    assert cf.top_confused_pair(m) == ((2, 7), 32, False)  # {2, 7} and {4, 9} tie at 32


@pytest.mark.parametrize("bad", [torch.ones(3, 4, dtype=torch.long), torch.ones(10, 10),
                                 -torch.ones(10, 10, dtype=torch.long)])
def test_a_confusion_matrix_must_be_square_counts(bad):
    with pytest.raises(ValueError, match="square confusion matrix"):
        cf.false_positives(bad)


@pytest.mark.parametrize(("hits", "n"), [(0, 5), (3, 5), (5, 5), (7, 10), (9, 10), (2, 3)])
def test_clopper_pearson_matches_scipys_exact_interval(hits, n):
    """One-sided 95% bounds = the two-sided 90% exact (Clopper–Pearson) interval."""
    ci = sps.binomtest(hits, n).proportion_ci(confidence_level=0.90, method="exact")
    assert binomial.clopper_pearson(hits, n) == pytest.approx((ci.low, ci.high))
    assert binomial.clopper_pearson(5, 5)[0] == pytest.approx(0.05 ** (1 / 5))


def test_clopper_pearson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="0 ≤ hits ≤ n"):
        binomial.clopper_pearson(4, 3)
    with pytest.raises(ValueError, match="n ≥ 1"):
        binomial.clopper_pearson(0, 0)


def test_majority_holds_fails_and_is_inconclusive():
    assert binomial.majority([True] * 5, "x").verdict == Verdict.HOLDS
    assert binomial.majority([False] * 5, "x").verdict == Verdict.FAILS
    assert binomial.majority([True, True, True, False, False], "x").verdict == Verdict.INCONCLUSIVE
    assert binomial.majority([True] * 9 + [False], "x").verdict == Verdict.HOLDS
    assert binomial.majority([True] * 8 + [False] * 2, "x").verdict == Verdict.INCONCLUSIVE
    assert binomial.majority([False] * 8 + [True] * 2, "x").verdict == Verdict.INCONCLUSIVE  # upper 0.507
    assert binomial.majority([False] * 9 + [True], "x").verdict == Verdict.FAILS
    three = binomial.majority([True] * 3, "class 3 wins")
    assert three.verdict == Verdict.INCONCLUSIVE and not binomial.decisive(3) and binomial.decisive(5)
    assert three.line().startswith("class 3 wins in 3/3 seeds") and "Clopper–Pearson" in three.line()


def test_a_tie_is_no_hit():
    tie = confusion(top_fp=3)
    tie[0, 5] += 20
    seen = cf._read_overpredicted([confusion(top_fp=3), tie, confusion(top_fp=5)])
    assert seen["outcome"] == [3, 3, 5] and seen["hits"] == [True, False, False]
    pairs = cf._read_confused([confusion(pair=(4, 9)), confusion(pair=(3, 5))])
    assert pairs["outcome"] == [[4, 9], [3, 5]] and pairs["hits"] == [True, False]
    assert pairs["confusions_4_9"] == [22, 2]


# ---------------------------------------------------------------------------- wiring, crafted runs
def fake_run(seed: int, lr: float, diverged: bool = False, epochs: int = 2):
    return SimpleNamespace(
        seed=seed, diverged=diverged, status="DIVERGED at step 7" if diverged else "OK",
        arm=SimpleNamespace(config=SimpleNamespace(lr=lr, epochs=epochs)),
        correct=torch.ones(10, dtype=torch.bool), model=lambda device="cpu", lr=lr: lr,
    )


def test_paired_ok_drops_diverged_seeds_and_refuses_unpaired_ones():
    pairs, note = paired_runs([fake_run(0, 1e-2), fake_run(1, 1e-2, diverged=True)],
                                [fake_run(0, 1e-4), fake_run(1, 1e-4)])
    assert [a.seed for a, _ in pairs] == [0] and "seed 1: DIVERGED" in note
    with pytest.raises(ValueError, match="not paired"):
        paired_runs([fake_run(0, 1e-2)], [fake_run(1, 1e-4)])


@pytest.fixture
def crafted(monkeypatch):
    """CH-9 and CH-10 on crafted runs: `crafted(dead={lr: percent}, mats={lr: [matrix per seed]})`."""

    def setup(dead=None, mats=None, n=5):
        no_images = SimpleNamespace(train=SimpleNamespace(images=None))
        for module in (dyn, cf):
            monkeypatch.setattr(module, "lr2_runs", lambda ctx, seeds: [fake_run(s, 1e-2) for s in range(n)])
            monkeypatch.setattr(module, "lr4_runs", lambda ctx, seeds: [fake_run(s, 1e-4) for s in range(n)])
            monkeypatch.setattr(module, "run_data", lambda run, ctx: no_images)
        if dead is not None:  # the model stand-in is its lr: 100 units, dead[lr] of them dead
            monkeypatch.setattr(dyn, "dead_units", lambda model, images: [torch.arange(100) < dead[model]])
        if mats is not None:
            def confusions(runs, ctx):
                return [mats[r.arm.config.lr][r.seed] for r in runs], [0] * len(runs)
            monkeypatch.setattr(cf, "confusions", confusions)
        return Context()

    return setup


@pytest.mark.parametrize(("dead", "verdict"), [
    ({1e-2: 30, 1e-4: 0}, Verdict.HOLDS),  # many more die at 1e-2
    ({1e-2: 3, 1e-4: 0}, Verdict.FAILS),  # more die at 1e-2, but 3% is no large share
    ({1e-2: 0, 1e-4: 20}, Verdict.FAILS),  # more die at the low learning rate
])
def test_ch9_judges_high_against_low_learning_rate(crafted, dead, verdict):
    result = dyn.ch9(crafted(dead=dead))
    assert result.verdict == verdict and result.line.endswith(f"⇒ {verdict}")
    assert result.figures["dead_percent_lr0.01"] == [float(dead[1e-2])] * 5
    assert result.figures["dead_percent_lr0.0001"] == [float(dead[1e-4])] * 5


def test_ch10_judges_the_stated_class_and_pair(crafted):
    ctx = crafted(mats={1e-2: [confusion(top_fp=3)] * 4 + [confusion(top_fp=8)],
                        1e-4: [confusion(top_fp=5)] * 5})
    assert cf.ch10(ctx, "lr1e-2-overpredicts-3").verdict == Verdict.INCONCLUSIVE  # 4/5: lower bound 0.34
    ctx = crafted(mats={1e-2: [confusion(top_fp=3)] * 5, 1e-4: [confusion(top_fp=5)] * 5})
    held = cf.ch10(ctx, "lr1e-2-overpredicts-3")
    assert held.verdict == Verdict.HOLDS and held.figures["per_seed"]["outcome"] == [3] * 5
    assert held.figures["reference_lr0.0001"]["per_seed"]["outcome"] == [5] * 5
    ctx = crafted(mats={1e-2: [confusion(top_fp=7)] * 5, 1e-4: [confusion(top_fp=3)] * 5})
    assert cf.ch10(ctx, "lr1e-2-overpredicts-3").verdict == Verdict.FAILS
    with pytest.raises(ValueError, match="not a case of CH-10"):
        cf.ch10(ctx, "width100")


# ---------------------------------------------------------------------------- end to end, synthetic
@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=256, n_test=200)


@pytest.fixture
def synthetic_mnist(module_cache, data, monkeypatch):
    """CH-2's and CH-6's arms train on the synthetic data (one cache for the module), and
    CH-9/CH-10 read it back."""
    train_on(data, monkeypatch, (chasing_99_setup, chasing_99, chasing_99_arch), (chasing_99_setup,))
    return Context(device="cpu")


def well_formed(result: ClaimResult, claim_id: str) -> dict:
    assert isinstance(result, ClaimResult) and result.claim_id == claim_id
    assert result.verdict in tuple(Verdict) and result.line.endswith(str(result.verdict))
    assert result.harness_broken is None
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["claim"] == claim_id and doc["statement"] == REGISTRY[claim_id].statement
    result.timed()
    return doc["figures"]


def test_ch9_end_to_end(synthetic_mnist):
    figures = well_formed(dyn.ch9(synthetic_mnist), "CH-9")
    assert figures["seeds"] == [0, 1, 2, 3, 4] and figures["hidden_widths"] == [50, 50]
    for label in ("lr0.01", "lr0.0001"):
        overall, per_layer = figures[f"dead_percent_{label}"], figures[f"dead_percent_per_layer_{label}"]
        assert len(overall) == 5 and all(0 <= p <= 100 for p in overall)
        assert [len(layers) for layers in per_layer] == [2] * 5
        assert overall == pytest.approx([sum(layers) / 2 for layers in per_layer])  # equal widths
    assert figures["judgement_more_dead"]["verdict"] in {v.value for v in Verdict}


@pytest.mark.parametrize("part", cf.PARTS)
def test_ch10_end_to_end(synthetic_mnist, data, part):
    result = cf.ch10(synthetic_mnist, part)
    figures = well_formed(result, "CH-10")
    n = 5 if part.startswith("lr") else 3
    assert len(figures["per_seed"]["outcome"]) == n and figures["reevaluation_flips"] == [0] * n
    assert sum(map(sum, figures["confusion_summed"])) == n * len(data.test)
    if part.startswith("width"):  # quick: 3 seeds at 1 epoch can never decide
        assert result.verdict == Verdict.INCONCLUSIVE and "cannot decide" in result.note
        assert figures["epochs"] == 1 and figures["reference_width100"]["seeds"] == [0, 1, 2]
