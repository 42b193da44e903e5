"""Source 002 ("Neural network training dynamics on MNIST"): the setup, budgets and run
helpers shared by its claims (TD-1 … TD-3 in `training_dynamics`, TD-4 and TD-5 in
`training_dynamics_repr`). This module registers no claim and imports none of those modules.

Setup (sections 3.2, 3.3): CNN conv(32) → 2×2 max-pool → conv(64) → 2×2 max-pool → FC 128
ReLU → dropout 0.5 → 10 (`models.cnn`: 3×3 unpadded kernels, PyTorch's default init drawn
from the seed's generator), inputs in [0, 1], batch 128; SGD lr 0.01, SGD + momentum 0.9
lr 0.01, RMSProp lr 0.001, Adam lr 0.001; test accuracy at every epoch end (the source's
per-epoch checkpoints). The source applies "decay schedules" without saying which: we use
an exponential decay of the learning rate by 0.95 per epoch (`lr_decay=0.95`) for every
optimizer.

Budgets: paper = the source's 20 epochs, 10 seeds (CLAIMS.md: ≥ 10 paired seeds at the
source's budget), all four optimizers (CNN arms trained as populations of the seeds). quick =
1 epoch, 5 seeds, Adam and SGD only: Adam with and without dropout, SGD, TD-4's
Gaussian-init arm and its shuffled-label control. One epoch of the source's 20 cannot reach the
regime the claims are about (99.3% after 20 epochs, convergence speed, late dropout gains,
distributions "over training"), so every quick case is UNTESTED: its figures are reported
and the verdict it would have drawn is kept as `verdict_at_this_budget`, never stored as an
expected HOLDS or FAILS. Only the paper profile judges source 002.

All arms run with the same `WeightRecorder` (it enters the cache key), so the Adam +
dropout arm is trained once per seed and shared by TD-1 … TD-5.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..data import Dataset, Split
from ..experiment import Arm, ModelSpec, dataset, run_seeds
from ..train import TrainConfig
from .base import Context
from .training_dynamics_measures import WeightRecorder

SOURCE = "002_9ea8c6d841662f93.txt"
LR = {"adam": 1e-3, "sgd": 1e-2, "sgd-momentum": 1e-2, "rmsprop": 1e-3}
LR_DECAY = 0.95  # per epoch; the source names no schedule


def cnn_arm(ctx: Context, optimizer: str = "adam", dropout: float = 0.5, max_steps=None,
            init: str = "default", depth: int = 2) -> Arm:
    config = TrainConfig(
        epochs=ctx.pick(1, 20, "epochs"),
        batch_size=128,
        lr=LR[optimizer],
        optimizer=optimizer,
        momentum=0.9,
        lr_decay=LR_DECAY,
        evaluation="epoch",
        max_steps=max_steps,
    )
    return Arm(ModelSpec("cnn", depth=depth, dropout=float(dropout), init=init), config)


def runs(ctx: Context, arm: Arm, data: Dataset | None = None):
    """Every seed of `arm`, trained (or loaded) with the TD-4 weight recorder attached;
    `data` replaces MNIST (e.g. `shuffled_labels`)."""
    return run_seeds(arm, ctx.seeds(5, 10), ctx.device, ctx.root, recorder=WeightRecorder(), data=data)


SHUFFLE_SEED = 2002


def shuffled_labels(data: Dataset, seed: int = SHUFFLE_SEED) -> Dataset:
    """`data` with its training labels permuted by a fixed generator (images, test split
    and class balance unchanged): the control arm of TD-4, a network that learns no task."""
    perm = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))
    labels = data.train.labels[perm.to(data.train.labels.device)]
    return replace(data, train=Split(data.train.images, labels))


SUBSET, SUBSET_SEED = 2000, 2002  # TD-5 and TD-6: a fixed test subset


def fixed_test_subset(ctx: Context, arm):
    """A fixed 2,000-image test subset (its own generator), images on ctx.device, labels on CPU."""
    test = dataset(arm, ctx.device, ctx.root).test
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(SUBSET_SEED))[:SUBSET]
    idx = idx.sort().values.to(test.images.device)
    return test.images[idx], test.labels[idx].cpu()


def budget_note(ctx: Context) -> str:
    return ctx.pick(
        "quick budget: 1 epoch and 5 seeds, not the source's 20 epochs (UNTESTED); the paper "
        "profile is the real test",
        "",
    )


def join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
