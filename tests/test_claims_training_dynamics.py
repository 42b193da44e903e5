"""Unit tests of source 002's measures (precision_kit.claims.training_dynamics_measures) and
the small verdict helpers of its claims, on synthetic tensors: no dataset, no training."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats as sps
from torch import nn

from precision_kit.claims.training_dynamics_measures import (
    WeightRecorder,
    bimodality_coefficient,
    count_modes,
    epochs_to_threshold,
    knn_loo_accuracy,
    moments,
    pca_2d,
    silhouette,
    wasserstein1,
    weight_layers,
)
from precision_kit.models import cnn
from precision_kit.verdicts import Verdict, combine


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------ TD-2


def test_epochs_to_threshold_first_reaching_checkpoint():
    assert epochs_to_threshold([95.0, 97.9, 98.0, 99.0], 98.0) == (3, True)
    assert epochs_to_threshold([98.5], 98.0) == (1, True)


def test_epochs_to_threshold_censored_is_budget_plus_one():
    assert epochs_to_threshold([90.0, 95.0], 98.0) == (3, False)
    assert epochs_to_threshold([None, 99.0], 98.0) == (2, True)


def test_combine_two_part_verdicts():
    h, f, i = Verdict.HOLDS, Verdict.FAILS, Verdict.INCONCLUSIVE
    assert combine(h, h) == h
    assert combine(h, f) == f and combine(i, f) == f
    assert combine(h, i) == i


# ------------------------------------------------------------------------ TD-4


def test_wasserstein1_matches_scipy_and_is_order_free():
    a = torch.randn(500, generator=gen(1))
    b = 0.5 * torch.randn(500, generator=gen(2)) + 0.3
    expected = sps.wasserstein_distance(a.numpy(), b.numpy())
    assert wasserstein1(a, b) == pytest.approx(expected, rel=1e-6)
    assert wasserstein1(a, a[torch.randperm(500, generator=gen(3))]) == 0.0
    assert wasserstein1(a, a + 0.25) == pytest.approx(0.25, rel=1e-6)


def test_wasserstein1_needs_equal_sizes():
    with pytest.raises(ValueError, match="equal size"):
        wasserstein1(torch.zeros(3), torch.zeros(4))


def test_moments_and_bimodality_coefficient_reference_shapes():
    normal = torch.randn(50_000, generator=gen(4), dtype=torch.float64)
    uniform = torch.rand(50_000, generator=gen(5), dtype=torch.float64)
    skew, kurt = moments(normal)
    assert abs(skew) < 0.05 and abs(kurt) < 0.1
    assert moments(uniform)[1] == pytest.approx(-1.2, abs=0.03)
    assert bimodality_coefficient(normal) == pytest.approx(1 / 3, abs=0.01)
    assert bimodality_coefficient(uniform) == pytest.approx(5 / 9, abs=0.01)
    two_peaks = torch.cat([normal[:25_000] * 0.2 - 2, normal[25_000:] * 0.2 + 2])
    assert bimodality_coefficient(two_peaks) > 0.9


def test_count_modes_unimodal_uniform_and_bimodal():
    normal = torch.randn(20_000, generator=gen(6))
    assert count_modes(normal) == 1
    assert count_modes(torch.rand(20_000, generator=gen(7))) == 1
    mix = torch.cat([normal[:10_000] * 0.3 - 2, normal[10_000:] * 0.3 + 2])
    assert count_modes(mix) == 2
    three = torch.cat([normal[:6000] * 0.2 - 3, normal[6000:12000] * 0.2, normal[12000:] * 0.2 + 3])
    assert count_modes(three) == 3


def test_silverman_test_rejects_two_modes_and_keeps_one():
    from precision_kit.modality import silverman_test

    normal = torch.randn(4000, generator=gen(11), dtype=torch.float64)
    assert silverman_test(normal, n_boot=100).p_value > 0.05
    two = torch.cat([normal[:2000] * 0.5 - 2, normal[2000:] * 0.5 + 2])
    result = silverman_test(two, n_boot=100)
    assert result.p_value < 0.02 and result.n == 1000 and result.h_crit > 0
    with pytest.raises(ValueError, match="at least 3 finite"):
        silverman_test([1.0, float("nan"), 2.0])


def _td4_inputs(grew=True, log_ratio=0.5, p_end=0.001, p_init=0.5, seeds=3, layers=("a", "b")):
    keys = [(s, ly) for s in range(seeds) for ly in layers]
    ratios = [log_ratio + 0.05 * s for s in range(seeds)]
    return ({k: grew for k in keys}, ratios, {k: p_end for k in keys}, {k: p_init for k in keys}, len(layers))


def test_td4_holds_when_weights_move_past_the_control_and_become_multimodal():
    from precision_kit.claims.training_dynamics_repr import shape_verdict

    verdict, moves, multi, _ = shape_verdict(*_td4_inputs())
    assert (verdict, moves, multi) == (Verdict.HOLDS, Verdict.HOLDS, Verdict.HOLDS)


@pytest.mark.parametrize(("change", "part"), [
    ({"grew": False}, "moves"),  # W1 shrinks: the distribution comes back towards the init
    ({"log_ratio": -0.5}, "moves"),  # moves less than a network that learns nothing
    ({"p_end": 0.5}, "multimodal"),  # nothing became multimodal
])
def test_td4_fails_on_data_that_contradict_either_part(change, part):
    from precision_kit.claims.training_dynamics_repr import shape_verdict

    verdict, moves, multi, _ = shape_verdict(*_td4_inputs(**change))
    assert verdict == Verdict.FAILS and {"moves": moves, "multimodal": multi}[part] == Verdict.FAILS


def test_td4_is_inconclusive_when_the_init_is_already_multimodal():
    from precision_kit.claims.training_dynamics_repr import shape_verdict

    assert shape_verdict(*_td4_inputs(p_init=0.001))[2] == Verdict.INCONCLUSIVE


def small_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))


def test_weight_recorder_tracks_every_layer_and_resets_per_run():
    model = small_model()
    rec = WeightRecorder()
    rec.on_epoch(0, model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    rec.on_epoch(1, model)
    out = rec.result()
    assert out["weight_epochs"] == [0, 1]
    assert set(out["weights"]) == {"0", "3"}
    for row in out["weights"].values():
        assert row["w1"][0] == 0.0
        assert row["w1"][1] == pytest.approx(0.01, rel=1e-4)
        assert sum(row["histogram"][1]["counts"]) > 0
        assert row["modes"][0] >= 1 and len(row["bimodality"]) == 2
    rec.on_epoch(0, small_model(1))  # a new seed starts over
    assert rec.result()["weight_epochs"] == [0]


def test_weight_layers_of_the_cnn_are_its_two_convs_and_two_linears():
    assert list(weight_layers(cnn(0.5))) == ["0", "3", "7", "10"]


def test_weight_recorder_rejects_a_different_model_mid_run():
    rec = WeightRecorder()
    rec.on_epoch(0, small_model())
    with pytest.raises(ValueError, match="on_epoch\\(0"):
        rec.on_epoch(1, nn.Sequential(nn.Linear(3, 2)))


# ------------------------------------------------------------------------ TD-5


def clusters(n_per: int, spread: float, seed: int = 0):
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = centres.repeat_interleave(n_per, 0) + spread * torch.randn(3 * n_per, 2, generator=gen(seed))
    return x, torch.arange(3).repeat_interleave(n_per)


def test_knn_separated_clusters_are_perfect_and_noise_is_chance():
    x, y = clusters(50, 0.5)
    assert knn_loo_accuracy(x, y, k=5) == 100.0
    noise = torch.randn(3000, 8, generator=gen(9))
    labels = torch.randint(0, 10, (3000,), generator=gen(10))
    assert abs(knn_loo_accuracy(noise, labels, k=5) - 10.0) < 3.0


def test_knn_leaves_the_point_itself_out():
    x = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
    assert knn_loo_accuracy(x, torch.tensor([0, 1, 0, 1]), k=1) == 0.0
    assert knn_loo_accuracy(x, torch.tensor([0, 0, 1, 1]), k=1) == 100.0
    with pytest.raises(ValueError, match="k must be"):
        knn_loo_accuracy(x, torch.tensor([0, 0, 1, 1]), k=4)


def silhouette_reference(x: torch.Tensor, y: torch.Tensor) -> float:
    """The textbook definition, point by point."""
    d = torch.cdist(x.double(), x.double())
    scores = []
    for i in range(len(x)):
        same = (y == y[i]) & (torch.arange(len(x)) != i)
        if not same.any():
            scores.append(0.0)
            continue
        a = float(d[i, same].mean())
        b = min(float(d[i, y == c].mean()) for c in y.unique() if c != y[i])
        scores.append((b - a) / max(a, b))
    return sum(scores) / len(scores)


def test_silhouette_matches_the_definition():
    x, y = clusters(12, 3.0, seed=11)
    assert silhouette(x, y) == pytest.approx(silhouette_reference(x, y), rel=1e-9)
    tight, yt = clusters(20, 0.01)
    assert silhouette(tight, yt) > 0.99
    y_single = y.clone()
    y_single[0] = 7  # a singleton class scores 0
    assert silhouette(x, y_single) == pytest.approx(silhouette_reference(x, y_single), rel=1e-9)


def test_pca_2d_finds_the_main_axes_deterministically():
    g = gen(12)
    x = torch.randn(400, 5, generator=g) * torch.tensor([10.0, 3.0, 0.1, 0.1, 0.1])
    coords = pca_2d(x)
    assert coords.shape == (400, 2)
    assert torch.allclose(coords, pca_2d(x))
    var = coords.var(0)
    assert var[0] > var[1] > 1.0
    assert float(coords.mean(0).abs().max()) < 1e-9
    assert math.isclose(float(coords[:, 0].var()), float((x[:, 0] - x[:, 0].mean()).var()), rel_tol=0.02)
