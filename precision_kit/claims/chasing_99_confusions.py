"""Source 003 ("Chasing 99%"): claim CH-10, which digits the lr 1e-2 and the width-1000
models confuse, on the models CH-2 and CH-6 train (the source's wording and the budgets:
`chasing_99_dynamics`; the setup and the run helpers: `chasing_99_setup`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..binomial import clopper_pearson, decisive, majority
from ..errors import PrecisionKitError
from ..evaluate import evaluate
from .base import ClaimResult, Context, claim
from .cases import cases
from .chasing_99_setup import (
    QUICK_WIDE,
    SOURCE,
    deep_runs,
    epochs_note,
    kept_runs,
    lr2_runs,
    lr4_runs,
    run_data,
)

OVERPREDICTED = 3  # CH-10, lr 1e-2
CONFUSED_PAIR = (4, 9)  # CH-10, width 1000
PARTS = ("lr1e-2-overpredicts-3", "width1000-confuses-4-9")


# ---------------------------------------------------------------------------- confusions
def _check_confusion(confusion) -> torch.Tensor:
    c = torch.as_tensor(confusion)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2 or c.is_floating_point() or bool((c < 0).any()):
        raise ValueError(f"expected a square confusion matrix of counts ≥ 0 (rows true, columns predicted); "
                         f"found shape {tuple(c.shape)}, dtype {c.dtype}")
    return c.long()


def false_positives(confusion) -> torch.Tensor:
    """Per predicted class, the images of another class predicted as it (column sum − diagonal)."""
    c = _check_confusion(confusion)
    return c.sum(0) - c.diagonal()


def top_false_positive(confusion) -> tuple[int, bool]:
    """The predicted class with the most false positives and whether it is the only maximum."""
    fp = false_positives(confusion)
    return int(fp.argmax()), int((fp == fp.max()).sum()) == 1


def top_confused_pair(confusion) -> tuple[tuple[int, int], int, bool]:
    """The unordered pair {i, j} (i < j) with the most confusions both ways (c[i, j] + c[j, i]),
    its count, and whether it is the only maximum."""
    c = _check_confusion(confusion)
    both = torch.triu(c + c.T, diagonal=1)
    flat = int(both.argmax())
    i, j = divmod(flat, c.shape[0])
    return (i, j), int(both[i, j]), int((both == both[i, j]).sum()) == 1


def wide_runs(ctx: Context):
    """CH-6's width-1000 arm (3 × 1000, lr 1e-4): 3 seeds at 1 epoch quick / 10 at 50 paper."""
    n = range(ctx.pick(QUICK_WIDE[1], 10, "seeds", regime=False))
    epochs = ctx.pick(QUICK_WIDE[0], 50, "epochs")
    return deep_runs(ctx, 1000, n, epochs=epochs), n


def confusions(runs: Sequence, ctx: Context) -> tuple[list[torch.Tensor], list[int]]:
    """Test confusion matrices of the runs (one evaluation pass each) and, per run, how many
    test images flipped against its stored correctness (0 when the harness is sound)."""
    mats, flips = [], []
    for r in runs:
        ev = evaluate(r.model(ctx.device), run_data(r, ctx), "test")
        mats.append(ev.confusion)
        flips.append(int((ev.correct != r.correct).sum()))
    return mats, flips


def _read_overpredicted(mats: Sequence[torch.Tensor]) -> dict:
    tops = [top_false_positive(m) for m in mats]
    return {"outcome": [c for c, _ in tops], "unique": [u for _, u in tops],
            "hits": [c == OVERPREDICTED and u for c, u in tops],
            "false_positives": [false_positives(m).tolist() for m in mats]}


def _read_confused(mats: Sequence[torch.Tensor]) -> dict:
    tops = [top_confused_pair(m) for m in mats]
    i, j = CONFUSED_PAIR
    return {"outcome": [list(p) for p, _, _ in tops], "unique": [u for _, _, u in tops],
            "hits": [p == CONFUSED_PAIR and u for p, _, u in tops], "top_pair_count": [c for _, c, _ in tops],
            "confusions_4_9": [int(m[i, j] + m[j, i]) for m in mats]}


