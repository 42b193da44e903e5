"""Compact extra figures that only the report reads: per-epoch curves of an arm's seeds,
training seconds per arm, the confusion matrix of a trained model and the value counts of
rounded weights.

Each is computed from what a judge already has in hand (the trained runs from the cache,
at most one extra evaluation pass of a cached model), never retrains, and never feeds a
verdict. The gate reads none of them: it reads a result's typed `accuracies` and `sizes`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

import torch

from ..experiment import reevaluate
from ..quantize import round_tensor

DIGITS = 4


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def epoch_curves(runs: Sequence) -> dict[str, list[list[float | None]]]:
    """Per seed (outer) and epoch (inner): train loss, running train accuracy in percent
    ("train_acc") and test loss (None at epochs the arm did not evaluate)."""
    return {
        "train_loss": [[_r(e.train_loss) for e in r.epochs] for r in runs],
        "train_acc": [[_r(e.train_accuracy) for e in r.epochs] for r in runs],
        "test_loss": [[_r(e.test_loss) for e in r.epochs] for r in runs],
    }


def _mean_per_epoch(runs: Sequence, field: str) -> list[float | None]:
    """Mean over the seeds that reached each epoch (records stop at divergence)."""
    longest = max((len(r.epochs) for r in runs), default=0)
    out = []
    for i in range(longest):
        values = [getattr(r.epochs[i], field) for r in runs if i < len(r.epochs)]
        values = [v for v in values if v is not None]
        out.append(_r(statistics.fmean(values)) if values else None)
    return out


def confusion(run, device: str = "cpu", root: str | None = None) -> list[list[int]]:
    """10 × 10 confusion matrix (rows true digit, columns predicted) of `run`'s trained model
    on the 10,000 test images: one evaluation pass of the cached model."""
    return reevaluate(run, device, root).confusion.tolist()


def arm_summaries(runs_by_arm: Mapping[str, Sequence], ctx) -> dict[str, dict]:
    """Per arm: mean train and test loss per epoch over seeds, and the confusion matrix of
    the first seed that did not diverge (its final trained epoch)."""
    out = {}
    for label, runs in runs_by_arm.items():
        ok = [r for r in runs if not r.diverged]
        out[label] = {
            "epochs_trained": max((len(r.epochs) for r in runs), default=0),
            "train_loss": _mean_per_epoch(runs, "train_loss"),
            "test_loss": _mean_per_epoch(runs, "test_loss"),
            "confusion": confusion(ok[0], ctx.device, ctx.root) if ok else None,
            "confusion_seed": ok[0].seed if ok else None,
        }
    return out


def train_seconds(curve: Mapping[float, Iterable[Sequence]], labels: Sequence[str]) -> dict[str, dict]:
    """{clip: {arm label: mean training seconds per run}} over the runs that did not diverge;
    measured while training (a cached run keeps the seconds of the session that trained it)."""
    out = {}
    for value, arms in curve.items():
        row = {}
        for label, runs in zip(labels, arms, strict=True):
            secs = [sum(e.seconds for e in r.epochs) for r in runs if not r.diverged]
            row[label] = _r(statistics.fmean(secs)) if secs else None
        out[str(value)] = row
    return out


def rounded_value_counts(states: Sequence[Mapping[str, torch.Tensor]], decimals: Iterable[int]) -> dict:
    """{d: {layer: {"units": [k, …], "counts": [n, …]}}}: every floating parameter rounded to
    d decimals exactly as `quantize.round_weights` does, the value k / 10**d occurring n times,
    summed over the seeds' state dicts."""
    out: dict[str, dict] = {}
    for d in decimals:
        per_layer = {}
        for name in states[0]:
            if not states[0][name].is_floating_point():
                continue
            units = torch.cat([round_tensor(s[name].double(), d).mul(10**d).round().flatten() for s in states])
            values, counts = torch.unique(units.long(), return_counts=True)
            per_layer[name] = {"units": values.tolist(), "counts": counts.tolist()}
        out[str(d)] = per_layer
    return out
