"""The engine's own targets against the sources' plain loop (the fast-engine issue), judged,
recorded in the ledger and gated like every other claim (they were once written into
`extra_info` as a verdict nothing checked).

- EN-3: precision_kit's training loop (device-resident tensors, index-slice batches, fused
  Adam, no per-step host sync) trains one epoch of the 784-128-128-10 MLP (Adam, fp32, CPU)
  at least 3.5× faster than torchvision MNIST + ToTensor/Normalize + DataLoader at batch 50
  and 10× at batch 512; at batch 512 the engine's epoch also stays within 2× the FLOP lower
  bound of its matrix products at this process's fp32 GEMM rate (both parts must hold).
- EN-4: with denormals flushed (`precision.configure_cpu`) the 784-1000-1000-1000-10 MLP's
  last epoch takes at most 1.2× its first (without flushing it slows 5–11× as small weight
  updates fall into the subnormal range).

Ratios are measured in one process: EN-3 alternates plain and engine epochs (same initial
weights per round) after a warm-up round of each; EN-4 compares epochs of one run.
"""

from __future__ import annotations

import math
import statistics
import tempfile

from ..errors import UnsupportedError
from ..experiment import Arm, ModelSpec, dataset
from ..reference import gemm_flops_per_second, mlp_epoch_flops, plain_epoch, plain_loader, torchvision_root
from ..train import TrainConfig, train
from ..verdicts import Verdict, combine
from .base import ClaimResult, Context, claim
from .cases import cases
from .ratio_bounds import at_least, at_most

SOURCE = "project target (fast training engine)"
TARGET_VS_PLAIN = {50: 3.5, 512: 10.0}
FLOP_BOUND_AT_512 = 2.0
DENORMAL_TARGET = 1.2
SPEC = ModelSpec("mlp", depth=2, width=128)
WIDE = ModelSpec("mlp", depth=3, width=1000)


def _cpu_only(ctx: Context, what: str) -> None:
    if ctx.device != "cpu":
        raise UnsupportedError(f"{what} is a CPU target (the plain loop and denormals are CPU matters); "
                               f"device {ctx.device!r} is not judged")


@claim(
    "EN-3",
    SOURCE,
    "fast training engine",
    "the engine trains an epoch ≥ 3.5× (batch 50) / ≥ 10× (batch 512) faster than the sources' DataLoader loop; "
    "at batch 512 within 2× the FLOP lower bound",
    "alternating rounds in one process, plain ÷ engine seconds per epoch; one-sided 95% bounds vs the targets",
    speed=True,
    cases=cases("batch_size={batch_size}", batch_size=(50, 512)),
)
def en3(ctx: Context, batch_size: int) -> ClaimResult:
    """Per round (after one warm-up round): a plain epoch (`reference.plain_epoch`) and an
    engine epoch (`train`), the same initial weights. Ratio = plain ÷ engine; HOLDS if the
    one-sided 95% lower bound of the mean ratio (log scale) is ≥ the target, FAILS if the
    upper bound is below it. Batch 512 adds: engine seconds ÷ FLOP bound ≤ 2 (upper bound).
    n = 3 rounds (quick) / 5 (paper). Timed: one engine epoch."""
    if batch_size not in TARGET_VS_PLAIN:
        raise ValueError(f"batch_size={batch_size!r} is not a case of EN-3; expected one of {sorted(TARGET_VS_PLAIN)}")
    _cpu_only(ctx, "EN-3")
    rounds = ctx.pick(3, 5, "rounds", regime=False)
    config = TrainConfig(epochs=1, batch_size=batch_size, lr=1e-3, evaluation="none")
    data = dataset(Arm(SPEC, config, normalize="standardize"), "cpu", ctx.root)
    plain, engine = [], []
    with tempfile.TemporaryDirectory(prefix="pk-torchvision-") as tmp:
        loader = plain_loader(torchvision_root(ctx.root, into=tmp), batch_size)
        for r in range(1 + rounds):
            p = plain_epoch(SPEC.build(r), loader)
            e = train(SPEC.build(r), data, config.replace(seed=r)).epochs[0].seconds
            if r:  # round 0 warms both up
                plain.append(p)
                engine.append(e)
    target = TARGET_VS_PLAIN[batch_size]
    verdict, ratio, lo, hi = at_least([100 * math.log(p / e) for p, e in zip(plain, engine, strict=True)], target)
    line = (f"plain {statistics.median(plain):.2f} s, engine {statistics.median(engine):.3f} s per epoch: "
            f"{ratio:.1f}× (95% bounds [{lo:.1f}, {hi:.1f}]), {rounds} rounds, target ≥ {target:g}× → {verdict.value}")
    figures = {"plain_seconds": plain, "engine_seconds": engine, "ratio": ratio, "ratio_bounds": [lo, hi],
               "target": target}
    if batch_size == 512:
        bound = mlp_epoch_flops(SPEC.build(0), len(data.train.labels)) / gemm_flops_per_second()
        flop, over, flo, fhi = at_most([100 * math.log(e / bound) for e in engine], FLOP_BOUND_AT_512)
        line += (f"; engine {over:.2f}× the FLOP bound {bound:.3f} s (95% bounds [{flo:.2f}, {fhi:.2f}]), "
                 f"target ≤ {FLOP_BOUND_AT_512:g}× → {flop.value}")
        figures.update(flop_bound_seconds=bound, over_flop_bound=over, over_flop_bound_bounds=[flo, fhi],
                       flop_verdict=flop.value)
        verdict = combine(verdict, flop)
    return ClaimResult(
        "EN-3", ctx.case, verdict, line, figures=figures,
        timed=lambda: train(SPEC.build(0), data, config),
    )


@claim(
    "EN-4",
    SOURCE,
    "fast training engine (denormals)",
    "with denormals flushed, the 784-1000³-10 MLP's last epoch takes ≤ 1.2× its first",
    "epoch seconds of one run: last ÷ first ≤ 1.2",
    speed=True,
    cases=cases("width=1000"),
)
def en4(ctx: Context) -> ClaimResult:
    """One run of the wide MLP (Adam lr 1e-3, batch 128, fp32, CPU): ratio = last epoch's
    seconds ÷ the first's. HOLDS if ≤ 1.2, FAILS otherwise (one run: the ratio of two
    epochs of one process, not a statistic over seeds). n = 10 epochs (paper) / 2 (quick:
    UNTESTED, the weights have had little time to drift into the subnormal range).
    Timed: nothing beyond the run (its epochs are the measurement)."""
    _cpu_only(ctx, "EN-4")
    epochs = ctx.pick(2, 10, "epochs")
    config = TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, evaluation="none")
    data = dataset(Arm(WIDE, config), "cpu", ctx.root)
    seconds = list(train(WIDE.build(0), data, config).epoch_seconds)
    ratio = seconds[-1] / seconds[0]
    verdict = at_most_ratio(ratio, DENORMAL_TARGET)
    line = (f"epochs {[round(s, 2) for s in seconds]} s, last ÷ first {ratio:.2f}, {epochs} epochs, "
            f"target ≤ {DENORMAL_TARGET:g} → {verdict.value}")
    return ClaimResult("EN-4", ctx.case, verdict, line,
                       figures={"epoch_seconds": seconds, "last_over_first": ratio, "target": DENORMAL_TARGET})


def at_most_ratio(ratio: float, target: float) -> Verdict:
    """A single measured ratio against its ceiling: HOLDS if ≤ target, FAILS above it."""
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"a ratio of epoch times must be positive and finite, got {ratio}")
    return Verdict.HOLDS if ratio <= target else Verdict.FAILS
