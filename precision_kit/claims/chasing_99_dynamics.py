"""Source 003 ("Chasing 99%"): claim CH-9 (dead ReLUs at a high learning rate). It and CH-10
(`chasing_99_confusions`: which digits the lr 1e-2 and the width-1000 models confuse) share
their run helpers (`chasing_99_setup`) and are measured on the models that
CH-2 and CH-6 already train: the same arms, seeds and budgets through the same functions
(`chasing_99_setup.arm`, `lr4_runs`, `deep_runs`), so nothing retrains once those
claims have run. Each model is read back from the cache (`Trained.model()`) and measured once
more: a forward pass over the 60,000 training images (CH-9) or the 10,000 test images (CH-10).

What the source says (section "3 Hidden Layer NN", ReLU paragraph; Version 4; Version 5 of
the 3-layer networks):
- "In a deep network with a high learning rate, up to 40% of the ReLU network can silently
  die during early training". A general remark, not a count the source made on its runs;
  its only high-lr run is Version 4 (2 × 50, lr 1e-2), so CH-9 compares that arm with lr
  1e-4 (Version 5).
- Version 4 (lr 1e-2): "The model consistently predicted a number as 3 when it was not
  actually a 3" (the column of digit 3 of its test confusion matrix).
- Version 5 (3 × 1000): "unusually high confusion between 9 and 4 compared to previous models".

Budgets: CH-2's and CH-6's. lr arms: 5 (quick) / 10 (paper) seeds at 100 epochs; width
1000: 3 seeds at 1 epoch (quick, UNTESTED) / 10 at 50 (paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..activations import each_relu_output
from ..errors import PrecisionKitError
from ..evaluate import EVAL_BATCH
from ..stats import Interval, mean_at_least, superiority
from ..verdicts import Verdict, combine, plain
from .base import ClaimResult, Context, claim
from .cases import cases
from .chasing_99_setup import SOURCE, epochs_note, lr2_runs, lr4_runs, run_data
from .pairing import paired_runs

LARGE_SHARE = 10.0  # CH-9: percent of hidden units; at least a quarter of the source's "up to 40%"
STATED_UP_TO = 40.0


# ---------------------------------------------------------------------------- dead units
def dead_units(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> list[torch.Tensor]:
    """Per nn.ReLU module of `model` (in module order), a bool mask of its units that output 0
    for every image of `images` (a unit: one output feature). Eval mode, fp32 matmuls (no
    TF32), `batch_size` images at a time (`activations.each_relu_output`)."""
    fired: dict[int, torch.Tensor] = {}

    def record(i: int, output: torch.Tensor) -> None:
        now = (output.reshape(output.shape[0], -1) != 0).any(0)
        fired[i] = now if i not in fired else fired[i] | now

    n = each_relu_output(model, images, record, batch_size)
    return [~fired[i].cpu() for i in range(n)]


def dead_percent(masks: Sequence[torch.Tensor]) -> tuple[float, list[float]]:
    """(percent of all hidden units that are dead, percent per layer) from `dead_units` masks."""
    if not masks:
        raise ValueError("expected one dead-unit mask per ReLU layer; found none")
    total = sum(m.numel() for m in masks)
    return 100.0 * sum(int(m.sum()) for m in masks) / total, [100.0 * int(m.sum()) / m.numel() for m in masks]


@dataclass(frozen=True)
class Share:
    """CH-9 (b): is the mean dead share at lr 1e-2 'large' (≥ `threshold` percent)?"""

    verdict: Verdict
    interval: Interval  # two-sided: [one-sided lower bound, one-sided upper bound]
    threshold: float

    def line(self) -> str:
        return (f"dead at lr 1e-2 {self.interval.estimate:.1f}%, {self.interval.confidence:.0%} bounds "
                f"[{self.interval.low:.1f}, {self.interval.high:.1f}]%, {self.interval.n} seeds, "
                f"large share ≥ {plain(self.threshold)}% (source: up to {plain(STATED_UP_TO)}%) → {self.verdict}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "interval": self.interval.to_dict(), "threshold": self.threshold,
                "line": self.line()}


def large_share(percents: Sequence[float], threshold: float = LARGE_SHARE, confidence: float = 0.95) -> Share:
    """HOLDS if the one-sided `confidence` lower t bound of the mean dead percent is ≥
    `threshold`; FAILS if the one-sided upper bound is below it; else INCONCLUSIVE."""
    return Share(*mean_at_least(percents, threshold, confidence), threshold)


def more_dead(high_lr: Sequence[float], low_lr: Sequence[float]):
    """CH-9 (a): Δ = dead%(lr 1e-2) − dead%(lr 1e-4) > 0, paired seeds, one-sided 95%."""
    return superiority(low_lr, high_lr)


# ---------------------------------------------------------------------------- claims
@claim(
    "CH-9",
    SOURCE,
    "3 Hidden Layer NN, Version 2 (the ReLU paragraph); 2 hidden layers, Version 4 and 5",
    "with a high learning rate a large share of ReLU units die (up to 40%)",
    "dead unit = outputs 0 for every training image (eval mode), over all hidden layers; paired seeds, "
    "lr 1e-2 vs 1e-4: (a) one-sided 95% superiority of the dead share at 1e-2, (b) its one-sided 95% "
    f"lower bound ≥ {plain(LARGE_SHARE)}% (a large share); both must hold",
    cases=cases("lr=0.01-vs-0.0001"),
)
def ch9(ctx: Context) -> ClaimResult:
    """Dead ReLU units of the 2 × 50 MLP after training at lr 1e-2 (CH-2's arm, the source's
    Version 4) and at lr 1e-4 (Version 5), the same seeds. A unit is dead if it outputs 0 for
    all 60,000 training images (eval mode, chunks of 2,000); the share is over all 100 hidden
    units. (a) Δ = dead%(1e-2) − dead%(1e-4) > 0, one-sided 95% t bound over paired seeds.
    (b) Reading of "up to 40% of the ReLU network can silently die": 40% is the ceiling of what
    can happen, not a typical share, so a share below 40% does not contradict it; what the
    sentence asserts is that the share is large ("turning massive architecture into a highly
    constrained, inefficient model"). Judged: the mean dead share at lr 1e-2 is ≥ 10% (a
    quarter of the stated 40%): HOLDS if its one-sided 95% lower bound is ≥ 10%, FAILS if its
    upper bound is < 10%. A share above 40% is reported in the note, not failed. Both parts
    must hold. n = 5 (quick) / 10 (paper) paired seeds at 100 epochs (Version 4's budget).
    Measured on the final weights (the cache keeps no earlier ones). Timed: the dead-unit pass
    of one lr 1e-2 model."""
    n = ctx.seeds()
    pairs, note = paired_runs(lr2_runs(ctx, n), lr4_runs(ctx, n))
    if len(pairs) < 2:
        raise PrecisionKitError(f"CH-9 needs at least 2 seeds where neither arm diverged; found {len(pairs)} ({note})")
    measured: dict[str, list] = {"lr0.01": [], "lr0.0001": []}
    for pair in pairs:
        for label, run in zip(measured, pair, strict=True):
            measured[label].append(dead_units(run.model(ctx.device), run_data(run, ctx).train.images))
    percents = {label: [dead_percent(m) for m in masks] for label, masks in measured.items()}
    overall = {label: [p for p, _ in rows] for label, rows in percents.items()}
    more = more_dead(overall["lr0.01"], overall["lr0.0001"])
    share = large_share(overall["lr0.01"])
    verdict = combine(more.verdict, share.verdict)
    high = overall["lr0.01"]
    notes = [note]
    if share.interval.low > STATED_UP_TO:
        notes.append(f"more than the source's 'up to {plain(STATED_UP_TO)}%' die (lower bound "
                     f"{share.interval.low:.1f}%)")
    notes.append(f"lr 1e-2: dead share per seed {min(high):.1f}–{max(high):.1f}% vs the source's up to "
                 f"{plain(STATED_UP_TO)}%")
    notes.append(epochs_note(ctx, [pairs[0][0]], 100, " (the source: 'during early training')"))
    last = pairs[-1][0]
    model, images = last.model(ctx.device), run_data(last, ctx).train.images
    return ClaimResult(
        "CH-9",
        ctx.case,
        verdict,
        f"more dead at lr 1e-2: {more.line()}; {share.line()} ⇒ {verdict}",
        figures={
            "seeds": [a.seed for a, _ in pairs],
            "epochs": pairs[0][0].arm.config.epochs,
            **{f"dead_percent_{label}": overall[label] for label in measured},
            **{f"dead_percent_per_layer_{label}": [layers for _, layers in percents[label]] for label in measured},
            **{f"dead_units_per_layer_{label}": [[int(m.sum()) for m in masks] for masks in measured[label]]
               for label in measured},
            "hidden_widths": [m.numel() for m in measured["lr0.01"][0]],
            "judgement_more_dead": more,
            "judgement_large_share": share,
            "large_share_threshold_percent": LARGE_SHARE,
            "stated_up_to_percent": STATED_UP_TO,
        },
        note="; ".join(filter(None, notes)),
        timed=lambda: dead_units(model, images),
    )

