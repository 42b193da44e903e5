"""Source 003 ("Chasing 99%", Version 8): claim CH-11, batch 1 is terrible for training
throughput, and a GPU does not help at batch 1.

What the source says: batch 1 "took around 50 minutes in total to train this model, which is
so much longer than 5-10 minutes" (the larger batches); "Did I use GPU then? Obviously yes,
… T4 GPU … But its of no use in this case, because batch size of 1 is essentially doing the
training sequentially" — the GPU's setup and transfer costs spread over one sample.

Two cases:
- part="throughput", on the case's device: per-sample training time at batch 1 against batch
  50 (the source's default) — "terrible" read as at least `TERRIBLE` = 5× slower per sample
  (50 minutes against the upper end of 5–10); batch 1000 reported.
- part="gpu-vs-cpu": the GPU's advantage (CPU time ÷ GPU time per sample) at batch 1 is at
  most `NO_HELP` = 1.2×; its advantage at batch 1000 reported. It needs a GPU: on a machine
  without CUDA the case is UNTESTED with that reason.
Both are timings in alternating rounds of one run, never seconds across runs.
"""

from __future__ import annotations

import math
import statistics

import torch

from ..experiment import dataset
from ..train import train
from ..verdicts import Verdict
from .base import ClaimResult, Context, claim
from .cases import cases
from .chasing_99_setup import SOURCE, arm
from .ratio_bounds import at_least
from .ratio_bounds import at_most as ratio_at_most

TERRIBLE = 5.0  # per-sample time at batch 1 ÷ at batch 50
NO_HELP = 1.2  # the GPU's advantage at batch 1, at most
SAMPLES = {1: 2_000, 50: 20_000, 1000: 60_000}  # training samples per timed run (quick; paper ×3)
PARTS = ("throughput", "gpu-vs-cpu")


