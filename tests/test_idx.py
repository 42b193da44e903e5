"""Tests of precision_kit.idx: the IDX parser on small synthetic files, raw and gzip."""

from __future__ import annotations

import gzip
import struct

import pytest
import torch
from idx_files import idx_images, idx_labels, synthetic, write

from precision_kit.errors import DataError
from precision_kit.idx import read_idx


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images, labels = synthetic(7, 0)
    img = read_idx(write(tmp_path / "img", idx_images(images), gz))
    lbl = read_idx(write(tmp_path / "lbl", idx_labels(labels), gz), kind="labels")
    assert img.dtype == torch.uint8 and torch.equal(img, images)
    assert lbl.dtype == torch.uint8 and torch.equal(lbl, labels)


def test_gzip_detected_by_magic_not_suffix(tmp_path):
    images, _ = synthetic(3, 0)
    raw_named_gz = write(tmp_path / "a.gz", idx_images(images), gz=False)
    gz_named_raw = write(tmp_path / "b", idx_images(images), gz=True)
    assert torch.equal(read_idx(raw_named_gz), images)
    assert torch.equal(read_idx(gz_named_raw), images)


def test_wrong_magic(tmp_path):
    path = write(tmp_path / "x", struct.pack(">II", 2050, 0))
    with pytest.raises(DataError, match=r"2051.*2049.*found 2050") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_wrong_dtype_byte(tmp_path):
    path = write(tmp_path / "x", bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 0))
    with pytest.raises(DataError, match="0x08"):
        read_idx(path)


def test_wrong_kind(tmp_path):
    path = write(tmp_path / "x", idx_labels(torch.zeros(3, dtype=torch.uint8)))
    with pytest.raises(DataError, match="expected an IDX images file"):
        read_idx(path, kind="images")


def test_header_count_larger_than_data(tmp_path):
    images, _ = synthetic(4, 0)
    content = struct.pack(">IIII", 2051, 5, 28, 28) + images.numpy().tobytes()
    with pytest.raises(DataError, match="truncated"):
        read_idx(write(tmp_path / "x", content))


def test_trailing_data(tmp_path):
    _, labels = synthetic(4, 0)
    with pytest.raises(DataError, match="trailing data"):
        read_idx(write(tmp_path / "x", idx_labels(labels) + b"\x00"))


def test_short_header(tmp_path):
    with pytest.raises(DataError, match="16-byte IDX header"):
        read_idx(write(tmp_path / "x", struct.pack(">II", 2051, 1)))


def test_empty_file(tmp_path):
    path = write(tmp_path / "empty.gz", b"")
    with pytest.raises(DataError, match="empty") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    images, _ = synthetic(20, 0)
    compressed = gzip.compress(idx_images(images))
    path = write(tmp_path / "t.gz", compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("where", [0.3, 0.5, 0.8, -6])
def test_bit_flipped_gzip_is_an_error_not_garbage(tmp_path, where):
    images, _ = synthetic(20, 0)
    compressed = bytearray(gzip.compress(idx_images(images)))
    pos = int(len(compressed) * where) if isinstance(where, float) else len(compressed) + where
    compressed[pos] ^= 0x10
    path = write(tmp_path / "f.gz", bytes(compressed))
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_label_out_of_range_names_index_and_value(tmp_path):
    labels = torch.tensor([1, 2, 9, 0, 12, 3], dtype=torch.uint8)
    with pytest.raises(DataError, match=r"label 12 at index 4"):
        read_idx(write(tmp_path / "l", idx_labels(labels)))
