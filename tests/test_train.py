"""The training loop: validation, learning, reproducibility, divergence, scaler, clipping."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import torch
from synthetic import synthetic_dataset

from precision_kit.data import Dataset, Split
from precision_kit.devices import own_peak, peak_memory, start_peak_memory
from precision_kit.errors import PrecisionKitError, UnsupportedError
from precision_kit.evaluate import evaluate
from precision_kit.models import cnn, mlp
from precision_kit.train import TrainConfig, data_generator, train

# The module, not the `train` function that precision_kit re-exports under the same name.
train_module = importlib.import_module("precision_kit.train")


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "adagrad"}, "optimizer='adagrad'.*expected one of adam, sgd, sgd-momentum, rmsprop"),
        ({"precision": "int4"}, "unknown precision 'int4'.*expected one of"),
        ({"epochs": 0}, "epochs must be a positive int"),
        ({"batch_size": -1}, "batch_size must be a positive int"),
        ({"lr": 0}, "lr must be a positive"),
        ({"clip": "norm"}, "clip_value must be a positive"),
        ({"clip": "none", "clip_value": 1.0}, "clip_value=1.0 given with clip='none'"),
        ({"clip": "global"}, "expected one of none, norm, value"),
        ({"lr_decay": 1.5}, "lr_decay must be in"),
        ({"seed": -1}, "seed must be an int"),
        ({"evaluation": "sometimes"}, "expected one of epoch, final, none"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().epochs = 3


def test_training_learns_and_records_curves(data):
    result = train(mlp(2, 64, seed=0), data, TrainConfig(epochs=2, batch_size=64, lr=3e-3))
    assert result.status == "OK" and result.steps == 2 * -(-len(data.train) // 64)
    first, last = result.epochs
    assert last.train_loss < first.train_loss
    assert result.test_accuracy > 90.0  # chance is 10%
    assert all(e.seconds > 0 and e.test_loss is not None for e in result.epochs)
    assert result.peak_memory_bytes is None  # CPU: no allocator statistics


def test_same_seed_bit_identical_weights_other_seed_different(data):
    config = TrainConfig(epochs=1, batch_size=100, evaluation="none")
    runs = [train(mlp(2, 32, seed=s), data, config.replace(seed=s)).model for s in (3, 3, 4)]
    same = [torch.equal(a, b) for a, b in zip(runs[0].parameters(), runs[1].parameters(), strict=False)]
    other = [torch.equal(a, b) for a, b in zip(runs[0].parameters(), runs[2].parameters(), strict=False)]
    assert all(same) and not any(other)


def test_data_order_has_its_own_generator(data):
    # Same initial weights, different data-order seed: different trained weights.
    a = train(mlp(1, 16, seed=0), data, TrainConfig(seed=0, evaluation="none")).model
    b = train(mlp(1, 16, seed=0), data, TrainConfig(seed=1, evaluation="none")).model
    assert not torch.equal(a[1].weight, b[1].weight)


@pytest.mark.parametrize("precision", ["fp64", "fp16", "bf16", "amp-fp16", "amp-bf16"])
def test_each_cpu_precision_trains_in_its_dtype(data, precision):
    result = train(mlp(1, 32, seed=0), data, TrainConfig(batch_size=50, lr=3e-3, precision=precision))
    dtype = {"fp64": torch.float64, "fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
    assert all(p.dtype == dtype for p in result.model.parameters())
    assert result.status == "OK" and result.test_accuracy > 80.0


def test_tf32_on_cpu_and_cuda_without_gpu_raise(data):
    with pytest.raises(UnsupportedError, match="tf32"):
        train(mlp(1, 8), data, TrainConfig(precision="tf32"))
    if not torch.cuda.is_available():
        with pytest.raises(UnsupportedError, match="CUDA requested"):
            train(mlp(1, 8), data, TrainConfig(device="cuda"))


def test_divergence_is_caught_at_the_exact_step(data):
    # One NaN image: the loss of the batch holding it is the first non-finite one.
    images = data.train.images.clone()
    poisoned = 777
    images[poisoned] = float("nan")
    bad = Dataset("mnist", Split(images, data.train.labels), data.test, "unit")
    batch_size = 100
    perm = torch.randperm(len(images), generator=data_generator(5))
    expected_step = int((perm == poisoned).nonzero()) // batch_size + 1
    result = train(mlp(1, 16), bad, TrainConfig(epochs=2, batch_size=batch_size, seed=5))
    assert result.diverged and result.diverged_at_step == expected_step
    assert result.status == f"DIVERGED at step {expected_step}"
    assert result.epochs == ()  # no epoch finished, so no accuracy was recorded
    with pytest.raises(PrecisionKitError, match="diverged model has no accuracy"):
        _ = result.test_accuracy


def test_exploding_learning_rate_diverges(data):
    result = train(mlp(2, 32), data, TrainConfig(precision="fp16", optimizer="sgd", lr=1e4, batch_size=50))
    assert result.diverged and result.status.startswith("DIVERGED at step ")


def test_grad_scaler_skips_overflowing_steps_and_counts_them(data):
    # Inputs ×300 make float16 weight gradients of the scaled loss overflow (scale 2^16),
    # while the loss itself stays finite: GradScaler skips those steps and backs off.
    loud = Dataset("mnist", Split(data.train.images * 300, data.train.labels), data.test, "unit")
    result = train(mlp(1, 16), loud, TrainConfig(precision="amp-fp16", batch_size=100, evaluation="none"))
    assert result.status == "OK"
    assert 1 <= result.skipped_steps < result.steps
    plain = train(mlp(1, 16), data, TrainConfig(precision="fp32", batch_size=100, evaluation="none"))
    assert plain.skipped_steps == 0


@pytest.mark.parametrize("clip", ["norm", "value"])
def test_clipping_changes_the_trajectory(data, clip):
    base = TrainConfig(batch_size=100, lr=1e-2, optimizer="sgd", evaluation="none")
    free = train(mlp(1, 16), data, base).model
    clipped = train(mlp(1, 16), data, base.replace(clip=clip, clip_value=1e-3)).model
    assert not torch.equal(free[1].weight, clipped[1].weight)


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "rmsprop"])
def test_other_optimizers_and_lr_decay_learn(data, optimizer):
    lr = {"sgd": 0.1, "sgd-momentum": 0.05, "rmsprop": 1e-3}[optimizer]
    result = train(mlp(1, 32), data, TrainConfig(epochs=2, batch_size=50, lr=lr, optimizer=optimizer, lr_decay=0.5))
    assert result.test_accuracy > 80.0


def test_cnn_trains_with_reproducible_dropout(data):
    config = TrainConfig(epochs=2, batch_size=50, lr=1e-3, evaluation="none")
    first = train(cnn(0.5, seed=0), data, config)
    a, b = first.model, train(cnn(0.5, seed=0), data, config).model
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=False))
    assert first.epochs[1].train_loss < first.epochs[0].train_loss
    assert evaluate(a, data).accuracy > 25.0  # chance is 10%


def test_a_batch_size_past_the_split_trains_full_batch(data):
    """batch_size larger than the training split means one full batch per epoch; the reused
    batch buffers are sized to the split, not to the requested batch (10⁸ rows would not fit)."""
    config = TrainConfig(epochs=2, batch_size=10**8, lr=1e-2, evaluation="none")
    result = train(mlp(1, 16, seed=0), data, config)
    assert result.status == "OK" and result.steps == 2
    full = train(mlp(1, 16, seed=0), data, config.replace(batch_size=len(data.train)))
    assert all(torch.equal(a, b) for a, b in zip(result.model.parameters(), full.model.parameters(), strict=True))


# ----------------------------------------------------------------------------- peak memory
class FakeAllocator:
    """The three CUDA allocator statistics `train` reads, on a counter of allocated bytes."""

    def __init__(self, allocated: int):
        self.allocated = self.peak = allocated

    def alloc(self, nbytes: int) -> None:
        self.allocated += nbytes
        self.peak = max(self.peak, self.allocated)

    def install(self, monkeypatch) -> None:
        monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: setattr(self, "peak", self.allocated))
        monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: self.allocated)
        monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: self.peak)


def test_own_peak_is_the_peak_above_the_allocation_at_start():
    assert own_peak(5_000, 1_200) == 3_800
    assert own_peak(1_200, 1_200) == 0
    with pytest.raises(ValueError, match="peak 100 bytes is below the 200 bytes allocated"):
        own_peak(100, 200)


def test_cuda_peak_memory_excludes_what_was_resident_before_training(monkeypatch):
    """An earlier arm's peak and the resident dataset (700 bytes) do not count; the arm's
    allocations (model 300, activations 500 later freed, optimizer state 100) do."""
    allocator = FakeAllocator(allocated=700)
    allocator.peak = 10_000  # an earlier arm's peak, before the reset
    allocator.install(monkeypatch)
    device = torch.device("cuda")
    at_start = start_peak_memory(device)
    for nbytes in (300, 500, -500, 100):
        allocator.alloc(nbytes)
    assert at_start == 700
    assert peak_memory(device, at_start) == 800


def test_cpu_peak_memory_is_none_without_touching_cuda(monkeypatch):
    def refuse(device):
        raise AssertionError("CUDA allocator statistics read for a CPU run")

    for name in ("reset_peak_memory_stats", "memory_allocated", "max_memory_allocated"):
        monkeypatch.setattr(torch.cuda, name, refuse)
    at_start = start_peak_memory(torch.device("cpu"))
    assert at_start is None and peak_memory(torch.device("cpu"), at_start) is None


def test_peak_is_reset_after_the_dataset_and_before_the_model_moves(monkeypatch, data):
    """The arm's peak counts its own model: the reset comes before the model is cast and moved."""
    events = []
    start, cast = train_module.start_peak_memory, train_module.cast_model
    monkeypatch.setattr(train_module, "start_peak_memory", lambda device: events.append("reset") or start(device))
    monkeypatch.setattr(train_module, "cast_model", lambda *args: events.append("cast model") or cast(*args))
    result = train(mlp(1, 16, seed=0), data, TrainConfig(max_steps=1, evaluation="none"))
    assert events == ["reset", "cast model"] and result.peak_memory_bytes is None


