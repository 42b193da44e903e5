"""SZ-4 of source 001 (section 6, Figures 7–9): mixed precision under gradient clipping.

AMP fp16 against fp32 with norm and value clipping over a sweep of clip values; the source
reports 0.01 as the lowest-accuracy and 0.5 as the highest-accuracy setting.
"""

from __future__ import annotations

from ..evaluate import evaluate
from ..experiment import dataset, run_seeds
from ..stats import equivalence
from .base import ClaimResult, Context, claim
from .cases import cases
from .pairing import paired_accuracies, seed_accuracies
from .parameter_precision_setup import CLIPS, QUICK_CLIPS, SOURCE, arm, clip_arm
from .report_data import train_seconds


@claim(
    "SZ-4",
    SOURCE,
    "6, AMP and Gradient Clipping, Figures 7-9",
    "AMP fp16 ≈ fp32 under norm and value clipping; clip 0.01 lowest, 0.5 highest",
    "per clip setting paired seeds, Δ = acc(amp-fp16) − acc(fp32), 90% CI inside ±0.2 pt",
    cases=cases("{mode}-clip={clip}", mode=("norm", "value"), clip=CLIPS, quick={"clip": QUICK_CLIPS},
                smoke={"mode": "norm", "clip": 0.5}),
)
def sz4(ctx: Context, mode: str = "value", clip: float = 0.5) -> ClaimResult:
    """amp-fp16 (autocast + GradScaler) vs fp32, both with gradient clipping `mode` ("norm":
    global norm, "value": per element) at `clip`: equivalence within ±0.2 pt over n = 5 paired
    seeds (quick; 10 paper). Quick runs clip ∈ {0.01, 0.5} (the two the source names) and caps
    training at 100 steps (~0.2 epoch at batch 128; amp-fp16 is ~12× slower than fp32 on a
    CPU), so quick accuracies are those of a short run. Figures also hold the accuracy-vs-clip
    curve over the profile's clip values for this mode and whether 0.01 is the lowest and 0.5
    the highest (the source's ordering, for amp-fp16). Timed: amp-fp16 inference."""
    if mode not in ("norm", "value"):
        raise ValueError(f"SZ-4 mode={mode!r}; expected 'norm' or 'value'")
    values = ctx.pick(QUICK_CLIPS, CLIPS, "clip values")
    curve = {}
    for v in values:
        base = run_seeds(clip_arm(ctx, mode, v, "fp32"), ctx.seeds(), ctx.device, ctx.root)
        amp = run_seeds(clip_arm(ctx, mode, v, "amp-fp16"), ctx.seeds(), ctx.device, ctx.root)
        curve[v] = (base, amp)
    base, amp = curve[clip]
    acc32, acc16, note = paired_accuracies(base, amp)
    j = equivalence(acc32, acc16, margin=0.2)
    means = {str(v): {p: _mean(rs) for p, rs in zip(("fp32", "amp-fp16"), pair, strict=True)}
             for v, pair in curve.items()}
    amp_means = {v: means[str(v)]["amp-fp16"] for v in values if means[str(v)]["amp-fp16"]}
    lowest, highest = min(amp_means, key=amp_means.get), max(amp_means, key=amp_means.get)
    order = ("amp-fp16 mean accuracy by clip: "
             + ", ".join(f"{v}: {a:.2f}%" for v, a in amp_means.items())
             + f" (lowest at {lowest}, highest at {highest})")
    model, data = amp[0].model(ctx.device), dataset(arm(ctx), ctx.device, ctx.root)
    return ClaimResult(
        "SZ-4", ctx.case, j.verdict, j.line(),
        accuracies={"fp32": seed_accuracies(base), "amp-fp16": seed_accuracies(amp)},
        figures={"judgement": j,
                 "curve_mean_accuracy": means, "lowest_clip": lowest, "highest_clip": highest,
                 "0.01_is_lowest": lowest == 0.01, "0.5_is_highest": highest == 0.5,
                 "skipped_steps": [r.skipped_steps for r in amp], "steps": amp[0].steps,
                 "curve_train_seconds": train_seconds(curve, ("fp32", "amp-fp16"))},
        note="; ".join(n for n in (note, order, f"{amp[0].steps} steps per run") if n),
        timed=lambda: evaluate(model, data, "test", "amp-fp16"),
    )


def _mean(runs) -> float | None:
    """Mean accuracy of the runs that did not diverge (None if all did)."""
    acc = [r.accuracy for r in runs if not r.diverged]
    return sum(acc) / len(acc) if acc else None
