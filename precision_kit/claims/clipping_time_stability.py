"""Source 001 (section 6, "AMP and Gradient Clipping", Figures 7–9): claims SZ-8 (times under
AMP and clipping) and SZ-9 (fp32 accuracy is the most stable across clip values). SZ-9 reads
SZ-4's arms (`parameter_precision_setup.clip_arm`: the same runs, nothing retrains); SZ-8
times fresh short runs of the same setup in alternating rounds.

What the source says: "the evaluation time [is] approximately 2.01–2.16 seconds" at every
clip value, training times close for FP16 and FP32 (Figures 7–8), and "FP32 showed the most
stable accuracy across clip values" (Figure 9).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ..evaluate import evaluate
from ..experiment import dataset, run_seeds
from ..stats import bootstrap_superiority
from ..train import train
from ..verdicts import Judgement, Verdict, combine
from .base import ClaimResult, Context, claim
from .cases import cases
from .parameter_precision_setup import CLIPS, QUICK_CLIPS, SOURCE, SPEC, arm, clip_arm
from .ratio_bounds import RATIO_BAND, RatioJudgement, ratio_judgement

PRECISIONS = ("fp32", "amp-fp16")
MODES = ("norm", "value")


# ---------------------------------------------------------------------------- SZ-8


@dataclass(frozen=True)
class ClipTimes:
    """SZ-8's two parts: amp-fp16 against fp32 at each clip value, and each clip value against
    the first one for each precision (training and evaluation each)."""

    by_precision: dict[str, dict[str, RatioJudgement]]  # clip → {"train", "eval"}: amp/fp32
    by_clip: dict[str, dict[str, RatioJudgement]]  # "precision clip" → {"train", "eval"}: vs the first clip

    @property
    def verdict(self) -> Verdict:
        parts = [j.verdict for group in (self.by_precision, self.by_clip) for js in group.values() for j in js.values()]
        return combine(*parts)

    def worst(self, group: dict[str, dict[str, RatioJudgement]]) -> str:
        """The judged ratio furthest from 1 in `group`, as text."""
        name, part, j = max(((n, p, j) for n, js in group.items() for p, j in js.items()),
                            key=lambda x: abs(statistics.fmean([x[2].low, x[2].high]) - 1.0))
        return f"{name} {part} {j.text()} → {j.verdict}"

    def to_dict(self) -> dict:
        return {"by_precision": self.by_precision, "by_clip": self.by_clip, "verdict": self.verdict.value}


def judge_clip_times(seconds: dict[str, dict[str, dict[str, list[float]]]]) -> ClipTimes:
    """`seconds[precision][clip][part]` (part: "train", "eval"), one time per alternating
    round: amp-fp16/fp32 at every clip value and every clip value/the first one, each inside
    `RATIO_BAND` (`ratio_judgement`: 90% CI of the geometric-mean ratio)."""
    clips = list(seconds["fp32"])
    by_precision = {c: {part: ratio_judgement(seconds["fp32"][c][part], seconds["amp-fp16"][c][part])
                        for part in ("train", "eval")} for c in clips}
    by_clip = {f"{p} clip={c}": {part: ratio_judgement(seconds[p][clips[0]][part], seconds[p][c][part])
                                 for part in ("train", "eval")}
               for p in PRECISIONS for c in clips[1:]}
    return ClipTimes(by_precision, by_clip)


def measure_clip_times(ctx: Context, mode: str, clips, steps: int, rounds: int, warmup: int = 1):
    """Seconds of `steps` training steps (a fresh model, batch 64) and of one test-set
    evaluation (median of 3 passes) for each precision × clip value, every combination once
    per round in a rotating order; `warmup` rounds discarded."""
    data = dataset(arm(ctx), ctx.device, ctx.root)
    combos = [(p, c) for p in PRECISIONS for c in clips]
    out = {p: {str(c): {"train": [], "eval": []} for c in clips} for p in PRECISIONS}
    for r in range(warmup + rounds):
        k = r % len(combos)
        for p, c in combos[k:] + combos[:k]:
            config = arm(ctx, p, clip=mode, clip_value=c).config.replace(
                epochs=1, evaluation="none", seed=r, device=ctx.device, max_steps=steps)
            result = train(SPEC.build(r), data, config)
            passes = sorted(evaluate(result.model, data, "test", p).seconds for _ in range(3))
            if r >= warmup:
                out[p][str(c)]["train"].append(result.epochs[0].seconds)
                out[p][str(c)]["eval"].append(passes[1])
    return out


@claim(
    "SZ-8",
    SOURCE,
    "6, AMP and Gradient Clipping, Figures 7-9",
    "under AMP and clipping, training and evaluation times are nearly the same for fp16 and fp32 and across clip "
    "values (eval ≈ 2.01–2.16 s)",
    "alternating rounds in one run: amp-fp16/fp32 at each clip value and each clip value/the first, training and "
    f"evaluation; every 90% CI of the geometric-mean ratio inside [{RATIO_BAND[0]}, {RATIO_BAND[1]}]",
    speed=True,
    cases=cases("{mode}-clip", mode=MODES),
)
def sz8(ctx: Context, mode: str) -> ClaimResult:
    """Times of `steps` training steps (clip `mode` at each clip value of the profile) and of
    one evaluation of the 10,000 test images, fp32 and amp-fp16, every combination once per
    round in a rotating order over 3 rounds (quick; 5 paper) after one warm-up round. Both
    parts must hold: amp-fp16 ≈ fp32 at every clip value, and every clip value ≈ the first for
    each precision ("nearly the same" = within ±20%, symmetric on a log scale, 90% CI).
    Quick times 30 steps per run (paper 300) at clip 0.01 and 0.5; the ratios are per step
    either way. Expected device-dependent: amp-fp16 is emulated on a CPU without fp16 units.
    Timed: one amp-fp16 run at clip 0.5."""
    if mode not in MODES:
        raise ValueError(f"SZ-8 mode={mode!r}; expected one of {', '.join(MODES)}")
    clips = ctx.pick(QUICK_CLIPS, CLIPS, "clip values", regime=False)
    steps = ctx.pick(30, 300, "steps per round", regime=False)
    seconds = measure_clip_times(ctx, mode, clips, steps, ctx.pick(3, 5, "timing rounds", regime=False))
    judged = judge_clip_times(seconds)
    line = (f"{mode} clipping, {len(clips)} clip values, {steps} steps: amp-fp16/fp32 worst "
            f"{judged.worst(judged.by_precision)}; across clip values worst {judged.worst(judged.by_clip)}; "
            f"band [×{RATIO_BAND[0]}, ×{RATIO_BAND[1]}] → {judged.verdict}")
    eval_amp = {c: statistics.median(t["eval"]) for c, t in seconds["amp-fp16"].items()}
    data = dataset(arm(ctx), ctx.device, ctx.root)
    config = arm(ctx, "amp-fp16", clip=mode, clip_value=0.5).config.replace(
        epochs=1, evaluation="none", seed=0, device=ctx.device, max_steps=steps)
    return ClaimResult(
        "SZ-8", ctx.case, judged.verdict, line,
        figures={"seconds": seconds, "judged": judged, "steps": steps, "clips": list(clips),
                 "eval_seconds_amp_median": eval_amp, "stated_eval_seconds": [2.01, 2.16]},
        note=f"amp-fp16 evaluation {min(eval_amp.values()):.3f}–{max(eval_amp.values()):.3f} s per 10,000 images "
             "here (source: 2.01–2.16 s on its machine; absolute seconds are not compared)",
        timed=lambda: train(SPEC.build(0), data, config),
    )


# ---------------------------------------------------------------------------- SZ-9


def clip_spread(accuracies: dict[float, list[float | None]]) -> list[float | None]:
    """Per seed, the sd of the test accuracy across the clip values (None where a run diverged)."""
    per_seed = zip(*accuracies.values(), strict=True)
    return [None if any(a is None for a in accs) else statistics.stdev(accs) for accs in per_seed]


def judge_stability(sd_fp32: list[float | None], sd_amp: list[float | None]) -> tuple[Judgement, str]:
    """fp32 the more stable: Δ = sd(amp-fp16) − sd(fp32) > 0 per seed, one-sided 95% percentile
    bootstrap over the seeds (`bootstrap_superiority`); seeds where a run diverged left out."""
    kept = [(f, a) for f, a in zip(sd_fp32, sd_amp, strict=True) if f is not None and a is not None]
    dropped = len(sd_fp32) - len(kept)
    j = bootstrap_superiority([f for f, _ in kept], [a for _, a in kept])
    return j, (f"{dropped} seed(s) with a diverged run left out" if dropped else "")


@claim(
    "SZ-9",
    SOURCE,
    "6, AMP and Gradient Clipping, Figure 9",
    "fp32 accuracy is the most stable across clip values",
    "per seed, sd of test accuracy across the clip values for fp32 and amp-fp16 (SZ-4's runs); Δ = sd(amp-fp16) − "
    "sd(fp32) > 0, one-sided 95% percentile bootstrap over the seeds",
    cases=cases("{mode}-clip", mode=MODES),
)
def sz9(ctx: Context, mode: str) -> ClaimResult:
    """SZ-4's runs of each clip value of the profile (quick: 0.01 and 0.5 at 100 steps, so the
    case is UNTESTED; paper: the source's five at its budget), fp32 and amp-fp16 on paired
    seeds: per seed the sd of the accuracy across clip values of each precision. HOLDS if
    fp32's sd is smaller: the bootstrap lower bound of the mean Δ = sd(amp) − sd(fp32) is
    above 0; FAILS if the upper bound is below 0. n = 5 (quick) / 10 (paper) seeds. Timed:
    nothing beyond the cached runs (their spread)."""
    if mode not in MODES:
        raise ValueError(f"SZ-9 mode={mode!r}; expected one of {', '.join(MODES)}")
    clips, n = ctx.pick(QUICK_CLIPS, CLIPS, "clip values"), ctx.seeds()
    acc = {p: {c: [None if r.diverged else r.accuracy for r in run_seeds(clip_arm(ctx, mode, c, p), n, ctx.device,
                                                                            ctx.root)]
               for c in clips} for p in PRECISIONS}
    sd = {p: clip_spread(acc[p]) for p in PRECISIONS}
    j, note = judge_stability(sd["fp32"], sd["amp-fp16"])
    mean_sd = {p: statistics.fmean([s for s in sd[p] if s is not None]) for p in PRECISIONS}
    return ClaimResult(
        "SZ-9", ctx.case, j.verdict,
        f"sd across {len(clips)} clip values: fp32 {mean_sd['fp32']:.3f} pt, amp-fp16 {mean_sd['amp-fp16']:.3f} pt; "
        f"Δ = sd(amp-fp16) − sd(fp32): {j.line()}",
        figures={"sd_per_seed": sd, "mean_sd": mean_sd, "judgement": j, "clips": list(clips),
                 "accuracy_by_clip": {p: {str(c): v for c, v in acc[p].items()} for p in PRECISIONS}},
        note=note,
        accuracies={f"{p} clip={c}": v for p in PRECISIONS for c, v in acc[p].items()},
        timed=lambda: {p: clip_spread(acc[p]) for p in PRECISIONS},
        timed_device="cpu",
    )
