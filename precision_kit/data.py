"""MNIST / Fashion-MNIST as device-resident tensors: verify, load, batch, split (the files
are found or downloaded by `precision_kit.locate`).

Data root, in order: the ``root`` argument, ``$PRECISION_KIT_DATA``, ``~/.cache/precision_kit``.
Inside it, ``mnist/`` (or ``fashion-mnist/``) holds the four IDX files, raw or ``.gz``;
Fashion-MNIST is also looked for in ``/usr/share/datasets/fashion-mnist/``. Missing files are
downloaded from torchvision's mirrors unless ``PRECISION_KIT_OFFLINE=1`` or ``download=False``.

MNIST files are checked against the SHA-256 of their decompressed content. No checksums are
known here for Fashion-MNIST, so its files are validated by structure only (60000 / 10000
images of 28x28). Parsed files are cached per process, so repeated loads are cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from precision_kit.devices import resolve_device
from precision_kit.errors import DataError
from precision_kit.idx import MNIST_SHA256, read_idx_verified
from precision_kit.locate import DATASETS, SPLIT_FILES, check_choice, locate_files

NORMALIZATIONS = ("unit", "standardize", "none")
SPLIT_SIZES = {"train": 60000, "test": 10000}
IMAGE_SHAPE = (28, 28)


@dataclass(frozen=True, eq=False)
class Split:
    """Images (float32, (N, 1, 28, 28), normalized) and int64 labels (N,) on one device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.shape[0] != self.labels.shape[0]:
            raise ValueError(
                f"expected as many labels as images, found {self.labels.shape[0]} labels "
                f"for {self.images.shape[0]} images."
            )
        if self.images.device != self.labels.device:
            raise ValueError(
                f"expected images and labels on one device, found {self.images.device} "
                f"and {self.labels.device}; move both with Split.to(device)."
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, idx: torch.Tensor) -> Split:
        """The samples at `idx` (integer indices or boolean mask), on the same device."""
        idx = torch.as_tensor(idx, device=self.images.device)
        return Split(self.images[idx], self.labels[idx])

    def to(self, device: str | torch.device) -> Split:
        """This split on `device` (see `resolve_device`)."""
        dev = resolve_device(device)
        return Split(self.images.to(dev), self.labels.to(dev))


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train and a test `Split` of one dataset, normalized as `normalize` says."""

    name: str
    train: Split
    test: Split
    normalize: str

    def __post_init__(self) -> None:
        check_choice("name", self.name, DATASETS)
        check_choice("normalize", self.normalize, NORMALIZATIONS)

    @property
    def device(self) -> torch.device:
        """The device holding the tensors."""
        return self.train.images.device

    def to(self, device: str | torch.device) -> Dataset:
        """This dataset with both splits on `device`."""
        return replace(self, train=self.train.to(device), test=self.test.to(device))


# ---------------------------------------------------------------- loading


def _load_split_uint8(
    name: str, split: str, files: dict[str, Path], verify: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    img_base, lbl_base = SPLIT_FILES[split]
    sha = MNIST_SHA256 if (verify and name == "mnist") else {}
    images = read_idx_verified(files[img_base], "images", sha.get(img_base))
    labels = read_idx_verified(files[lbl_base], "labels", sha.get(lbl_base))
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{split} split of {name!r}: expected as many labels as images, found "
            f"{images.shape[0]} images in {files[img_base]} and {labels.shape[0]} labels in "
            f"{files[lbl_base]}; the files do not belong together."
        )
    if tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise DataError(
            f"{files[img_base]}: expected images of {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}, "
            f"found {images.shape[1]}x{images.shape[2]}."
        )
    if verify and name != "mnist" and images.shape[0] != SPLIT_SIZES[split]:
        raise DataError(
            f"{files[img_base]}: expected {SPLIT_SIZES[split]} {split} images for {name!r}, "
            f"found {images.shape[0]}; pass verify=False for deliberately different data."
        )
    return images, labels


def _pixel_mean_std(images_u8: torch.Tensor) -> tuple[float, float]:
    """Exact scalar mean and (population) std of uint8 pixels, from a 256-bin histogram.

    Float64 and independent of the target device, so CPU and GPU runs standardize alike.
    """
    counts = torch.bincount(images_u8.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64)
    total = counts.sum()
    mean = (counts * values).sum() / total
    var = (counts * (values - mean) ** 2).sum() / total
    return float(mean), float(var.sqrt())


def load_dataset(
    name: str = "mnist",
    root: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
    normalize: str = "unit",
    download: bool | None = None,
    verify: bool = True,
) -> Dataset:
    """Load `name` ("mnist" or "fashion-mnist") as float32 tensors on `device`.

    Args:
        root: data root; default ``$PRECISION_KIT_DATA``, then ~/.cache/precision_kit.
        device: "cpu", "cuda", "cuda:N" or torch.device; CUDA without a GPU raises
            `UnsupportedError` (never a silent CPU fallback).
        normalize: "unit" (x/255 in [0, 1]), "standardize" (zero mean, unit variance using
            the train split's scalar mean and std, applied to both splits) or "none" (0..255).
        download: None = download missing files unless ``PRECISION_KIT_OFFLINE=1``;
            False = never. ``PRECISION_KIT_OFFLINE=1`` forbids downloading in any case.
        verify: check MNIST's SHA-256 (Fashion-MNIST: its 60000/10000 split sizes).
            Set False for synthetic files.

    The uint8 data is moved to `device` before conversion to float (cheaper transfer).
    """
    check_choice("name", name, DATASETS)
    check_choice("normalize", normalize, NORMALIZATIONS)
    dev = resolve_device(device)
    files = locate_files(name, root, download)
    raw = {split: _load_split_uint8(name, split, files, verify) for split in SPLIT_FILES}
    images = {s: x.to(dev).unsqueeze(1).to(torch.float32) for s, (x, _) in raw.items()}
    labels = {s: y.to(dev).to(torch.int64) for s, (_, y) in raw.items()}
    if normalize == "unit":
        for x in images.values():
            x.div_(255.0)
    elif normalize == "standardize":
        mean, std = _pixel_mean_std(raw["train"][0])
        if not std > 0.0:
            raise DataError(
                f"{name!r}: cannot standardize, the train images are empty or constant (std "
                f"{std}); "
                "use normalize='unit' or 'none'."
            )
        for x in images.values():
            x.sub_(mean).div_(std)
    return Dataset(
        name=name,
        train=Split(images["train"], labels["train"]),
        test=Split(images["test"], labels["test"]),
        normalize=normalize,
    )


# ---------------------------------------------------------------- batching and k-fold


def epoch_batches(
    n: int,
    batch_size: int,
    generator: torch.Generator,
    device: str | torch.device | None = None,
    shuffle: bool = True,
) -> tuple[torch.Tensor, ...]:
    """Index batches for one epoch over `n` samples: a permutation split into `batch_size` slices.

    The permutation is drawn from the CPU `generator` (same seed, same batches on any
    device), moved to `device` (default CPU) once, then split; the last batch may be smaller.
    With ``shuffle=False`` the order is 0..n-1 and `generator` is not used.
    """
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, found {batch_size}.")
    if n < 0:
        raise ValueError(f"expected n >= 0 samples, found {n}.")
    if generator.device.type != "cpu":
        raise ValueError(
            f"expected a CPU torch.Generator, found one on {generator.device}; "
            "create it with torch.Generator() (indices are moved to the device afterwards)."
        )
    perm = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    dev = torch.device("cpu") if device is None else resolve_device(device)
    return perm.to(dev).split(batch_size)


def kfold_indices(n: int, k: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(train_idx, val_idx) for each of `k` folds over `n` samples (CPU int64, sorted).

    The indices are shuffled with `seed`, then cut into `k` contiguous folds whose sizes
    differ by at most one; every index is in exactly one validation fold.
    """
    if not 2 <= k <= n:
        raise ValueError(f"expected 2 <= k <= n, found k={k}, n={n}.")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    folds = perm.tensor_split(k)
    return [
        (torch.cat(folds[:i] + folds[i + 1 :]).sort().values, fold.sort().values)
        for i, fold in enumerate(folds)
    ]


def kfold(dataset: Dataset, k: int, seed: int) -> list[Dataset]:
    """`k` datasets cut from `dataset.train`: ``train`` = the other folds, ``test`` = one fold.

    The official test split is not used (nor touched) by any fold.
    """
    return [
        replace(dataset, train=dataset.train.subset(tr), test=dataset.train.subset(va))
        for tr, va in kfold_indices(len(dataset.train), k, seed)
    ]

