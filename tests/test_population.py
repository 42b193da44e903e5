"""Population training: members independent of each other, close to the sequential engine,
per-member loss scale and divergence, determinism, and the cache entries it leaves."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import synthetic_dataset
from torch import nn

from precision_kit import population_stack
from precision_kit.experiment import Arm, ModelSpec, engine_for, run_arm, run_seeds
from precision_kit.models import cnn, mlp
from precision_kit.population import PopulationError, train_population
from precision_kit.population_optim import PopulationOptimizer
from precision_kit.precision import get_precision
from precision_kit.stats import equivalence
from precision_kit.train import TrainConfig, train

BASE = TrainConfig(epochs=1, batch_size=50, lr=3e-3, evaluation="final")


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=600, n_test=200)


def members(n: int, depth: int = 2, width: int = 24, **kw):
    return [mlp(depth, width, seed=s, **kw) for s in range(n)]


def params(result) -> list[torch.Tensor]:
    return [p.detach().clone() for p in result.model.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(params(a), params(b), strict=True))


def ulps(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest |a − b| in units of the dtype's epsilon × the larger magnitude (≥ 1)."""
    eps = torch.finfo(a.dtype).eps
    scale = torch.maximum(a.abs(), b.abs()).clamp(min=1.0)
    return float(((a - b).abs() / (scale * eps)).max())


@pytest.mark.parametrize("precision", ["fp64", "fp32", "bf16", "fp16", "amp-bf16", "amp-fp16"])
def test_one_step_of_a_single_member_is_within_a_few_ulps_of_the_sequential_engine(data, precision):
    """A population of one after one Adam step against `train`: the same fused Adam on
    gradients that `bmm` may sum in another order than `mm`. Measured on the AMD EPYC:
    bit-identical in all six modes after one step; after 12 steps fp32 differs in 311 of
    20,000 weights by ≤ 19 relative ulps (the other modes still 0). The bound below allows
    4 ulps of the weight for another CPU's kernels (an Adam step moves a weight by ~lr, so
    a gradient's rounding reaches the weight only through its sign and the eps term)."""
    config = BASE.replace(precision=precision, max_steps=1, evaluation="none")
    [pop] = train_population(members(1), data, [config])
    seq = train(members(1)[0], data, config)
    for a, b in zip(params(pop), params(seq), strict=True):
        assert ulps(a.double(), b.double()) <= 4 * torch.finfo(a.dtype).eps / torch.finfo(torch.float64).eps


def test_after_training_a_population_and_the_sequential_engine_reach_equivalent_accuracies(data):
    """Six seeds, two epochs, fp32: paired accuracies within ±1 point by the project's own
    equivalence test (90% CI inside the margin). Measured: identical accuracies or ±0.5."""
    config = BASE.replace(epochs=2, precision="fp32")
    configs = [config.replace(seed=s) for s in range(6)]
    pop = train_population(members(6), data, configs)
    seq = [train(m, data, c) for m, c in zip(members(6), configs, strict=True)]
    judged = equivalence([r.test_accuracy for r in pop], [r.test_accuracy for r in seq], margin=1.0)
    assert str(judged.verdict) == "HOLDS", judged.line()


@pytest.mark.parametrize(
    "change",
    [dict(lr=1e-2), dict(seed=7), dict(clip="norm", clip_value=0.05), dict(clip="value", clip_value=1e-3),
     dict(lr_decay=0.5)],
    ids=["lr", "data-order", "clip-norm", "clip-value", "lr-decay"],
)
@pytest.mark.parametrize("precision", ["fp32", "amp-fp16"])
def test_changing_one_member_leaves_the_others_bit_identical(data, change, precision):
    config = BASE.replace(epochs=2, precision=precision)
    configs = [config.replace(seed=s) for s in range(3)]
    before = train_population(members(3), data, configs)
    changed = list(configs)
    changed[1] = configs[1].replace(**change)
    after = train_population(members(3), data, changed)
    assert same(before[0], after[0]) and same(before[2], after[2])
    assert not same(before[1], after[1])  # the change did reach member 1


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(4)))
def test_permuting_members_permutes_the_results(data, order):
    config = BASE.replace(max_steps=8, evaluation="none")
    lrs = [1e-3, 3e-3, 1e-2, 3e-3]
    configs = [config.replace(seed=s, lr=lrs[s]) for s in range(4)]
    straight = train_population(members(4), data, configs)
    models = members(4)
    permuted = train_population([models[i] for i in order], data, [configs[i] for i in order])
    for position, i in enumerate(order):
        assert same(permuted[position], straight[i])


