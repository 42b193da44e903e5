"""Paired per-image outcomes with chosen discordant counts, shared by the statistics tests."""

from __future__ import annotations

import numpy as np


def correctness(b: int, c: int, n: int = 10_000, both_wrong: int = 100):
    """Per-image correctness of models A and B with exactly b images A-only right and c images
    B-only right among n, plus `both_wrong` images both miss."""
    a = np.ones(n, dtype=bool)
    bb = np.ones(n, dtype=bool)
    bb[:b] = False  # A right, B wrong
    a[b : b + c] = False  # A wrong, B right
    a[b + c : b + c + both_wrong] = False
    bb[b + c : b + c + both_wrong] = False
    return a, bb
