"""Paired outcomes with chosen differences, shared by the statistics tests: per-seed
accuracy arms with a chosen Δ, per-image correctness with chosen discordant counts."""

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


# Arm A accuracies for 5 seeds, in points; arm B = A + a chosen per-seed Δ.
BASE = np.array([97.90, 98.01, 97.95, 97.87, 98.10])


def arms(deltas) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with b − a equal to `deltas` (up to float rounding)."""
    a = BASE[: len(deltas)] if len(deltas) <= len(BASE) else np.full(len(deltas), 98.5)
    return a, a + np.asarray(deltas, dtype=float)


def drop_arms(drops) -> tuple[np.ndarray, np.ndarray]:
    """(low-precision arm, reference arm) where the low-precision arm is `drops` points worse;
    passed as (a, b) they make Δ = b − a the drop, the way `at_most` bounds a drop."""
    ref = BASE[: len(drops)]
    return ref - np.asarray(drops, dtype=float), ref