@pytest.mark.parametrize("precision", ["fp32", "amp-bf16", "amp-fp16"])
def test_a_seed_ends_the_same_alone_or_among_others(data, precision):
    """What the cache relies on: seed 0 trained alone, beside one other seed, or among five
    ends bit for bit the same (a seed's entry must not depend on which seeds were pending)."""
    config = BASE.replace(precision=precision, epochs=2)
    runs = [train_population(members(n), data, [config.replace(seed=s) for s in range(n)])[0] for n in (1, 2, 5)]
    assert same(runs[0], runs[1]) and same(runs[0], runs[2])
    assert runs[0].test_accuracy == runs[2].test_accuracy


def test_a_population_run_is_bit_reproducible(data):
    configs = [BASE.replace(seed=s, precision="amp-bf16") for s in range(3)]
    first = train_population(members(3), data, configs)
    second = train_population(members(3), data, configs)
    for a, b in zip(first, second, strict=True):
        assert same(a, b) and a.epochs == tuple(
            type(e)(**{**e.__dict__, "seconds": f.seconds}) for e, f in zip(b.epochs, a.epochs, strict=True)
        )


def test_a_diverging_member_is_reported_and_the_others_equal_a_run_without_it(data):
    """Member 1 trains with SGD at lr 1e6: its loss overflows; it is DIVERGED at that step,
    and members 0 and 2 end exactly as in a population without it."""
    config = BASE.replace(epochs=2, optimizer="sgd", lr=0.05)
    configs = [config.replace(seed=s) for s in range(3)]
    configs[1] = configs[1].replace(lr=1e6)
    with_bad = train_population(members(3), data, configs)
    models = members(3)
    without = train_population([models[0], models[2]], data, [configs[0], configs[2]])
    assert with_bad[1].diverged and with_bad[1].status.startswith("DIVERGED at step ")
    assert not with_bad[0].diverged and not with_bad[2].diverged
    assert same(with_bad[0], without[0]) and same(with_bad[2], without[1])
    assert with_bad[0].test_accuracy == without[0].test_accuracy


def test_an_overflowing_gradient_skips_only_its_own_members_step():
    """The per-member loss scale: an inf in member 1's gradient skips member 1's step (its
    scale halves, its weights stay), while members 0 and 2 step and keep their scale."""
    models = members(3, depth=1, width=8)
    stacked = population_stack.stack(models)
    configs = [BASE.replace(seed=s, precision="amp-fp16") for s in range(3)]
    opt = PopulationOptimizer(stacked, configs, get_precision("amp-fp16"), torch.device("cpu"))
    before = [p.detach().clone() for p in stacked.params]
    for p in stacked.params:
        p.grad = torch.full_like(p, 2.0**16)  # scaled gradients of 1.0
    stacked.weights[0].grad[1, 0, 0] = math.inf
    opt.step()
    after = stacked.params
    assert all(torch.equal(a[1], b[1]) for a, b in zip(after, before, strict=True))
    assert all(not torch.equal(a[j], b[j]) for a, b in zip(after, before, strict=True) for j in (0, 2))
    assert opt.scale.tolist() == [2.0**16, 2.0**15, 2.0**16]
    assert opt.skipped.tolist() == [0, 1, 0]


def test_members_that_cannot_share_a_population_are_refused(data):
    with pytest.raises(PopulationError, match="must share"):
        train_population(members(2), data, [BASE, BASE.replace(batch_size=10)])
    with pytest.raises(PopulationError, match="one architecture"):
        train_population([mlp(1, 8), mlp(1, 16)], data, [BASE, BASE])
    with pytest.raises(PopulationError, match="one architecture"):
        train_population([mlp(1, 8), cnn()], data, [BASE, BASE])
    no_bias = nn.Sequential(nn.Flatten(), nn.Linear(784, 10, bias=False))
    with pytest.raises(PopulationError, match="trains sequentially"):
        train_population([no_bias], data, [BASE])
    with pytest.raises(PopulationError, match="one on_epoch hook per model"):
        train_population(members(2), data, [BASE, BASE], on_epoch=[None])


CNN_BASE = TrainConfig(epochs=1, batch_size=32, lr=1e-3, evaluation="final", max_steps=6)