def per_sample_seconds(ctx: Context, combos, rounds: int, scale: int = 1,
                       warmup: int = 1) -> dict[tuple[str, int], list[float]]:
    """Seconds per training sample of the 2 × 50 MLP (lr 1e-4, Adam) for each (device, batch
    size) of `combos`, `SAMPLES[b] × scale` samples per run, the combinations alternating in a
    rotating order over `rounds` rounds after `warmup` untimed ones."""
    data = {d: dataset(arm(1e-4, 1), d, ctx.root) for d in dict.fromkeys(d for d, _ in combos)}
    out: dict[tuple[str, int], list[float]] = {c: [] for c in combos}
    order = list(combos)
    for r in range(warmup + rounds):
        k = r % len(order)
        for device, b in order[k:] + order[:k]:
            steps = SAMPLES[b] * scale // b
            epochs = -(-steps * b // len(data[device].train))  # a run may span epochs (paper, batch 1000)
            spec = arm(1e-4, epochs, batch_size=b)
            config = spec.config.replace(evaluation="none", seed=r, device=device, max_steps=steps)
            result = train(spec.model.build(r), data[device], config)
            if r >= warmup:
                out[(device, b)].append(sum(e.seconds for e in result.epochs) / (result.steps * b))
    return out


def _log_ratios(num: list[float], den: list[float]) -> list[float]:
    return [100.0 * math.log(a / b) for a, b in zip(num, den, strict=True)]


def judge_throughput(batch1: list[float], batch50: list[float]) -> tuple[Verdict, float, float, float]:
    """Per-round per-sample seconds at batch 1 and 50: HOLDS if the lower bound of the
    geometric-mean ratio is ≥ TERRIBLE, FAILS if its upper bound is below (verdict, mean, lo, hi)."""
    return at_least(_log_ratios(batch1, batch50), TERRIBLE)


def judge_gpu_help(cpu_batch1: list[float], gpu_batch1: list[float]) -> tuple[Verdict, float, float, float]:
    """Per-round per-sample seconds at batch 1 on the CPU and the GPU: the GPU's advantage
    (CPU ÷ GPU) HOLDS "no help" if its upper bound is ≤ NO_HELP, FAILS if its lower bound is above."""
    return ratio_at_most(_log_ratios(cpu_batch1, gpu_batch1), NO_HELP)


@claim(
    "CH-11",
    SOURCE,
    "Version 8",
    "batch 1 is terrible for training throughput, and a GPU does not help at batch 1 (≈ 50 min for 50 epochs on a T4)",
    f"per-sample training time, alternating rounds in one run: throughput, batch 1 ÷ batch 50 ≥ {TERRIBLE:g}× "
    f"(one-sided 95% bound); gpu-vs-cpu, the GPU's advantage at batch 1 (CPU ÷ GPU time) ≤ {NO_HELP:g}× "
    "(needs CUDA; batch 1000 reported)",
    speed=True,
    cases=cases("part={part}", part=PARTS),
)
def ch11(ctx: Context, part: str) -> ClaimResult:
    """part="throughput": per-sample training time at batch 1, 50 and 1000 on the case's device
    (2,000 / 20,000 / 60,000 samples per run in quick, 3× in paper), 3 rounds (quick; 5 paper)
    after one warm-up; HOLDS if the lower bound of the geometric-mean ratio batch 1 ÷ batch 50
    is ≥ TERRIBLE, FAILS if its upper bound is below. part="gpu-vs-cpu": the same on the CPU
    and on the GPU at batch 1 and 1000, rounds alternating devices; HOLDS if the upper bound of
    the GPU's advantage at batch 1 is ≤ NO_HELP, FAILS if its lower bound is above; UNTESTED
    without CUDA. Timed: one batch-1 run on the case's device."""
    if part not in PARTS:
        raise ValueError(f"CH-11 part={part!r}; expected one of {', '.join(PARTS)}")
    rounds, scale = ctx.pick(3, 5, "timing rounds", regime=False), ctx.pick(1, 3, "samples per run", regime=False)
    if part == "throughput":
        timed_secs = per_sample_seconds(ctx, [(ctx.device, b) for b in (1, 50, 1000)], rounds, scale)
        secs = {b: timed_secs[(ctx.device, b)] for b in (1, 50, 1000)}
        verdict, mean, lo, hi = judge_throughput(secs[1], secs[50])
        line = (f"{ctx.device}: per-sample time batch 1 ÷ batch 50 = {mean:.1f}× (95% bounds [{lo:.1f}, {hi:.1f}]), "
                f"{rounds} alternating rounds, terrible if ≥ {TERRIBLE:g}× → {verdict}")
        vs1000 = statistics.fmean(secs[1]) / statistics.fmean(secs[1000])
        figures = {"seconds_per_sample": {str(b): s for b, s in secs.items()}, "ratio_1_vs_50": [mean, lo, hi],
                   "ratio_1_vs_1000": vs1000, "target": TERRIBLE}
        note = (f"batch 1 takes {vs1000:.0f}× batch 1000's time per sample; "
                f"{statistics.fmean(secs[1]) * 60_000 * 50 / 60:.0f} min for the source's 50 epochs here")
        return ClaimResult("CH-11", ctx.case, verdict, line, figures=figures, note=note, timed=_batch1_run(ctx))
    if not torch.cuda.is_available():
        ctx.untested("needs a CUDA GPU to compare with the CPU (torch.cuda.is_available() is False)")
        return ClaimResult("CH-11", ctx.case, Verdict.INCONCLUSIVE,
                           "no GPU on this machine: the GPU's advantage at batch 1 is not measured",
                           figures={"target": NO_HELP}, timed=None)
    both = per_sample_seconds(ctx, [(d, b) for d in ("cpu", "cuda") for b in (1, 1000)], rounds, scale)
    secs = {d: {b: both[(d, b)] for b in (1, 1000)} for d in ("cpu", "cuda")}
    verdict, mean, lo, hi = judge_gpu_help(secs["cpu"][1], secs["cuda"][1])
    big = statistics.fmean(secs["cpu"][1000]) / statistics.fmean(secs["cuda"][1000])
    line = (f"GPU advantage (CPU ÷ GPU time per sample) at batch 1 = {mean:.2f}× (95% bounds [{lo:.2f}, {hi:.2f}]), "
            f"no help if ≤ {NO_HELP:g}× → {verdict}; at batch 1000 {big:.1f}×")
    figures = {"seconds_per_sample": {d: {str(b): s for b, s in v.items()} for d, v in secs.items()},
               "advantage_batch1": [mean, lo, hi], "advantage_batch1000": big, "target": NO_HELP}
    return ClaimResult("CH-11", ctx.case, verdict, line, figures=figures, timed=_batch1_run(ctx))


def _batch1_run(ctx: Context):
    """What a CH-11 case times: one fresh batch-1 run of `SAMPLES[1]` steps on the case's device."""
    spec = arm(1e-4, 1, batch_size=1)
    config = spec.config.replace(epochs=1, evaluation="none", seed=0, device=ctx.device, max_steps=SAMPLES[1])
    data = dataset(spec, ctx.device, ctx.root)
    return lambda: train(spec.model.build(0), data, config)
