"""Paired-seed runs of your own training function, cached: the arms of a claim about your own
model and data (README, "Your own claims").

`runs(name, train, seeds, **params)` calls `train(seed, **params)` for each seed not in the
cache and returns what each call returned: a flat mapping of figure names to numbers (e.g.
{"accuracy": 97.4}), the same seeds for every arm of a claim, so the arms pair by seed. Each
result is stored as JSON under `<model cache>/runs/`, keyed by the name, your `version`,
the parameters, the seed, the torch version and its thread count (like the model cache: a
float reduction split over other threads rounds differently): a re-run loads it, a new `version` (bump it
when your training code changes) trains again. Reading an entry runs no code; a damaged one
is moved aside with a `CacheWarning` and trained again. Two pytest-xdist workers asking for
the same run take turns (`cache.claimed`): it is trained once.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from . import cache
from .files import atomic_write_text

FORMAT = "precision_kit.own_run/1"
FOLDER = "runs"
Figures = Mapping[str, float | int | None]


def runs(name: str, train: Callable[..., Figures], seeds: Iterable[int], version: str = "1",
         **params: Any) -> list[dict[str, float | int | None]]:
    """`train(seed, **params)` for each of `seeds` (from the cache where it is there), in
    seed order. `params` must be JSON values (they enter the cache key); `train` must return
    a mapping of str to finite numbers or None (a diverged run's accuracy, say)."""
    if not name or not isinstance(name, str):
        raise ValueError(f"name must be a non-empty string naming your model; found {name!r}")
    try:
        json.dumps(params, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"the parameters of {name!r} must be JSON values (they enter the cache key); "
                        f"found {params!r} ({err})") from None
    out = []
    for seed in seeds:
        key = _key(name, version, seed, params)
        found = _load(key)
        if found is None:
            with cache.claimed([key]):
                found = _load(key)  # another worker may have trained it while this one waited
                if found is None:
                    found = _check(name, seed, train(seed, **params))
                    _save(key, name, version, seed, params, found)
        out.append(found)
    return out


def _key(name: str, version: str, seed: int, params: dict[str, Any]) -> str:
    description = {"format": FORMAT, "name": name, "version": str(version), "seed": int(seed), "params": params,
                   "torch": torch.__version__, "threads": torch.get_num_threads()}
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:32]


def _path(key: str) -> Path:
    return cache.cache_dir() / FOLDER / f"{key}.json"


def _check(name: str, seed: int, figures: Any) -> dict[str, float | int | None]:
    if not isinstance(figures, Mapping) or not figures:
        raise TypeError(f"train() of {name!r} (seed {seed}) must return a non-empty mapping of figure names to "
                        f"numbers, e.g. {{'accuracy': 97.4}}; it returned {figures!r:.80}")
    out = {}
    for k, v in figures.items():
        if hasattr(v, "item"):
            v = v.item()
        if not isinstance(k, str) or not (v is None or isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise TypeError(f"train() of {name!r} (seed {seed}): figure {k!r} = {v!r} is not a number; return "
                            "str keys and numbers (or None for a run without that figure)")
        out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    return out


def _save(key: str, name: str, version: str, seed: int, params: dict[str, Any], figures: dict) -> None:
    doc = {"format": FORMAT, "key": key, "name": name, "version": str(version), "seed": int(seed),
           "params": params, "figures": figures}
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(doc, allow_nan=False, sort_keys=True))


def _load(key: str) -> dict[str, float | int | None] | None:
    path = _path(key)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT or doc.get("key") != key or not isinstance(doc.get("figures"), dict):
            raise ValueError(f"expected format {FORMAT} with key {key}")
        return _check(doc.get("name", "?"), doc.get("seed", -1), doc["figures"])
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as err:
        moved = cache.quarantine(path)
        warnings.warn(f"{path}: unusable run ({err}); moved to {moved}, it will be trained again",
                      cache.CacheWarning, stacklevel=3)
        return None
