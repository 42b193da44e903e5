"""CUDA determinism (`devices.cuda_determinism`) and its record in the machine info, tested on
the CPU: without CUDA nothing changes; with CUDA faked available (monkeypatch, undone after
each test) the cuDNN flags and the cuBLAS workspace are set, and `resolve_device` sets them."""

from __future__ import annotations

import os

import pytest
import torch

from precision_kit import devices
from precision_kit.devices import CUBLAS_WORKSPACE, CUBLAS_WORKSPACE_ENV, cuda_determinism, determinism_flags
from precision_kit.machine import precision_kit_info

FLAG_KEYS = {
    "deterministic_algorithms", "cudnn_deterministic", "cudnn_benchmark", "cublas_workspace_config",
    "cuda_matmul_allow_tf32", "cudnn_allow_tf32",
}


@pytest.fixture
def undeterministic(monkeypatch):
    """cuDNN set to its non-deterministic defaults and the cuBLAS variable unset, all restored
    after the test (setenv first so that undoing it removes a variable the code under test set)."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    monkeypatch.setenv(CUBLAS_WORKSPACE_ENV, "placeholder")
    monkeypatch.delenv(CUBLAS_WORKSPACE_ENV)
    return monkeypatch


@pytest.fixture
def fake_cuda(undeterministic):
    """A machine that says it has one GPU (index 0)."""
    undeterministic.setattr(torch.cuda, "is_available", lambda: True)
    undeterministic.setattr(torch.cuda, "device_count", lambda: 1)
    undeterministic.setattr(torch.cuda, "current_device", lambda: 0)
    return undeterministic


def test_without_cuda_nothing_changes(undeterministic):
    undeterministic.setattr(torch.cuda, "is_available", lambda: False)
    before = determinism_flags()
    flags = cuda_determinism()
    assert flags == before == determinism_flags()
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)
    assert CUBLAS_WORKSPACE_ENV not in os.environ


def test_with_cuda_cudnn_is_deterministic_and_cublas_gets_its_workspace(fake_cuda):
    flags = cuda_determinism()
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (True, False)
    assert os.environ[CUBLAS_WORKSPACE_ENV] == CUBLAS_WORKSPACE
    assert flags["cudnn_deterministic"] is True and flags["cudnn_benchmark"] is False
    assert flags["cublas_workspace_config"] == CUBLAS_WORKSPACE
    assert cuda_determinism() == flags  # idempotent


def test_a_cublas_workspace_the_user_chose_is_kept(fake_cuda):
    fake_cuda.setenv(CUBLAS_WORKSPACE_ENV, ":16:8")
    assert cuda_determinism()["cublas_workspace_config"] == ":16:8"
    assert os.environ[CUBLAS_WORKSPACE_ENV] == ":16:8"


def test_resolving_a_cuda_device_makes_cuda_deterministic(fake_cuda):
    calls = []
    real = devices.cuda_determinism
    fake_cuda.setattr(devices, "cuda_determinism", lambda: calls.append(1) or real())
    assert devices.resolve_device("cuda") == torch.device("cuda", 0)
    assert calls == [1] and torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_resolving_the_cpu_touches_no_cuda_flag(undeterministic):
    assert devices.resolve_device("cpu") == torch.device("cpu")
    assert (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) == (False, True)
    assert CUBLAS_WORKSPACE_ENV not in os.environ


@pytest.fixture
def tf32_restored():
    """The two TF32 switches put back after the test (torch.backends.cuda.matmul is not a plain
    attribute holder, so monkeypatch cannot undo a change to it)."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_the_flags_name_every_switch_and_read_torch(undeterministic, tf32_restored):
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = True, False
    flags = determinism_flags()
    assert set(flags) == FLAG_KEYS
    assert flags["cuda_matmul_allow_tf32"] is True and flags["cudnn_allow_tf32"] is False
    assert flags["cudnn_benchmark"] is True and flags["cublas_workspace_config"] is None


def test_the_machine_info_records_the_determinism_flags(fake_cuda):
    cuda_determinism()
    fake_cuda.setattr(torch.cuda, "is_available", lambda: False)  # no GPU properties to read here
    info = precision_kit_info()
    assert FLAG_KEYS <= set(info)
    assert {k: info[k] for k in FLAG_KEYS} == determinism_flags()
    assert info["cublas_workspace_config"] == CUBLAS_WORKSPACE and info["cudnn_deterministic"] is True
