"""The model-cache key of a CUDA run names the GPU and its software stack (GPU model, CUDA and
cuDNN versions, determinism and TF32 flags), faked here with monkeypatch; a CPU run's key is
the one the cache has always computed, so CPU entries already on disk stay valid."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
import torch

from precision_kit import cache
from precision_kit.devices import CUBLAS_WORKSPACE, CUBLAS_WORKSPACE_ENV
from precision_kit.errors import UnsupportedError
from precision_kit.experiment import Arm, ModelSpec
from precision_kit.train import TrainConfig

ARM = Arm(ModelSpec("mlp", depth=1, width=16), TrainConfig(epochs=1, batch_size=100, lr=3e-3))


def old_key(description: dict) -> str:
    """The key as computed before CUDA entered it: code version, CPU threads, description."""
    context = {"code": cache.code_version(), "threads": torch.get_num_threads()}
    text = json.dumps({**context, **description}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fold_description(device: str) -> dict:
    """A description in `kfold_protocol.fold_run`'s shape (its config holds the device string)."""
    config = ARM.config.replace(device=device, evaluation="none")
    return {"claim": "SZ-7 fold", "k": 5, "fold": 0, "split_seed": 0, "config": dataclasses.asdict(config)}


@pytest.fixture
def fake_gpu(monkeypatch):
    """Pretend this machine has two GPUs; returns a function that sets their model names and
    the CUDA/cuDNN versions torch reports. All undone after the test, with the determinism
    flags that resolving a CUDA device sets (setenv first: undoing it removes the variable)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", torch.backends.cudnn.deterministic)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    monkeypatch.setenv(CUBLAS_WORKSPACE_ENV, "placeholder")
    monkeypatch.delenv(CUBLAS_WORKSPACE_ENV)

    def install(names, cuda="12.4", cudnn=90100):
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: names[index or 0])
        monkeypatch.setattr(torch.version, "cuda", cuda)
        monkeypatch.setattr(torch.backends.cudnn, "version", lambda: cudnn)

    install(("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"))
    return install


@pytest.fixture
def tf32_restored():
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.parametrize("description", [ARM.describe(0, torch.device("cpu")), fold_description("cpu")])
def test_a_cpu_key_is_the_old_key(description):
    assert cache.cache_key(description) == old_key(description)


def test_a_cpu_key_does_not_depend_on_the_gpu(fake_gpu):
    description = ARM.describe(0, torch.device("cpu"))
    first = cache.cache_key(description)
    fake_gpu(("NVIDIA A100-SXM4-40GB",) * 2, cuda="11.8", cudnn=8700)
    assert cache.cache_key(description) == first == old_key(description)


def test_two_gpus_give_two_keys(fake_gpu):
    description = ARM.describe(0, torch.device("cuda"))
    h100 = cache.cache_key(description)
    assert cache.cache_key(description) == h100  # stable
    assert h100 != old_key(description)
    fake_gpu(("NVIDIA A100-SXM4-40GB",) * 2)
    assert cache.cache_key(description) != h100


@pytest.mark.parametrize("stack", [{"cuda": "12.1"}, {"cudnn": 8902}])
def test_another_cuda_or_cudnn_version_gives_another_key(fake_gpu, stack):
    description = fold_description("cuda")
    before = cache.cache_key(description)
    fake_gpu(("NVIDIA H100 80GB HBM3",) * 2, **stack)
    assert cache.cache_key(description) != before


def test_the_tf32_and_determinism_flags_enter_a_cuda_key(fake_gpu, tf32_restored, monkeypatch):
    description = ARM.describe(0, torch.device("cuda"))
    before = cache.cache_key(description)
    torch.backends.cuda.matmul.allow_tf32 = not torch.backends.cuda.matmul.allow_tf32
    tf32 = cache.cache_key(description)
    monkeypatch.setenv(CUBLAS_WORKSPACE_ENV, ":16:8")  # a user's choice, kept by cuda_determinism
    assert len({before, tf32, cache.cache_key(description)}) == 3


def test_a_cuda_key_holds_the_flags_the_run_trains_under(fake_gpu, monkeypatch):
    """The key resolves the device as training does, so it does not depend on whether some
    earlier call already switched CUDA to deterministic kernels."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    description = fold_description("cuda")
    first = cache.cache_key(description)
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert cache.cache_key(description) == first
    context = cache.cuda_context(0)
    assert (context["cudnn_deterministic"], context["cudnn_benchmark"]) == (True, False)
    assert context["cublas_workspace_config"] == CUBLAS_WORKSPACE


def test_the_key_names_the_gpu_the_run_trains_on(fake_gpu):
    on_gpu1 = fold_description("cuda:1")
    fake_gpu(("NVIDIA H100 80GB HBM3", "NVIDIA L4"))
    l4 = cache.cache_key(on_gpu1)
    fake_gpu(("NVIDIA A100-SXM4-40GB", "NVIDIA L4"))  # another GPU 0: same key
    assert cache.cache_key(on_gpu1) == l4
    fake_gpu(("NVIDIA H100 80GB HBM3", "NVIDIA L40S"))  # another GPU 1: another key
    assert cache.cache_key(on_gpu1) != l4
    assert cache.cuda_context(1)["gpu"] == "NVIDIA L40S"


def test_a_cuda_key_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UnsupportedError, match="CUDA requested"):
        cache.cache_key(ARM.describe(0, torch.device("cuda")))
