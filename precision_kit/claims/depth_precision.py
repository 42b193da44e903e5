"""Source 000 (Bi, "network depth and numerical precision"): claims BI-1 … BI-5.

Setup (sections 2.2, 2.3, Table 1, Listing 2): MLP 784 → 128 × depth → 10, ReLU,
Xavier-uniform, Adam, inputs in [0, 1]; FP16 = autocast + GradScaler; INT8 = post-training
dynamic quantization of the Linear layers. The source states no epochs, batch size or
learning rate: paper profile 10 epochs, batch 64, lr 1e-3 (Adam's default); quick 1 epoch,
batch 128.
"""

from __future__ import annotations

from ..evaluate import evaluate
from ..experiment import Arm, ModelSpec, dataset, run_seeds
from ..stats import equivalence
from ..train import TrainConfig
from .base import ClaimResult, Context, claim, paired_accuracies

SOURCE = "000_e98ab4010507ed48.txt"
DEPTHS = (2, 4, 6, 8, 10)
QUICK_DEPTHS = (2, 4, 8, 10)  # fp32 arms (BI-2 … BI-4)
QUICK_AMP_DEPTHS = (2, 8)  # amp-fp16 is ~11× slower than fp32 on a CPU without fp16 units


def depth_arm(ctx: Context, depth: int, precision: str = "fp32") -> Arm:
    config = TrainConfig(
        epochs=ctx.pick(1, 10),
        batch_size=ctx.pick(128, 64),
        lr=1e-3,
        precision=precision,
        evaluation="final",
    )
    return Arm(ModelSpec("mlp", depth=depth, width=128, init="xavier_uniform"), config)


def seeds(ctx: Context) -> range:
    return range(ctx.pick(5, 10))


@claim(
    "BI-1",
    SOURCE,
    "3.2, Figure 3-4",
    "FP16 AMP loses < 0.2 pt vs FP32 at every depth",
    "paired seeds, Δ = acc(amp) − acc(fp32); 90% CI of mean Δ inside ±0.2 pt",
)
def bi1(ctx: Context, depth: int, precision: str = "amp-fp16") -> ClaimResult:
    """Equivalence of an amp arm (amp-fp16; amp-bf16 reported as its own arm) and fp32 at
    one depth, over paired seeds (same initial weights and data order per seed)."""
    ctx.require(depth, QUICK_AMP_DEPTHS, "depth")
    base = run_seeds(depth_arm(ctx, depth), seeds(ctx), ctx.device, ctx.root)
    amp = run_seeds(depth_arm(ctx, depth, precision), seeds(ctx), ctx.device, ctx.root)
    acc32, acc_amp, note = paired_accuracies(base, amp)
    j = equivalence(acc32, acc_amp, margin=0.2)
    model, data = amp[0].model(ctx.device), dataset(amp[0].arm, ctx.device, ctx.root)
    return ClaimResult(
        "BI-1",
        f"depth={depth}-{precision}",
        j.verdict,
        j.line(),
        figures={
            "fp32_accuracy": acc32,
            f"{precision}_accuracy": acc_amp,
            "judgement": j,
            "skipped_steps": [r.skipped_steps for r in amp],
            "epochs": base[0].arm.config.epochs,
        },
        note=note,
        timed=lambda: evaluate(model, data, "test", precision),  # inference under the arm's autocast
    )
