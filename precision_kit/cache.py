"""The trained-model cache: one file per (arm, seed, device, code version), written atomically.

Claims that share a trained model (BI-1..BI-4, SZ-1/3/5/6 …) train it once; a re-run
loads it; an interrupted run resumes from the arms already written. The key hashes the
full configuration, the seed, the device type, the torch version, the CPU thread count and
a hash of the source files that decide a trained model, so a code change invalidates the
entries it affects; for a CUDA run also the GPU model, the CUDA and cuDNN versions and the
determinism and TF32 flags, so a model trained on another GPU or stack is not reused.

An entry is a tensor file (`precision_kit.tensorfile`, the safetensors layout): the
payload's tensors as raw bytes and everything else as JSON in its metadata, with the
entry's format and key. Reading one runs no code, whoever wrote the folder (a shared cache
on a CI runner or a team drive is the normal case). An entry that is truncated, damaged,
of another format or stored under another key is moved aside into `quarantine/` with a
`CacheWarning` and treated as missing, so it is retrained: nothing crashes, nothing is
deleted. Entries of the old pickle format (`*.pt`) are never read. Two processes writing
the same entry each write a whole temp file and rename it: one valid entry remains. Two
processes about to train the same entries (pytest-xdist workers judging claims that share
arms) take them in turn (`claimed`): the second finds them in the cache when it gets them.

Location: `$PRECISION_KIT_CACHE`, else `~/.cache/precision_kit/models`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .devices import determinism_flags, resolve_device
from .errors import DataError
from .files import atomic_writer
from .tensorfile import TensorFileError, decode, encode

ENV_CACHE = "PRECISION_KIT_CACHE"
FORMAT = "precision_kit.cache/2"  # /2: tensor file + JSON; /1 was a torch.save pickle (*.pt), never read
SUFFIX = ".safetensors"
QUARANTINE = "quarantine"
_META = "precision_kit"  # the metadata entry that holds the JSON part
_TENSOR = "__tensor__"  # a JSON placeholder {"__tensor__": name} for a tensor of the payload
# The modules whose code decides what a trained model is.
_KEY_MODULES = (
    "data.py", "idx.py", "models.py", "precision.py", "train.py", "mlp_step.py", "evaluate.py", "experiment.py",
    "train_types.py", "population.py", "population_stack.py", "population_optim.py",
)


class CacheWarning(UserWarning):
    """A cache entry could not be used and was moved aside; it will be retrained."""


def cache_dir() -> Path:
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "precision_kit" / "models"


@lru_cache(maxsize=1)
def code_version() -> str:
    """A short hash of the training code and the torch version."""
    here = Path(__file__).parent
    digest = hashlib.sha256(torch.__version__.encode())
    for name in _KEY_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_key(description: dict[str, Any]) -> str:
    """A stable key for a JSON-describable configuration, the code version and the CPU
    thread count (a float reduction split over another number of threads rounds
    differently, so a model trained with 1 thread is not the one trained with 2).

    A description whose ``config.device`` is CUDA also gets `cuda_context` (GPU model,
    CUDA/cuDNN versions, determinism and TF32 flags): another GPU or library picks other
    kernels, so its model is another model. CPU keys hold no CUDA field, so they are the
    keys they were before CUDA entered the key and existing CPU entries stay valid.
    """
    context: dict[str, Any] = {"code": code_version(), "threads": torch.get_num_threads()}
    index = _cuda_index(description)
    if index is not None:
        context["cuda_context"] = cuda_context(index)
    text = json.dumps({**context, **description}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cuda_context(index: int) -> dict[str, Any]:
    """What decides a CUDA-trained model besides the code and the configuration: the model
    of GPU `index`, the CUDA and cuDNN versions torch runs, and `determinism_flags()`."""
    return {
        "gpu": torch.cuda.get_device_name(index),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        **determinism_flags(),
    }


def _cuda_index(description: dict[str, Any]) -> int | None:
    """The CUDA device index `description` trains on (its ``config.device``: "cuda", "cuda:N"
    or a torch.device), or None when it is not a CUDA one. The device is resolved as training
    resolves it (`devices.resolve_device`: "cuda" is the current device, and CUDA is switched
    to deterministic kernels), so the key holds the flags the run trains under.

    Raises:
        UnsupportedError: a CUDA description on a machine without that GPU (its key names
            the GPU, which only the machine that trains it can tell).
    """
    config = description.get("config")
    device = config.get("device") if isinstance(config, dict) else None
    if str(device).partition(":")[0] != "cuda":
        return None
    return resolve_device(str(device)).index


def entry_path(key: str) -> Path:
    return cache_dir() / f"{key}{SUFFIX}"


def _split(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """`value` with every tensor replaced by a placeholder naming it in `tensors`."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value
        return {_TENSOR: name}
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad or _TENSOR in value:
            raise TypeError(f"cache payload dicts need str keys other than {_TENSOR!r}; found {bad or [_TENSOR]}")
        return {k: _split(v, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, tensors) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a cache payload holds tensors, dicts, lists and JSON scalars; found {type(value).__name__}")


def _join(value: Any, tensors: dict[str, torch.Tensor], used: set[str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            name = value[_TENSOR]
            if name not in tensors or name in used:
                raise TensorFileError(f"the payload names tensor {name!r}, which the file lacks or names twice")
            used.add(name)
            return tensors[name]
        return {k: _join(v, tensors, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors, used) for v in value]
    return value


def encode_payload(key: str, payload: dict[str, Any]) -> bytes:
    """The bytes of the entry for `key`: tensors raw, the rest JSON (lists for tuples)."""
    tensors: dict[str, torch.Tensor] = {}
    body = _split(payload, tensors)
    meta = json.dumps({"format": FORMAT, "key": key, "payload": body})
    return encode(tensors, {_META: meta})


def decode_payload(key: str, blob: bytes, what: str) -> dict[str, Any]:
    """The payload of an entry's bytes; `TensorFileError` if it is not a whole entry of this
    format stored under `key`."""
    tensors, metadata = decode(blob, what)
    try:
        meta = json.loads(metadata[_META])
    except (KeyError, json.JSONDecodeError) as err:
        raise TensorFileError(f"{what} has no precision_kit metadata ({err!r}); a foreign file") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise TensorFileError(f"{what} is of format {found!r}; expected {FORMAT!r}")
    if meta.get("key") != key:
        raise TensorFileError(f"{what} holds the entry of key {meta.get('key')!r}; expected {key!r}")
    used: set[str] = set()
    payload = _join(meta.get("payload"), tensors, used)
    if not isinstance(payload, dict) or used != set(tensors):
        raise TensorFileError(f"{what}: its payload and its tensors do not match")
    return payload


def load(key: str, parse: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """The cached payload of `key` (passed through `parse`, if given), or None when there
    is none. An unusable entry (unreadable bytes, another format or key, or a payload that
    `parse` rejects with KeyError, TypeError or ValueError) is moved into the quarantine
    folder with a `CacheWarning`, and None is returned: the caller retrains."""
    path = entry_path(key)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except PermissionError as err:
        raise DataError(
            f"cache entry {path} cannot be read ({err}); give this user read access to {path.parent} "
            f"or set {ENV_CACHE} to a folder of its own"
        ) from None
    except IsADirectoryError:
        blob = b""  # a folder under an entry's name: foreign, moved aside below
    what = f"cache entry {path}"
    try:
        payload = decode_payload(key, blob, what)
        return parse(payload) if parse is not None else payload
    except (TensorFileError, KeyError, TypeError, ValueError) as err:
        if not isinstance(err, TensorFileError):
            err = TensorFileError(f"{what} holds a payload of another shape ({type(err).__name__}: {err})")
        moved = quarantine(path)
        warnings.warn(
            f"{err}; moved it to {moved} and will retrain it. Nothing was deleted: inspect or remove "
            f"{moved.parent} when convenient.",
            CacheWarning,
            stacklevel=2,
        )
        return None


def quarantine(path: Path) -> Path:
    """Move `path` into the cache's quarantine folder under a unique name; the new path."""
    folder = path.parent / QUARANTINE
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.name}.{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}.{time.monotonic_ns()}"
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another process moved (or replaced and moved) it first
        pass
    return target


def save(key: str, payload: dict[str, Any]) -> Path:
    """Write `payload` (tensors, dicts with str keys, lists, JSON scalars) for `key`
    atomically: a whole temp file in the same folder, then a rename."""
    blob = encode_payload(key, payload)
    target = entry_path(key)
    with atomic_writer(target) as fh:
        fh.write(blob)
    return target


LOCKS = "locks"


@contextmanager
def claimed(keys: list[str]) -> Iterator[None]:
    """Hold an exclusive lock on each of `keys` (an empty lock file per key under
    `locks/`, taken in sorted order so two processes never wait on each other in a
    cycle) while the entries are trained and saved. Where the platform has no `fcntl`
    (Windows) nothing is locked: two processes may then train the same entry twice, and
    one valid entry remains."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    folder = cache_dir() / LOCKS
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for key in sorted(set(keys)):
            fh = stack.enter_context(open(folder / f"{key}.lock", "a"))
            fcntl.flock(fh, fcntl.LOCK_EX)
            stack.callback(fcntl.flock, fh, fcntl.LOCK_UN)
        yield
