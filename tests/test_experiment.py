"""The orchestrator and its cache: one training per (arm, seed), atomic entries, controls
(damaged, foreign and planted entries: tests/test_cache.py)."""

from __future__ import annotations

import pytest
import torch
from synthetic import synthetic_dataset

from precision_kit import cache
from precision_kit.experiment import Arm, ModelSpec, check_control, run_arm, run_seeds
from precision_kit.train import TrainConfig

ARM = Arm(ModelSpec("mlp", depth=1, width=16), TrainConfig(epochs=1, batch_size=100, lr=3e-3))


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset()


def test_second_run_loads_the_same_model_from_the_cache(cache_dir, data):
    first = run_arm(ARM, 0, data=data)
    second = run_arm(ARM, 0, data=data)
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.correct, second.correct)
    assert all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    assert len(list(cache_dir.glob(f"*{cache.SUFFIX}"))) == 1 and not list(cache_dir.glob(".*tmp"))


def test_seed_precision_and_config_each_make_a_new_entry(cache_dir, data):
    run_arm(ARM, 0, data=data)
    run_arm(ARM, 1, data=data)
    run_arm(ARM.with_config(precision="bf16"), 0, data=data)
    run_arm(ARM.with_config(lr=1e-3), 0, data=data)
    assert len(list(cache_dir.glob(f"*{cache.SUFFIX}"))) == 4


def test_arms_of_a_seed_share_initial_weights_and_data_order(cache_dir, data):
    # One step of plain SGD with lr → 0 leaves the weights at their (shared) start.
    tiny = ARM.with_config(optimizer="sgd", lr=1e-30, max_steps=1)
    a, b = run_arm(tiny, 3, data=data), run_arm(tiny.with_config(precision="fp64"), 3, data=data)
    assert torch.allclose(a.state_dict["1.weight"].double(), b.state_dict["1.weight"], atol=1e-7)


def test_accuracy_matches_the_stored_correctness_and_the_control_holds(cache_dir, data):
    runs = run_seeds(ARM, [0, 1], data=data)
    for run in runs:
        assert run.accuracy == pytest.approx(100.0 * run.correct.float().mean().item())
        assert run.accuracy == pytest.approx(run.epochs[-1].test_accuracy)
    assert check_control(runs[0], data=data) == 0


def test_model_spec_validates_and_labels():
    with pytest.raises(ValueError, match="kind='rnn'"):
        ModelSpec("rnn")
    with pytest.raises(ValueError, match="depth must be"):
        ModelSpec("mlp", depth=0)
    assert ModelSpec("mlp", depth=2, width=(128, 64)).label == "mlp 784-128-64-10"