@claim(
    "CH-10",
    SOURCE,
    "2 hidden layers, Version 4; 3 Hidden Layer NN, Version 5",
    "lr 1e-2 makes the model over-predict 3; width 1000 confuses 4 and 9 most",
    "test confusion matrix per seed: the predicted class with the most false positives (lr 1e-2) and the "
    "most confused unordered pair (width 1000); holds if it is the stated one in a majority of seeds: exact "
    "one-sided 95% Clopper–Pearson lower bound of the share > 0.5 (upper bound < 0.5 fails)",
    cases=cases("part={part}", part=PARTS),
)
def ch10(ctx: Context, part: str) -> ClaimResult:
    """One part of CH-10 per case. part="lr1e-2-overpredicts-3": CH-2's lr 1e-2 models (2 × 50),
    per seed the predicted class with the most false positives (column sum − diagonal of the
    test confusion matrix), a hit if it is 3. part="width1000-confuses-4-9": CH-6's 3 × 1000
    models, per seed the unordered pair with the most confusions both ways (c[i, j] + c[j, i]),
    a hit if it is {4, 9}. A tie for the maximum is no hit. Test: hits in a majority of seeds,
    exact one-sided 95% Clopper–Pearson bounds on the share (5 seeds are the fewest that can
    decide). n = 5 seeds at 100 epochs (lr 1e-2, quick) / 3 seeds at 1 epoch (width 1000, quick:
    UNTESTED) / 10 at 100 and 50 epochs (paper). The reference arm (lr 1e-4,
    resp. width 100) is reported, not judged. Timed: test inference of one model of the part."""
    if part not in PARTS:
        raise ValueError(f"part={part!r} is not a case of CH-10; expected one of {', '.join(PARTS)}")
    if part == PARTS[0]:
        n = ctx.seeds()
        runs, ref, read, source_epochs = lr2_runs(ctx, n), lr4_runs(ctx, n), _read_overpredicted, 100
        what, ref_label = f"class {OVERPREDICTED} has the most false positives", "lr0.0001"
    else:
        runs, n = wide_runs(ctx)
        ref, read, source_epochs = deep_runs(ctx, 100, n), _read_confused, 50
        what, ref_label = f"{{{CONFUSED_PAIR[0]}, {CONFUSED_PAIR[1]}}} is the most confused pair", "width100"
    kept, note = kept_runs(runs)
    if not kept:
        raise PrecisionKitError(f"CH-10 [{part}]: every seed diverged, no model to read a confusion matrix from")
    mats, flips = confusions(kept, ctx)
    ref_kept, _ = kept_runs(ref)
    ref_mats, ref_flips = confusions(ref_kept, ctx)
    seen = read(mats)
    j = majority(seen["hits"], what)
    notes = [note, epochs_note(ctx, kept, source_epochs)]
    if not decisive(len(kept)):
        low = clopper_pearson(len(kept), len(kept))[0]
        notes.append(f"{len(kept)} seeds cannot decide a majority (all hits give a lower bound of {low:.2f}): "
                     "INCONCLUSIVE whatever the matrices show; run the paper profile")
    summed = torch.stack(mats).sum(0)
    ref_summed = torch.stack(ref_mats).sum(0) if ref_mats else None
    broken = [f"seed {r.seed}: {f}" for r, f in zip(kept + ref_kept, flips + ref_flips, strict=True) if f]
    model, data = kept[-1].model(ctx.device), run_data(kept[-1], ctx)
    return ClaimResult(
        "CH-10",
        ctx.case,
        j.verdict,
        f"{part}: {j.line()}",
        figures={
            "seeds": [r.seed for r in kept],
            "epochs": kept[0].arm.config.epochs,
            "per_seed": seen,
            "judgement": j,
            "confusion_summed": summed.tolist(),
            "summed_outcome": read([summed])["outcome"][0],
            f"reference_{ref_label}": {
                "seeds": [r.seed for r in ref_kept],
                "per_seed": read(ref_mats) if ref_mats else None,
                "confusion_summed": None if ref_summed is None else ref_summed.tolist(),
            },
            "reevaluation_flips": flips,
        },
        note="; ".join(filter(None, notes)),
        harness_broken=(f"re-evaluating the cached models flipped test images ({', '.join(broken)})"
                        if broken else None),
        timed=lambda: evaluate(model, data, "test"),
    )
