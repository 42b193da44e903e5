"""A small learnable stand-in for MNIST, made in memory: tests never need the real dataset.

Each class has a fixed random 28×28 prototype; an image is its class prototype plus noise,
so a small MLP learns it to high accuracy in one or two epochs.
"""

from __future__ import annotations

import torch

from precision_kit import experiment
from precision_kit.data import Dataset, Split


def synthetic_split(n: int, seed: int, noise: float = 0.6) -> Split:
    gen = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(1234))
    labels = torch.randint(0, 10, (n,), generator=gen)
    images = prototypes[labels] + noise * torch.randn(n, 1, 28, 28, generator=gen)
    return Split(images.clamp(0, 1), labels)


def synthetic_dataset(n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Dataset:
    return Dataset(
        name="mnist",
        train=synthetic_split(n_train, seed),
        test=synthetic_split(n_test, seed + 1),
        normalize="unit",
    )


def train_on(data, monkeypatch, run_modules=(), dataset_modules=(), calls: list | None = None):
    """Make claim modules train and load `data` instead of MNIST: their `run_seeds` passes
    `data=data` (each call recorded in `calls`, if given) and their `dataset` returns it."""

    def run_seeds(arm, seeds, device="cpu", root=None, **kwargs):
        if calls is not None:
            calls.append((arm, list(seeds), device))
        return experiment.run_seeds(arm, seeds, device, root, data=data, **kwargs)

    for module in run_modules:
        monkeypatch.setattr(module, "run_seeds", run_seeds)
    for module in dataset_modules:
        monkeypatch.setattr(module, "dataset", lambda arm, device="cpu", root=None: data.to(device))
    return run_seeds
