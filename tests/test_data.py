"""Tests of precision_kit.data / locate / devices on small synthetic IDX files (no real data, no network)."""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from idx_files import idx_images, idx_labels, synthetic, write, write_dataset

from precision_kit import data as pk_data
from precision_kit import idx as pk_idx
from precision_kit import locate as pk_locate
from precision_kit.data import NORMALIZATIONS, Dataset, Split, epoch_batches, kfold, kfold_indices, load_dataset
from precision_kit.devices import resolve_device
from precision_kit.errors import DataError, UnsupportedError
from precision_kit.idx import MNIST_SHA256
from precision_kit.locate import DATASETS, FILE_NAMES, find_dataset_files, resolve_root, search_dirs


@pytest.fixture(autouse=True)
def no_network_no_env(monkeypatch, tmp_path):
    """Isolate every test: no real env/home data root, offline, and a fetch that never connects."""
    monkeypatch.delenv("PRECISION_KIT_DATA", raising=False)
    monkeypatch.setenv("PRECISION_KIT_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def no_fetch(url, out, timeout=60.0):
        raise AssertionError(f"test tried to reach the network: {url}")

    monkeypatch.setattr(pk_locate, "_fetch", no_fetch)


# ---------------------------------------------------------------- loading and verification


def test_load_dataset_shapes_and_values(tmp_path):
    written = write_dataset(tmp_path, gz=False)
    ds = load_dataset(root=tmp_path, verify=False, normalize="none")
    assert isinstance(ds, Dataset) and ds.name == "mnist" and ds.normalize == "none"
    assert ds.device == torch.device("cpu")
    for split, (images, labels) in written.items():
        s = getattr(ds, split)
        assert len(s) == images.shape[0]
        assert s.images.dtype == torch.float32 and s.images.shape == (len(s), 1, 28, 28)
        assert s.labels.dtype == torch.int64
        assert torch.equal(s.images, images.unsqueeze(1).float())
        assert torch.equal(s.labels, labels.long())


def test_normalize_unit(tmp_path):
    written = write_dataset(tmp_path)
    ds = load_dataset(root=tmp_path, verify=False, normalize="unit")
    x = ds.train.images
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    torch.testing.assert_close(x, written["train"][0].unsqueeze(1).float() / 255)


def test_normalize_standardize_uses_train_statistics(tmp_path):
    written = write_dataset(tmp_path)
    ds = load_dataset(root=tmp_path, verify=False, normalize="standardize")
    assert abs(float(ds.train.images.mean())) < 1e-5
    assert abs(float(ds.train.images.std(correction=0)) - 1) < 1e-5
    train_raw = written["train"][0].double()
    mean, std = train_raw.mean(), train_raw.std(correction=0)
    expected_test = ((written["test"][0].double() - mean) / std).unsqueeze(1).float()
    torch.testing.assert_close(ds.test.images, expected_test, rtol=1e-5, atol=1e-5)


def test_image_label_count_mismatch(tmp_path):
    write_dataset(tmp_path)
    _, labels = synthetic(23, 5)
    write(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", idx_labels(labels), gz=True)
    with pytest.raises(DataError, match="24 images.*23 labels"):
        load_dataset(root=tmp_path, verify=False)


def test_checksum_mismatch_names_file_expected_and_found(tmp_path):
    write_dataset(tmp_path, gz=False)
    with pytest.raises(DataError) as info:
        load_dataset(root=tmp_path, verify=True)
    message = str(info.value)
    assert "checksum mismatch" in message
    mismatched = [b for b in FILE_NAMES if b in message]
    assert len(mismatched) == 1
    base = mismatched[0]
    assert MNIST_SHA256[base] in message
    found = hashlib.sha256((tmp_path / "mnist" / base).read_bytes()).hexdigest()
    assert found in message


def test_fashion_verify_checks_structure(tmp_path):
    write_dataset(tmp_path, name="fashion-mnist")
    with pytest.raises(DataError, match="expected 60000 train images"):
        load_dataset("fashion-mnist", root=tmp_path, verify=True)
    ds = load_dataset("fashion-mnist", root=tmp_path, verify=False)
    assert ds.name == "fashion-mnist" and len(ds.train) == 24


def test_fashion_searches_system_dir(tmp_path):
    dirs = search_dirs("fashion-mnist", tmp_path)
    assert dirs == [tmp_path / "fashion-mnist", Path("/usr/share/datasets/fashion-mnist")]
    assert search_dirs("mnist", tmp_path) == [tmp_path / "mnist"]


def test_repeated_load_uses_cache_and_is_not_aliased(tmp_path, monkeypatch):
    write_dataset(tmp_path)
    calls = []
    real = pk_idx.read_idx_bytes
    monkeypatch.setattr(pk_idx, "read_idx_bytes", lambda p: calls.append(p) or real(p))
    first = load_dataset(root=tmp_path, verify=False, normalize="none")
    assert len(calls) == 4
    first.train.images.add_(1000)
    second = load_dataset(root=tmp_path, verify=False, normalize="none")
    assert len(calls) == 4
    assert float(second.train.images.max()) <= 255


def test_missing_dataset_offline(tmp_path):
    root = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        load_dataset(root=root)
    message = str(info.value)
    assert str(root / "mnist") in message
    assert "PRECISION_KIT_DATA" in message and "PRECISION_KIT_OFFLINE" in message
    for base in FILE_NAMES:
        assert base in message and MNIST_SHA256[base] in message


def test_missing_dataset_hints_when_root_is_the_dataset_folder(tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(DataError, match="root must be their parent folder"):
        load_dataset(root=tmp_path / "mnist", verify=False)


def test_missing_dataset_download_false_lists_missing_files(tmp_path, monkeypatch):
    monkeypatch.delenv("PRECISION_KIT_OFFLINE")
    write_dataset(tmp_path)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="download=False") as info:
        load_dataset(root=tmp_path, download=False)
    assert "missing: t10k-labels-idx1-ubyte" in str(info.value)


def test_root_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_root() == tmp_path / "home" / ".cache" / "precision_kit"
    monkeypatch.setenv("PRECISION_KIT_DATA", str(tmp_path / "env"))
    assert resolve_root() == tmp_path / "env"
    assert resolve_root(tmp_path / "arg") == tmp_path / "arg"


def test_env_root_is_used_for_loading(tmp_path, monkeypatch):
    write_dataset(tmp_path / "env")
    write_dataset(tmp_path / "home" / ".cache" / "precision_kit", n_train=30)
    assert len(load_dataset(verify=False).train) == 30  # home
    monkeypatch.setenv("PRECISION_KIT_DATA", str(tmp_path / "env"))
    assert len(load_dataset(verify=False).train) == 24  # env beats home
    assert (
        find_dataset_files("mnist")["train-images-idx3-ubyte"].parent == tmp_path / "env" / "mnist"
    )


@pytest.mark.parametrize("kwargs", [{"name": "cifar10"}, {"normalize": "zscore"}])
def test_unknown_choice_lists_valid_values(tmp_path, kwargs):
    valid = DATASETS if "name" in kwargs else NORMALIZATIONS
    with pytest.raises(ValueError) as info:
        load_dataset(root=tmp_path, **kwargs)
    assert all(v in str(info.value) for v in valid)


# ---------------------------------------------------------------- devices


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize(  # ids avoid the bare keyword "cuda", which conftest skips without a GPU
    "device", ["cuda", "cuda:0", torch.device("cuda")], ids=["str", "str-index", "torch-device"]
)
def test_cuda_without_gpu_is_unsupported(tmp_path, device):
    with pytest.raises(UnsupportedError, match="torch.cuda.is_available"):
        resolve_device(device)
    write_dataset(tmp_path)
    with pytest.raises(UnsupportedError):
        load_dataset(root=tmp_path, device=device, verify=False)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for bad in ["gpu", "mps", "", "cuda:x"]:
        with pytest.raises(ValueError):
            resolve_device(bad)


# ---------------------------------------------------------------- download


def _gz_payloads() -> dict[str, bytes]:
    payloads = {}
    for split, n, seed in (("train", 12, 3), ("test", 6, 4)):
        images, labels = synthetic(n, seed)
        img_base, lbl_base = pk_data.SPLIT_FILES[split]
        payloads[f"{img_base}.gz"] = gzip.compress(idx_images(images), mtime=0)
        payloads[f"{lbl_base}.gz"] = gzip.compress(idx_labels(labels), mtime=0)
    return payloads


def test_download_with_patched_fetch(tmp_path, monkeypatch):
    monkeypatch.delenv("PRECISION_KIT_OFFLINE")
    payloads = _gz_payloads()
    resources = [(f, hashlib.md5(b).hexdigest()) for f, b in payloads.items()]
    monkeypatch.setattr(pk_locate, "_mirrors", lambda name: (["http://a/", "http://b/"], resources))
    tried = []

    def fetch(url, out, timeout=60.0):
        tried.append(url)
        body = payloads[url.rsplit("/", 1)[1]]
        if url.startswith("http://a/"):  # first mirror dies half-way
            out.write(body[: len(body) // 2])
            raise urllib.error.URLError("connection reset")
        out.write(body)

    monkeypatch.setattr(pk_locate, "_fetch", fetch)
    ds = load_dataset(root=tmp_path, verify=False)
    assert len(ds.train) == 12 and len(ds.test) == 6
    assert len(tried) == 8
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted(payloads)
    for filename, body in payloads.items():
        assert (tmp_path / "mnist" / filename).read_bytes() == body


@pytest.mark.parametrize("failure", ["network", "md5", "interrupt"])
def test_failed_download_leaves_no_partial_file(tmp_path, monkeypatch, failure):
    monkeypatch.delenv("PRECISION_KIT_OFFLINE")

    def fetch(url, out, timeout=60.0):
        out.write(b"\x1f\x8b partial")
        if failure == "network":
            raise urllib.error.URLError("no route to host")
        if failure == "interrupt":
            raise KeyboardInterrupt

    monkeypatch.setattr(pk_locate, "_fetch", fetch)
    expected = KeyboardInterrupt if failure == "interrupt" else DataError
    with pytest.raises(expected) as info:
        load_dataset(root=tmp_path)
    assert os.listdir(tmp_path / "mnist") == []
    if failure != "interrupt":
        from torchvision.datasets import MNIST

        message = str(info.value)
        for mirror in MNIST.mirrors:
            assert f"{mirror}{MNIST.resources[0][0]}" in message
        assert "PRECISION_KIT_DATA" in message
        assert ("MD5" in message) == (failure == "md5")


# ---------------------------------------------------------------- batching, subsets, k-fold


def test_epoch_batches_deterministic_and_complete():
    a = epoch_batches(103, 10, torch.Generator().manual_seed(7))
    b = epoch_batches(103, 10, torch.Generator().manual_seed(7))
    c = epoch_batches(103, 10, torch.Generator().manual_seed(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    assert [len(x) for x in a] == [10] * 10 + [3]
    assert torch.equal(torch.cat(a).sort().values, torch.arange(103))
    assert all(x.dtype == torch.int64 and x.device.type == "cpu" for x in a)


def test_epoch_batches_no_shuffle_and_validation():
    batches = epoch_batches(5, 2, torch.Generator(), device="cpu", shuffle=False)
    assert [x.tolist() for x in batches] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="batch_size"):
        epoch_batches(5, 0, torch.Generator())


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(2, 200), seed=st.integers(0, 2**31))
def test_kfold_indices_partition(data, n, seed):
    k = data.draw(st.integers(2, n))
    folds = kfold_indices(n, k, seed)
    assert len(folds) == k
    vals = torch.cat([v for _, v in folds])
    assert torch.equal(vals.sort().values, torch.arange(n))  # each index in one val fold
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert len(train) + len(val) == n
        assert not torch.isin(train, val).any()
    assert all(torch.equal(v, w) for (_, v), (_, w) in zip(folds, kfold_indices(n, k, seed), strict=False))


@pytest.mark.parametrize("n,k", [(10, 1), (3, 4), (0, 2)])
def test_kfold_indices_rejects_bad_k(n, k):
    with pytest.raises(ValueError, match="2 <= k <= n"):
        kfold_indices(n, k, 0)


def test_kfold_dataset_uses_train_split_only(tmp_path):
    write_dataset(tmp_path)
    ds = load_dataset(root=tmp_path, verify=False)
    folds = kfold(ds, 5, seed=3)
    assert len(folds) == 5
    held_out = torch.cat([f.test.images for f in folds])
    assert held_out.shape == ds.train.images.shape
    assert torch.equal(
        held_out.flatten(1).sum(1).sort().values, ds.train.images.flatten(1).sum(1).sort().values
    )
    for f in folds:
        assert len(f.train) + len(f.test) == len(ds.train)
        assert f.name == ds.name and f.normalize == ds.normalize


def test_split_subset_and_validation():
    s = Split(torch.arange(10.0).reshape(10, 1, 1, 1), torch.arange(10))
    sub = s.subset(torch.tensor([3, 1]))
    assert sub.labels.tolist() == [3, 1] and sub.images.flatten().tolist() == [3.0, 1.0]
    assert len(s.to("cpu")) == 10
    with pytest.raises(ValueError, match="as many labels"):
        Split(torch.zeros(3, 1, 28, 28), torch.zeros(2, dtype=torch.int64))
