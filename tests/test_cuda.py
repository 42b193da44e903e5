"""The CUDA paths, checked on a GPU (every test is marked `cuda` and skips with a reason
without one; the one-window GPU run, tools/gpu_window.py, runs `pytest tests -m cuda`).
Each test checks a defect found by reading the CUDA code, on the real kernels."""

from __future__ import annotations

import pytest
import torch
from synthetic import synthetic_dataset

import precision_kit as pk
from precision_kit import cache
from precision_kit.devices import determinism_flags
from precision_kit.experiment import Arm, ModelSpec, run_arm
from precision_kit.precision import PRECISIONS
from precision_kit.size import model_size
from precision_kit.train import TrainConfig

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=1024, n_test=512)


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_every_precision_trains_and_evaluates_on_cuda(data, precision):
    result = pk.train(pk.mlp(1, 32, seed=0), data, TrainConfig(epochs=1, batch_size=128, precision=precision,
                                                               device="cuda"))
    assert result.status == "OK" and result.epochs[-1].train_loss < 2.3
    assert pk.evaluate(result.model, data.to("cuda"), "test", precision).accuracy > 50


def test_a_cpu_int8_model_evaluates_data_on_cuda_as_data_on_the_cpu(data):
    trained = pk.train(pk.mlp(2, 64, seed=0), data, TrainConfig(epochs=1, batch_size=64)).model
    int8 = pk.quantize_int8(trained, backend="torch.ao")
    on_cpu = pk.evaluate(int8, data, "test")
    on_cuda = pk.evaluate(int8, data.to("cuda"), "test")  # cuda → cpu copies must finish before use
    assert torch.equal(on_cpu.correct, on_cuda.correct.cpu())


def test_fp32_cnn_evaluation_is_true_fp32_whatever_the_tf32_default(data):
    model = pk.cnn(0.5, seed=0).to("cuda")
    gpu = data.to("cuda")
    saved = torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = True  # cuDNN's default
        a = pk.evaluate(model, gpu, "test", "fp32")
        torch.backends.cudnn.allow_tf32 = False
        b = pk.evaluate(model, gpu, "test", "fp32")
    finally:
        torch.backends.cudnn.allow_tf32 = saved
    assert a.loss == b.loss and torch.equal(a.correct, b.correct)


def test_the_serialized_size_does_not_depend_on_the_device():
    model = pk.mlp(2, 64, seed=0)
    assert model_size(model).serialized_bytes == model_size(model.to("cuda")).serialized_bytes


def test_peak_memory_is_the_arms_own_not_the_resident_data(data):
    resident = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")  # 256 MiB held by someone else
    result = pk.train(pk.mlp(1, 32, seed=0), data, TrainConfig(epochs=1, batch_size=128, device="cuda"))
    assert 0 < result.peak_memory_bytes < resident.numel()


def test_cuda_training_is_deterministic_and_recorded(data):
    config = TrainConfig(epochs=1, batch_size=64, device="cuda", max_steps=10)
    a = pk.train(pk.cnn(0.5, seed=0), data, config).model.state_dict()
    b = pk.train(pk.cnn(0.5, seed=0), data, config).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    flags = determinism_flags()
    assert flags["cudnn_deterministic"] and not flags["cudnn_benchmark"] and flags["cublas_workspace_config"]


def test_a_cuda_entry_of_the_cache_names_the_gpu(data, cache_dir):
    arm = Arm(ModelSpec("mlp", depth=1, width=16), TrainConfig(epochs=1, batch_size=100))
    first = run_arm(arm, 0, "cuda", data=data)
    again = run_arm(arm, 0, "cuda", data=data)
    assert not first.from_cache and again.from_cache and torch.equal(first.correct, again.correct)
    description = arm.describe(0, torch.device("cuda", 0))
    assert cache.cache_key(description) != cache.cache_key(arm.describe(0, torch.device("cpu")))
    assert cache.cuda_context(0)["gpu"] == torch.cuda.get_device_name(0)


@pytest.mark.parametrize("precision", list(PRECISIONS))
def test_a_population_trains_on_cuda_in_every_mode_and_its_members_stay_independent(data, precision):
    """Every precision mode as a 3-member population on the GPU: each member learns, and
    member 0 ends bit-identical whether member 1 trains at its lr or at 10× it."""
    from precision_kit.population import train_population

    config = TrainConfig(epochs=1, batch_size=64, precision=precision, device="cuda", evaluation="final")
    configs = [config.replace(seed=s) for s in range(3)]
    first = train_population([pk.mlp(1, 32, seed=s) for s in range(3)], data, configs)
    configs[1] = configs[1].replace(lr=configs[1].lr * 10)
    second = train_population([pk.mlp(1, 32, seed=s) for s in range(3)], data, configs)
    assert all(r.status == "OK" and r.test_accuracy > 50 for r in first)
    assert all(torch.equal(a, b) for a, b in zip(first[0].model.parameters(), second[0].model.parameters(),
                                                  strict=True))