@pytest.mark.parametrize("optimizer", ["adam", "sgd-momentum", "rmsprop"])
def test_cnn_members_with_dropout_are_independent_of_each_other(data, optimizer):
    """The stacked CNN: member 0 ends bit-identical whether member 1 trains at another lr
    and another dropout p, and whether it trains alone."""
    config = CNN_BASE.replace(optimizer=optimizer, lr=1e-2 if optimizer == "sgd-momentum" else 1e-3)
    configs = [config.replace(seed=s) for s in range(3)]
    first = train_population([cnn(0.5, seed=s) for s in range(3)], data, configs)
    changed = list(configs)
    changed[1] = changed[1].replace(lr=config.lr * 3)
    models = [cnn(0.5, seed=s) for s in range(3)]
    models[1] = cnn(0.0, seed=1)
    second = train_population(models, data, changed)
    alone = train_population([cnn(0.5, seed=0)], data, [configs[0]])
    assert same(first[0], second[0]) and same(first[2], second[2]) and same(first[0], alone[0])
    assert not same(first[1], second[1])
    assert all(r.status == "OK" for r in first)


@pytest.mark.parametrize("precision", ["fp32", "amp-bf16"])
def test_one_cnn_step_stays_within_a_hundredth_of_an_adam_step_of_the_sequential_engine(data, precision):
    """Without dropout (its masks come from another generator by design), one Adam step of a
    CNN population of one against `train`. The convolutions are the same kernels; the FC
    layers are batched products, and Adam's first step, lr·g/(|g| + eps), multiplies a
    gradient's rounding by lr/eps = 1e5 where |g| ≲ eps (units after dead ReLUs), so "a few
    ulps" cannot be promised. Measured on the AMD EPYC: fp32, 19 of 225,154 weights differ,
    by at most 7.5e-9 (6 steps: 20,408, at most 8e-7); amp-bf16 bit-identical. The bound: 1%
    of lr."""
    config = CNN_BASE.replace(precision=precision, max_steps=1, evaluation="none")
    [pop] = train_population([cnn(0.0, seed=0)], data, [config])
    seq = train(cnn(0.0, seed=0), data, config)
    for a, b in zip(params(pop), params(seq), strict=True):
        assert float((a.double() - b.double()).abs().max()) <= 0.01 * config.lr


def test_rmsprop_members_match_torch_optim_after_one_step(data):
    config = BASE.replace(optimizer="rmsprop", max_steps=1, evaluation="none")
    [pop] = train_population(members(1), data, [config])
    seq = train(members(1)[0], data, config)
    for a, b in zip(params(pop), params(seq), strict=True):
        assert ulps(a.double(), b.double()) <= 4 * torch.finfo(a.dtype).eps / torch.finfo(torch.float64).eps


def test_every_member_gets_its_own_epoch_hook(data):
    """What TD-4's weight recorder needs: epoch 0 before training, then one call per epoch
    with that member's own (trained) weights."""
    seen: dict[int, list] = {0: [], 1: []}

    def hook(j):
        return lambda epoch, model: seen[j].append((epoch, model[1].weight.detach().clone()))

    config = BASE.replace(epochs=2)
    results = train_population(members(2), data, [config.replace(seed=s) for s in range(2)],
                               on_epoch=[hook(0), hook(1)])
    assert [e for e, _ in seen[0]] == [0, 1, 2] and [e for e, _ in seen[1]] == [0, 1, 2]
    assert torch.equal(seen[0][-1][1], results[0].model[1].weight)
    assert not torch.equal(seen[0][0][1], seen[0][-1][1]) and not torch.equal(seen[0][-1][1], seen[1][-1][1])


def test_the_orchestrator_stacks_every_arm_of_the_suite():
    mlp_arm = Arm(ModelSpec("mlp", depth=1, width=16), BASE)
    assert engine_for(mlp_arm) == "population"
    assert engine_for(mlp_arm.with_config(optimizer="rmsprop")) == "population"
    assert engine_for(Arm(ModelSpec("cnn"), BASE)) == "population"


def test_stacked_runs_enter_and_leave_the_cache_per_seed(cache_dir, data):
    """Seeds 0–2 as one population; seed 1 alone afterwards loads from the cache, and a
    seed trained alone (a population of one) equals the same seed trained among others."""
    arm = Arm(ModelSpec("mlp", depth=1, width=16), BASE)
    trio = run_seeds(arm, [0, 1, 2], data=data)
    assert not any(r.from_cache for r in trio)
    again = run_arm(arm, 1, data=data)
    assert again.from_cache and torch.equal(again.correct, trio[1].correct)
    assert all(torch.equal(again.state_dict[k], trio[1].state_dict[k]) for k in again.state_dict)
    alone = run_arm(arm, 1, data=data, use_cache=False)
    assert all(torch.equal(alone.state_dict[k], trio[1].state_dict[k]) for k in alone.state_dict)
    assert [r.seed for r in run_seeds(arm, [2, 0], data=data)] == [2, 0]
