"""Fixtures of the benchmark suite: the real MNIST (from the data root), loaded once."""

from __future__ import annotations

import pytest

from precision_kit.data import load_dataset
from precision_kit.precision import configure_cpu


@pytest.fixture(scope="session", autouse=True)
def _cpu_settings():
    configure_cpu()


@pytest.fixture(scope="session")
def mnist_loader(data_root):
    """`mnist_loader(device, normalize)` -> the real MNIST as tensors on `device`, cached."""
    cache = {}

    def load(device: str = "cpu", normalize: str = "unit"):
        key = (device, normalize)
        if key not in cache:
            cache[key] = load_dataset("mnist", root=data_root, device=device, normalize=normalize)
        return cache[key]

    return load
