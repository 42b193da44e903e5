"""The trained-model cache: one file per (arm, seed, device, code version), written atomically.

Claims that share a trained model (BI-1..BI-4, SZ-1/3/5/6 …) train it once; a re-run
loads it; an interrupted run resumes from the arms already written. The key hashes the
full configuration, the seed, the device type, the torch version, the CPU thread count and
a hash of the source files that decide a trained model, so a code change invalidates the
entries it affects.
Location: `$PRECISION_KIT_CACHE`, else `~/.cache/precision_kit/models`.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .errors import DataError
from .files import atomic_writer

ENV_CACHE = "PRECISION_KIT_CACHE"
# The modules whose code decides what a trained model is.
_KEY_MODULES = (
    "data.py", "idx.py", "models.py", "precision.py", "train.py", "mlp_step.py", "evaluate.py", "experiment.py",
)


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
    differently, so a model trained with 1 thread is not the one trained with 2)."""
    context = {"code": code_version(), "threads": torch.get_num_threads()}
    text = json.dumps({**context, **description}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load(key: str) -> dict[str, Any] | None:
    """The cached payload of `key`, or None. A corrupt entry is a DataError naming the file."""
    path = cache_dir() / f"{key}.pt"
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (EOFError, RuntimeError, OSError, ValueError) as err:
        raise DataError(
            f"cache entry {path} is unreadable ({err}); expected a torch.save payload. "
            f"Delete it (or the folder {cache_dir()}) and run again."
        ) from err


def save(key: str, payload: dict[str, Any]) -> Path:
    """Write `payload` for `key` atomically (temp file in the same folder, then rename)."""
    target = cache_dir() / f"{key}.pt"
    with atomic_writer(target) as fh:
        torch.save(payload, fh)
    return target
