"""SZ-1's eps-matched control (issue 15): pure fp16 and bf16 train Adam with a larger eps than
fp32 (1e-8 is 0 in float16: `precision.PRECISIONS` gives fp16 1e-4, bf16 1e-6), so "fp16 vs
fp32" would compare two factors at once. The judged pair is the low precision against fp32
*with the same eps*; the default-eps fp32 arm stays in the figures, and so does the effect of
the eps alone. For fp16, a probe of Adam's second moment (`adam_probe`) on seed 0 measures
how much of it underflows to 0 in float16 (the suspected cause of fp16 training *better*:
where v̂ = 0 the step is lr·m̂/eps, a larger effective learning rate), against the share of
the eps-matched fp32 arm's entries that lie below float16's smallest subnormal.

A helper of `parameter_precision`; it registers no claim.
"""

from __future__ import annotations

from .. import cache
from ..adam_probe import AdamStateProbe
from ..devices import resolve_device
from ..experiment import Arm, dataset, run_seeds
from ..precision import get_precision
from ..stats import mean_ci, paired_deltas
from ..train import train
from .base import Context
from .pairing import paired_accuracies

PROBE_EVERY = 100  # steps between samples of the second moment


def reference_eps(precision: str) -> float | None:
    """The eps the precision trains Adam with, when it is not fp32's (else None: no control)."""
    eps = get_precision(precision).adam_eps
    return None if eps == get_precision("fp32").adam_eps else eps


def control_runs(ctx: Context, fp32_arm: Arm, precision: str):
    """The fp32 arm trained with `precision`'s eps (None when the eps is fp32's)."""
    eps = reference_eps(precision)
    if eps is None:
        return None
    return run_seeds(fp32_arm.with_config(adam_eps=eps), ctx.seeds(), ctx.device, ctx.root)


def eps_effect(fp32_runs, control) -> dict:
    """Δ = acc(fp32 at the low precision's eps) − acc(fp32 at 1e-8): the eps alone, 90% CI."""
    a, b, _ = paired_accuracies(fp32_runs, control)
    return {"delta": mean_ci(paired_deltas(a, b), 0.90), "fp32_default_eps_accuracy": a, "fp32_control_accuracy": b}


def underflow_probe(ctx: Context, low_arm: Arm, control_arm: Arm) -> dict:
    """Seed 0 of the fp16 arm and of its eps-matched fp32 control, retrained with the sequential
    loop and `AdamStateProbe` every PROBE_EVERY steps; the summaries are cached like a model."""
    device = resolve_device(ctx.device)
    description = {"claim": "SZ-1 Adam second-moment probe", "every": PROBE_EVERY,
                   "arms": [low_arm.describe(0, device), control_arm.describe(0, device)]}
    key = cache.cache_key(description)
    stored = cache.load(key, parse=_probe_payload)
    if stored is not None:
        return stored
    out = {}
    for label, arm in (("fp16", low_arm), ("fp32_same_eps", control_arm)):
        probe = AdamStateProbe(every=PROBE_EVERY)
        config = arm.config.replace(seed=0, device=ctx.device, evaluation="none")
        train(arm.model.build(0), dataset(arm, ctx.device, ctx.root), config, on_step=probe)
        out[label] = probe.summary()
    cache.save(key, out)
    return out


def _probe_payload(stored: dict) -> dict:
    for label in ("fp16", "fp32_same_eps"):
        for name in ("every", "mean_zero_share", "mean_below_fp16_share", "last_zero_share"):
            float(stored[label][name])  # present and numeric, or KeyError/TypeError: retrain
    return stored


def probe_note(probe: dict, eps: float) -> str:
    low, ref = probe["fp16"], probe["fp32_same_eps"]
    return (
        f"Adam's second moment in fp16: {100 * low['mean_zero_share']:.1f}% of entries exactly 0 on average over "
        f"training ({100 * low['last_zero_share']:.1f}% at the end); fp32 with the same eps {eps:g}: "
        f"{100 * ref['mean_zero_share']:.1f}% zero, {100 * ref['mean_below_fp16_share']:.1f}% below fp16's "
        f"smallest subnormal 2⁻²⁴ (seed 0, every {low['every']} steps); where v̂ = 0 the step is lr·m̂/eps"
    )
