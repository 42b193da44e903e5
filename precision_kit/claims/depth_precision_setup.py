"""Source 000 (Bi, "network depth and numerical precision"): the setup and budgets shared by
its claims (BI-1 … BI-4 and CTRL-1 in `depth_precision`, BI-5 in `amp_speed`, BI-7 in
`int8_speed`). This module registers no claim and imports none of those modules.

Setup (sections 2.2, 2.3, Table 1, Listing 2): MLP 784 → 128 × depth → 10, ReLU,
Xavier-uniform, Adam, inputs in [0, 1]; FP16 = autocast + GradScaler; INT8 = post-training
dynamic quantization of the Linear layers. The source states no epochs, batch size or
learning rate: 10 epochs, batch 64, lr 1e-3 (Adam's default), in both profiles (10 seeds
paper, 5 quick, trained as populations). Quick reduces only BI-1's amp arms on a CPU (1
epoch, batch 128: amp-fp16 is emulated on a CPU without fp16 units), which are UNTESTED
there; on CUDA quick trains them at the source's budget.
"""

from __future__ import annotations

from ..experiment import Arm, ModelSpec
from ..train import TrainConfig
from .base import Context

SOURCE = "000_e98ab4010507ed48.txt"
DEPTHS = (2, 4, 6, 8, 10)
QUICK_DEPTHS = (2, 4, 8, 10)  # fp32 arms (BI-2 … BI-4)
QUICK_AMP_DEPTHS = (2, 8)  # amp-fp16 is ~11× slower than fp32 on a CPU without fp16 units
# The amp depths quick trains at the source's budget, per device; the rest are reduced (1 epoch,
# UNTESTED). On a CPU amp-fp16 is emulated (no fp16 units: BI-1 at depth 2 and the source's
# budget took 163 s of the AMD EPYC's quick run) and amp-bf16 too where the CPU lacks
# AVX512-BF16, which would take a CI run on the Intel Xeon near its 90 minutes; a GPU runs both.
QUICK_SOURCE_AMP_DEPTHS = {"cpu": (), "cuda": (2, 8)}


# BI-4's probe of the source's collapse (11.35% = every image called "1" at depths 8–10):
# plain SGD, lr 0.01, batch 100, one epoch — a slow optimizer stopped early, which leaves
# deep ReLU nets on the initial loss plateau (ln 10) while shallow ones have left it.
SETUPS = {
    "adam": dict(optimizer="adam", lr=1e-3),
    "sgd-short": dict(optimizer="sgd", lr=1e-2, batch_size=100, epochs=1),
}


def depth_arm(ctx: Context, depth: int, precision: str = "fp32", setup: str = "adam", reduced: bool = False) -> Arm:
    """The source's MLP at `depth`; `reduced`: quick trains 1 epoch at batch 128 (UNTESTED)."""
    config = TrainConfig(
        epochs=ctx.pick(1, 10, "epochs") if reduced else 10,
        batch_size=ctx.pick(128, 64, "batch size") if reduced else 64,
        lr=1e-3,
        precision=precision,
        evaluation="epoch",  # the test loss of every epoch: BI-6's convergence, the report's Figure 2
    ).replace(**SETUPS[setup])
    return Arm(ModelSpec("mlp", depth=depth, width=128, init="xavier_uniform"), config)