def test_adam_eps_defaults_to_the_precision_and_can_be_set(data):
    from precision_kit.train import adam_eps, make_optimizer

    assert adam_eps(TrainConfig(precision="fp32")) == 1e-8
    assert adam_eps(TrainConfig(precision="fp16")) == 1e-4
    assert adam_eps(TrainConfig(precision="fp32", adam_eps=1e-4)) == 1e-4
    with pytest.raises(ValueError, match="adam_eps must be a positive float"):
        TrainConfig(adam_eps=0.0)
    opt = make_optimizer(mlp(1, 8).parameters(), TrainConfig(adam_eps=1e-4), torch.device("cpu"))
    assert opt.param_groups[0]["eps"] == 1e-4
    # the eps changes the trajectory: a control arm differs from fp32 only in it
    a = train(mlp(1, 16, seed=0), data, TrainConfig(epochs=1, batch_size=64, evaluation="none"))
    b = train(mlp(1, 16, seed=0), data, TrainConfig(epochs=1, batch_size=64, evaluation="none", adam_eps=1e-4))
    assert not torch.equal(a.model[1].weight, b.model[1].weight)


def test_a_population_trains_the_eps_it_is_given_like_the_sequential_loop(data):
    from precision_kit.population import train_population

    config = TrainConfig(epochs=1, batch_size=64, evaluation="none", adam_eps=1e-4)
    [pop] = train_population([mlp(1, 16, seed=0)], data, [config])
    seq = train(mlp(1, 16, seed=0), data, config)
    assert torch.allclose(pop.model[1].weight, seq.model[1].weight, atol=1e-6)


def test_on_step_sees_every_optimizer_step_and_its_state(data):
    seen = []

    def probe(step, optimizer):
        state = optimizer.state[optimizer.param_groups[0]["params"][0]]
        seen.append((step, int(state["step"])))

    result = train(mlp(1, 16, seed=0), data, TrainConfig(epochs=2, batch_size=64, evaluation="none"), on_step=probe)
    assert [s for s, _ in seen] == list(range(1, result.steps + 1))
    assert all(step == adam_step for step, adam_step in seen)
