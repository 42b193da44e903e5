"""A probe of Adam's second moment during training: how much of it underflows.

Pure float16 training keeps Adam's state in float16, whose smallest subnormal is 2⁻²⁴ ≈
5.96e-8: a second-moment entry v = β₂·v + (1 − β₂)·g² below it becomes exactly 0, and the
update of that weight becomes lr·m̂/eps instead of lr·m̂/(√v̂ + eps), larger by (√v̂ + eps)/eps.
Passed to `train(..., on_step=probe)`, `AdamStateProbe` records every `every` steps the
share of `exp_avg_sq` entries that are exactly 0 and the share below 2⁻²⁴ (which a float16
state would flush), so an fp16 arm and an fp32 arm with the same eps can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

FP16_SMALLEST_SUBNORMAL = 2.0**-24


@dataclass
class AdamStateProbe:
    """`probe(step, optimizer)`: samples the Adam second moment every `every` steps."""

    every: int = 100
    steps: list[int] = field(default_factory=list)
    zero_share: list[float] = field(default_factory=list)  # exp_avg_sq == 0
    below_fp16_share: list[float] = field(default_factory=list)  # exp_avg_sq < 2⁻²⁴ (0 included)

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be a positive int number of steps; found {self.every!r}")

    def __call__(self, step: int, optimizer: torch.optim.Optimizer) -> None:
        if step % self.every:
            return
        moments = [s["exp_avg_sq"] for s in optimizer.state.values() if "exp_avg_sq" in s]
        if not moments:
            raise ValueError(
                f"{type(optimizer).__name__} keeps no 'exp_avg_sq': the probe reads Adam's second moment; "
                "train with optimizer='adam'"
            )
        total = sum(v.numel() for v in moments)
        zeros = sum(int((v == 0).sum()) for v in moments)
        below = sum(int((v.float() < FP16_SMALLEST_SUBNORMAL).sum()) for v in moments)
        self.steps.append(step)
        self.zero_share.append(zeros / total)
        self.below_fp16_share.append(below / total)

    def summary(self) -> dict:
        """Mean and last shares (fractions) over the sampled steps, and the samples."""
        if not self.steps:
            raise ValueError(f"no step was sampled (every {self.every} steps): train for longer or lower `every`")
        n = len(self.steps)
        return {
            "every": self.every,
            "steps": list(self.steps),
            "zero_share": list(self.zero_share),
            "below_fp16_share": list(self.below_fp16_share),
            "mean_zero_share": sum(self.zero_share) / n,
            "mean_below_fp16_share": sum(self.below_fp16_share) / n,
            "last_zero_share": self.zero_share[-1],
        }
