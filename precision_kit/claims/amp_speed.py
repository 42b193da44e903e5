"""Source 000, claim BI-5: mixed precision "benefits from hardware acceleration" — fp32
against amp-fp16 training time in alternating rounds of one process, after untimed warm-up
rounds, both arms on one training engine. Setup: `depth_precision_setup`.
"""

from __future__ import annotations

import math
import statistics

from ..experiment import ModelSpec, dataset
from ..stats import lower_bound, upper_bound
from ..train import train
from ..verdicts import Verdict
from .base import ClaimResult, Context, claim
from .cases import cases
from .depth_precision_setup import SOURCE, depth_arm

WARMUP_ROUNDS = 1  # BI-5: untimed rounds of every arm before the timed ones
# BI-5: both arms through autograd. On the CPU, fp32 would otherwise take the autograd-free
# MLPStep while amp-fp16 (autocast + GradScaler) cannot, and the ratio would mix engines.
ENGINE = "autograd"


def alternating_seconds(configs: dict, build, data, rounds: int, warmup: int = WARMUP_ROUNDS):
    """Train a fresh `build()` model with each of `configs` ({name: TrainConfig}) once per
    round, in dict order, over `warmup` untimed rounds and then `rounds` timed ones.

    The warm-up matters most on CUDA: the first training in a process pays the CUDA context,
    cuBLAS/cuDNN handles and autocast start-up, which would otherwise land on the first arm
    of the first timed round (fp32 in BI-5) and bias the ratio. It is cheap, so it runs on
    every device. Every arm trains through the same engine (`ENGINE`: autograd), so the arms
    differ only in their configs. Returns ({name: [seconds of each timed round]}, {name: peak
    memory bytes of its last run}).
    """
    if rounds < 1 or warmup < 0:
        raise ValueError(f"expected rounds ≥ 1 and warmup ≥ 0; found rounds={rounds}, warmup={warmup}")
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    memory: dict[str, int | None] = {}
    for r in range(warmup + rounds):
        for name, config in configs.items():
            result = train(build(), data, config, engine=ENGINE)
            if r >= warmup:
                seconds[name].append(sum(result.epoch_seconds))
                memory[name] = result.peak_memory_bytes
    return seconds, memory


@claim(
    "BI-5",
    SOURCE,
    "2.3, 4",
    "mixed precision trains faster (hardware acceleration)",
    "alternating rounds in one run: training-step time amp-fp16 / fp32; holds if amp is faster (95% one-sided)",
    speed=True,
    cases=cases("depth={depth}", depth=(2,)),
)
def bi5(ctx: Context, depth: int = 2) -> ClaimResult:
    """Time of `steps` training steps in amp-fp16 and fp32, alternating over ROUNDS rounds in
    one process (fresh models, same seed) after WARMUP_ROUNDS untimed rounds of both arms
    (start-up costs, see `alternating_seconds`); per round log-ratio amp/fp32. Holds if the
    one-sided 95% upper bound of the mean ratio is < 1 (amp faster), fails if the lower
    bound is > 1. Expected: holds on CUDA (tensor cores), fails on a CPU without fp16
    units. Peak memory (CUDA allocator) is reported per arm. Timed: the amp steps."""
    rounds, steps = ctx.pick(5, 10), ctx.pick(100, 400)
    data = dataset(depth_arm(ctx, depth), ctx.device, ctx.root)
    arms = {p: depth_arm(ctx, depth, p).config.replace(max_steps=steps, evaluation="none", device=ctx.device)
            for p in ("fp32", "amp-fp16")}
    seconds, memory = alternating_seconds(arms, lambda: ModelSpec("mlp", depth=depth).build(0), data, rounds)
    log_ratio = [100.0 * math.log(a / b) for a, b in zip(seconds["amp-fp16"], seconds["fp32"], strict=False)]
    hi, lo = upper_bound(log_ratio).high, lower_bound(log_ratio).low
    ratio = math.exp(statistics.mean(log_ratio) / 100.0)
    verdict = Verdict.HOLDS if hi < 0 else Verdict.FAILS if lo > 0 else Verdict.INCONCLUSIVE
    line = (
        f"time amp-fp16/fp32 = {ratio:.2f}× (95% bounds [{math.exp(lo / 100):.2f}, {math.exp(hi / 100):.2f}]), "
        f"{rounds} alternating rounds of {steps} steps after {WARMUP_ROUNDS} untimed, faster if < 1 "
        f"→ {verdict.value}"
    )
    return ClaimResult(
        "BI-5",
        ctx.case,
        verdict,
        line,
        figures={"seconds": seconds, "ratio": ratio, "peak_memory_bytes": memory, "steps": steps,
                 "warmup_rounds": WARMUP_ROUNDS},
        note=("both arms through autograd" if ctx.device == "cuda"
              else "CPU: no fp16 matrix units, autocast float16 is emulated; both arms through autograd"),
        timed=lambda: train(ModelSpec("mlp", depth=depth).build(0), data, arms["amp-fp16"], engine=ENGINE),
    )
