"""Parser and checksums for IDX files (the MNIST / Fashion-MNIST file format).

An IDX file is a big-endian header followed by raw data. Only the two layouts used by
MNIST-style datasets are accepted, both with unsigned-byte (0x08) data:

- images, magic 2051 (0x00000803): 16-byte header ``magic, count, rows, cols``;
- labels, magic 2049 (0x00000801): 8-byte header ``magic, count``.

Files may be gzip-compressed; compression is detected from the magic bytes ``1f 8b``,
not from the file name. Every defect (empty, truncated or corrupt gzip, wrong magic,
wrong data type, data shorter or longer than the header says, label outside 0-9) raises
`DataError` naming the file. Checksums are SHA-256 of the *decompressed* content;
`read_idx_verified` caches parsed files per process so each is read and hashed once.
Nothing here touches torchvision.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import struct
import zlib
from pathlib import Path
from typing import Literal

import torch

from precision_kit.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"
NUM_CLASSES = 10
MNIST_SHA256 = {  # SHA-256 of the *decompressed* MNIST IDX files.
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

IdxKind = Literal["images", "labels"]
_KIND_OF_NDIM = {3: "images", 1: "labels"}
_MAGIC_OF_KIND = {"images": IMAGES_MAGIC, "labels": LABELS_MAGIC}


def read_idx_bytes(path: str | Path) -> bytes:
    """Return the content of an IDX file, decompressed if it is gzip (magic ``1f 8b``).

    Raises `DataError` for an empty file or a truncated / corrupt gzip stream (CRC error).
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw:
        raise DataError(
            f"{path}: expected an IDX file (raw or gzip), found an empty file (0 bytes); "
            "delete it and download the dataset again."
        )
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path}: expected a valid gzip stream, found a truncated or corrupt one "
            f"({type(err).__name__}: {err}); delete it and download the dataset again."
        ) from err


def sha256_hex(data: bytes) -> str:
    """SHA-256 hex digest of `data` (for IDX files: of the decompressed content)."""
    return hashlib.sha256(data).hexdigest()


def parse_idx(data: bytes, source: str, kind: IdxKind | None = None) -> torch.Tensor:
    """Parse decompressed IDX bytes into a uint8 tensor: (N, rows, cols) or (N,).

    `source` names the file in error messages; `kind` ("images" / "labels"), if given,
    is the layout the caller expects. Label values above 9 are rejected.
    """
    if len(data) < 4:
        raise DataError(
            f"{source}: expected an IDX header of at least 8 bytes, found {len(data)} bytes."
        )
    zero0, zero1, dtype_byte, ndim = data[0], data[1], data[2], data[3]
    magic = struct.unpack(">I", data[:4])[0]
    if zero0 or zero1 or ndim not in _KIND_OF_NDIM:
        raise DataError(
            f"{source}: expected IDX magic {IMAGES_MAGIC} (images) or {LABELS_MAGIC} "
            f"(labels), found {magic} (0x{magic:08x}); this is not an MNIST-style IDX file."
        )
    if dtype_byte != UBYTE:
        raise DataError(
            f"{source}: expected IDX data type 0x08 (unsigned byte), found 0x{dtype_byte:02x};"
            " only unsigned-byte IDX files are supported."
        )
    found_kind = _KIND_OF_NDIM[ndim]
    if kind is not None and found_kind != kind:
        raise DataError(
            f"{source}: expected an IDX {kind} file (magic {_MAGIC_OF_KIND[kind]}), found "
            f"an IDX {found_kind} file (magic {magic}); check which file is which."
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"{source}: expected a {header_len}-byte IDX header, found only {len(data)} "
            "bytes; the file is truncated."
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = 1
    for d in dims:
        expected *= d
    found = len(data) - header_len
    if found != expected:
        problem = "the file is truncated" if found < expected else "it has trailing data"
        raise DataError(
            f"{source}: header says {dims[0]} items of shape {tuple(dims[1:])} = {expected} "
            f"data bytes, found {found} bytes ({problem}); delete it and download again."
        )
    tensor = torch.frombuffer(bytearray(memoryview(data)[header_len:]), dtype=torch.uint8)
    tensor = tensor.reshape(dims)
    if found_kind == "labels" and tensor.numel():
        bad = (tensor >= NUM_CLASSES).nonzero()
        if bad.numel():
            i = int(bad[0, 0])
            raise DataError(
                f"{source}: expected labels in 0..{NUM_CLASSES - 1}, found label "
                f"{int(tensor[i])} at index {i} ({bad.shape[0]} bad labels in total); "
                "the file is corrupt or not a 10-class label file."
            )
    return tensor


def read_idx(path: str | Path, kind: IdxKind | None = None) -> torch.Tensor:
    """Read an IDX file (raw or gzip) into a uint8 tensor: images (N, rows, cols), labels (N,).

    Raises `DataError` naming `path` for any defect; see the module docstring.
    """
    return parse_idx(read_idx_bytes(path), str(path), kind)


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, size: int, mtime_ns: int, kind: IdxKind) -> tuple[torch.Tensor, str]:
    """Parsed tensor and SHA-256 of the decompressed file, cached per (path, size, mtime)."""
    data = read_idx_bytes(path)
    return parse_idx(data, path, kind), sha256_hex(data)


def read_idx_verified(
    path: str | Path, kind: IdxKind, expected_sha256: str | None = None
) -> torch.Tensor:
    """`read_idx` with an optional SHA-256 check of the decompressed content, cached.

    Files are cached per process by resolved path, size and mtime, so repeated calls neither
    re-read nor re-hash them. The returned tensor is shared: do not modify it in place.
    A digest mismatch raises `DataError` naming the file, the expected and the found digest.
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    tensor, digest = _read_cached(str(resolved), stat.st_size, stat.st_mtime_ns, kind)
    if expected_sha256 is not None and digest != expected_sha256:
        raise DataError(
            f"{path}: checksum mismatch: expected SHA-256 (of the uncompressed content) "
            f"{expected_sha256}, found {digest}. Delete the file to download it again, or "
            "pass verify=False if it is deliberately different data."
        )
    return tensor
