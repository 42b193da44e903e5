"""What the engine is measured against: the sources' plain loop and a FLOP lower bound.

- `plain_epoch`: one training epoch the way the sources write it — torchvision's `MNIST`
  dataset with `ToTensor()`/`Normalize()` transforms, a `DataLoader`, a plain Adam step.
- `mlp_epoch_flops` and `gemm_flops_per_second`: the matrix-product work of one MLP epoch
  and this process's measured fp32 GEMM rate, whose ratio is the time no loop can beat.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import DataError
from .files import atomic_writer
from .locate import FILE_NAMES, find_dataset_files

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def torchvision_root(root=None, into: str | os.PathLike | None = None) -> Path:
    """A folder laid out as torchvision's `MNIST(root, download=False)` expects
    (`MNIST/raw/` with the four uncompressed files), made from precision_kit's data root.

    Files are decompressed into a temp name and renamed, so an interrupted copy leaves none.
    """
    files = find_dataset_files("mnist", root)
    if files is None:
        raise DataError(
            "the plain-loop reference needs the MNIST files; none were found. "
            "Set PRECISION_KIT_DATA to the folder that holds mnist/."
        )
    base = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="pk-torchvision-"))
    raw = base / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILE_NAMES:
        target = raw / name
        if target.exists():
            continue
        src = files[name]
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, atomic_writer(target) as fout:
            shutil.copyfileobj(fin, fout)
    return base


def plain_loader(torchvision_dir: Path, batch_size: int, seed: int = 0):
    """The sources' input pipeline: torchvision MNIST + ToTensor + Normalize + DataLoader."""
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    )
    dataset = datasets.MNIST(str(torchvision_dir), train=True, download=False, transform=transform)
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


def plain_epoch(model: nn.Module, loader, lr: float = 1e-3) -> float:
    """Train `model` (float32, CPU) for one epoch with the plain loop; return its seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def mlp_epoch_flops(model: nn.Module, n_samples: int) -> int:
    """Matrix-product FLOPs of one training epoch of an MLP (Linear layers only).

    Per Linear layer of `i` inputs and `o` outputs and per sample: forward 2·i·o, weight
    gradient 2·i·o, input gradient 2·i·o — except the first layer, whose input (the
    image) needs no gradient. Biases, activations, the loss and the optimizer are not
    counted, so the bound is a true lower bound.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("mlp_epoch_flops needs a model with Linear layers")
    per_sample = sum(6 * m.in_features * m.out_features for m in linears)
    per_sample -= 2 * linears[0].in_features * linears[0].out_features
    return per_sample * n_samples


def gemm_flops_per_second(size: int = 1024, repeats: int = 20, dtype=torch.float32) -> float:
    """This process's measured rate of a square `size`³ GEMM (best of `repeats`), FLOP/s."""
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=gen, dtype=dtype)
    b = torch.rand(size, size, generator=gen, dtype=dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best
