"""Source 001 (Katritschenko et al., "precision of parameters"): the setup, model and run
helpers shared by its claims (SZ-1 … SZ-3 in `parameter_precision`, SZ-4 in
`clipping_claims`, SZ-5 and SZ-6 in `rounding_claims`, SZ-7 in `kfold_protocol`, SZ-10 in
`rounding_values`). This
module registers no claim and imports none of those modules.

Setup (sections 5–6): a small fully connected MLP on MNIST. The source shows the network's
structure only as a figure (Figure 3), never in the text; we chose 784 → 128 → 64 → 10 with
ReLU (`ModelSpec("mlp", depth=2, width=(128, 64), init="default")`, PyTorch's default init,
since the source names none), inputs scaled to [0, 1], Adam lr 1e-3. The source states no
epochs or batch size: both profiles train 10 epochs at batch 64 (10 seeds paper, 5 quick,
trained as populations), with `max_steps` caps in quick where amp-fp16 / pure fp16 (10–12×
slower than fp32 on a CPU without fp16 units) would blow the quick budget (SZ-2's timed
epochs, and SZ-4, whose quick cases are therefore UNTESTED: see each judge).
Precisions: fp64 / fp32 / fp16 / bf16 are *pure* modes (weights, activations, gradients and
Adam state all in that dtype, as the source's first experiment); amp-fp16 = autocast +
GradScaler with fp32 master weights (the source's "AMP" experiment).
"""

from __future__ import annotations

import math

from ..experiment import Arm, ModelSpec, run_seeds
from ..stats import Verdict
from ..train import TrainConfig
from .base import Context

SOURCE = "001_0887f68cfdec8286.txt"
SPEC = ModelSpec("mlp", depth=2, width=(128, 64), init="default")


def arm(ctx: Context, precision: str = "fp32", **config) -> Arm:
    """The source's MLP under `precision`; `config` overrides TrainConfig fields."""
    base = TrainConfig(
        epochs=10, batch_size=64, lr=1e-3, precision=precision,
        evaluation="final",
    )
    return Arm(SPEC, base.replace(**config))


CLIPS = (0.01, 0.05, 0.1, 0.5, 1.0)  # SZ-4, SZ-8, SZ-9: the source's clip values (Figures 7–9)
QUICK_CLIPS = (0.01, 0.5)  # the two values the source names (lowest and highest accuracy)


def clip_arm(ctx: Context, mode: str, value: float, precision: str) -> Arm:
    """SZ-4's arm (SZ-8 and SZ-9 read it): `precision` with gradient clipping `mode` ("norm" or
    "value") at `value`; quick caps it at 100 steps (amp-fp16 is emulated on a CPU)."""
    return arm(ctx, precision, clip=mode, clip_value=value, max_steps=ctx.pick(100, None, "steps per run"))


def fp32_runs(ctx: Context):
    """The fp32 arm of every seed, less the runs that diverged (SZ-5, SZ-6 and SZ-10 read them)."""
    return [r for r in run_seeds(arm(ctx), ctx.seeds(), ctx.device, ctx.root) if not r.diverged]


def better_note(j, precision: str) -> str:
    """Say so when an equivalence FAILS because the low-precision arm is *better*."""
    if j.verdict == Verdict.FAILS and j.delta > 0:
        return f"{precision} is better than fp32, not worse (Δ > +margin)"
    return ""


def format_mean_sd(values) -> str:
    """'97.12 ± 0.08' (sample sd; ± 0.00 for a single value)."""
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return f"{m:.2f} ± {sd:.2f}"
