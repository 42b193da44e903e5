"""A file of named tensors and string metadata that cannot run code when read: the
safetensors layout (an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw bytes), written and read here with
`json` and `torch.frombuffer` only, so no pickle is ever involved and no extra package is
needed (the files open with the `safetensors` package too).

`decode` checks everything it reads (header length, JSON, dtypes, shapes, byte ranges that
tile the data exactly) and raises `TensorFileError` saying what is wrong; it never returns
a partly read file.
"""

from __future__ import annotations

import json
import math
import struct
import sys

import torch

from .errors import DataError, UnsupportedError

# safetensors dtype names <-> torch dtypes (the ones a trained model or a result holds)
DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header


class TensorFileError(DataError):
    """The bytes are not a well-formed tensor file (truncated, foreign, damaged)."""


def _check_byteorder() -> None:
    if sys.byteorder != "little":
        raise UnsupportedError("tensor files are little-endian; this machine is big-endian")


def encode(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The file's bytes for `tensors` (moved to the CPU, made contiguous) and `metadata`."""
    _check_byteorder()
    header: dict[str, object] = {}
    if metadata:
        bad = {k: type(v).__name__ for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
        if bad:
            raise TypeError(f"tensor-file metadata must map str to str; found {bad}")
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"tensor-file entry {name!r} must be a torch.Tensor; found {type(tensor).__name__}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved for the metadata; rename the tensor")
        if tensor.dtype not in _NAMES:
            raise TypeError(f"tensor {name!r} has dtype {tensor.dtype}; expected one of {sorted(map(str, _NAMES))}")
        data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _NAMES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the data to 8 bytes, as safetensors does
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def decode(blob: bytes, what: str = "tensor file") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) from a file's bytes; `what` names it in errors."""
    _check_byteorder()
    if len(blob) < 8:
        raise TensorFileError(f"{what} is {len(blob)} bytes long; expected at least an 8-byte header length")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > MAX_HEADER or 8 + size > len(blob):
        raise TensorFileError(
            f"{what} declares a {size}-byte header but holds {len(blob) - 8} bytes after the length; truncated or "
            "not a tensor file"
        )
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TensorFileError(f"{what}: its header is not JSON ({err}); not a tensor file") from None
    if not isinstance(header, dict):
        raise TensorFileError(f"{what}: its header is a JSON {type(header).__name__}; expected an object")
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise TensorFileError(f"{what}: __metadata__ must map names to strings")
    data = bytearray(blob[8 + size :])
    tensors, spans = {}, []
    for name, spec in header.items():
        tensors[name] = _tensor(name, spec, data, what)
        spans.append(tuple(spec["data_offsets"]))
    expected = 0
    for start, end in sorted(spans):
        if start != expected:
            raise TensorFileError(f"{what}: tensor bytes overlap or leave a gap at byte {expected}")
        expected = end
    if expected != len(data):
        raise TensorFileError(
            f"{what}: the tensors cover {expected} bytes of data but the file holds {len(data)}; truncated or damaged"
        )
    return tensors, metadata


def _tensor(name: str, spec: object, data: bytearray, what: str) -> torch.Tensor:
    if not (isinstance(spec, dict) and {"dtype", "shape", "data_offsets"} <= spec.keys()):
        raise TensorFileError(f"{what}: entry {name!r} lacks dtype, shape or data_offsets")
    dtype = DTYPES.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None
    shape, offsets = spec["shape"], spec["data_offsets"]
    if dtype is None:
        raise TensorFileError(f"{what}: entry {name!r} has dtype {spec['dtype']!r}; expected one of {sorted(DTYPES)}")
    ok_shape = isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
    ok_offsets = (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                  and 0 <= offsets[0] <= offsets[1] <= len(data))
    if not (ok_shape and ok_offsets):
        raise TensorFileError(f"{what}: entry {name!r} has a bad shape {shape!r} or byte range {offsets!r}")
    itemsize = torch.empty((), dtype=dtype).element_size()
    count = math.prod(shape)
    if offsets[1] - offsets[0] != count * itemsize:
        raise TensorFileError(
            f"{what}: entry {name!r} of shape {shape} {spec['dtype']} needs {count * itemsize} bytes; "
            f"its range holds {offsets[1] - offsets[0]}"
        )
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    flat = torch.frombuffer(data, dtype=torch.uint8, count=count * itemsize, offset=offsets[0]).clone()
    if dtype == torch.bool and bool((flat > 1).any()):
        raise TensorFileError(f"{what}: bool entry {name!r} holds bytes other than 0 and 1; damaged")
    return flat.view(dtype).reshape(shape)
