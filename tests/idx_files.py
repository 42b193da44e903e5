"""Small synthetic IDX files for the data tests: tests never need the real dataset."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import torch

from precision_kit.locate import SPLIT_FILES


def idx_images(images: torch.Tensor) -> bytes:
    """IDX bytes (magic 2051) of a uint8 (N, rows, cols) tensor."""
    n, rows, cols = images.shape
    return struct.pack(">IIII", 2051, n, rows, cols) + images.numpy().tobytes()


def idx_labels(labels: torch.Tensor) -> bytes:
    """IDX bytes (magic 2049) of a uint8 (N,) tensor."""
    return struct.pack(">II", 2049, labels.shape[0]) + labels.numpy().tobytes()


def write(path: Path, content: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    return path


def synthetic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
    return images, labels


def write_dataset(
    root: Path, name: str = "mnist", n_train: int = 24, n_test: int = 10, gz: bool = True
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Write the four IDX files of a small synthetic dataset into root/name/."""
    out = {}
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        images, labels = synthetic(n, seed)
        img_base, lbl_base = SPLIT_FILES[split]
        suffix = ".gz" if gz else ""
        write(root / name / f"{img_base}{suffix}", idx_images(images), gz)
        write(root / name / f"{lbl_base}{suffix}", idx_labels(labels), gz)
        out[split] = (images, labels)
    return out
