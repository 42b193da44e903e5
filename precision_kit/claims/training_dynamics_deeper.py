"""Source 002 (discussion, point 3): claim TD-7, dropout helps "particularly for deeper
architectures". The source trains one CNN; the deeper member of its family here has a third
convolution (`models.cnn(depth=3)`: conv3×3(64, padding 1) → ReLU before the second pooling).
The source's CNN with and without dropout are TD-3's arms (nothing retrains for them); the
deeper CNN trains the same two arms, the same seeds, the same optimizer and budget.
"""

from __future__ import annotations

from ..stats import superiority_of_deltas
from .base import ClaimResult, Context, claim
from .cases import cases
from .pairing import paired_runs, seed_accuracies
from .training_dynamics_setup import SOURCE, budget_note, cnn_arm, join, runs

DEEP = 3


def dropout_gains(with_dropout, without) -> tuple[list[float], list[int]]:
    """Per seed where neither run diverged: acc(dropout 0.5) − acc(no dropout), and those seeds."""
    pairs, _ = paired_runs(without, with_dropout)
    return [b.accuracy - a.accuracy for a, b in pairs], [a.seed for a, _ in pairs]


def judge_deeper_gain(gain_source: list[float], gain_deep: list[float]):
    """Δ = gain(deeper CNN) − gain(source's CNN) > 0 per seed, superiority at one-sided 95%."""
    return superiority_of_deltas([b - a for a, b in zip(gain_source, gain_deep, strict=True)])


@claim(
    "TD-7",
    SOURCE,
    "5 (3)",
    "dropout helps particularly for deeper architectures",
    "dropout gain = acc(dropout 0.5) − acc(no dropout) per seed, on the source's CNN (2 conv) and a deeper one "
    "(3 conv); paired seeds, Δ = gain(deeper) − gain(source's) > 0, one-sided 95%",
    cases=cases("conv3-vs-conv2"),
)
def td7(ctx: Context) -> ClaimResult:
    """The source's CNN and the deeper one, each with dropout 0.5 and without, Adam, the
    same seeds (a seed's two dropout arms share their initial weights): per seed the dropout
    gain of each depth, Δ = gain(deeper) − gain(source's); HOLDS if the one-sided 95% lower
    bound is above 0, FAILS if the upper bound is below. n = 5 (quick, 1 epoch: UNTESTED) /
    10 (paper, the source's 20 epochs). Timed: nothing beyond the cached runs."""
    arms = {(d, p): runs(ctx, cnn_arm(ctx, dropout=p, depth=d)) for d in (2, DEEP) for p in (0.5, 0.0)}
    gain2, seeds2 = dropout_gains(arms[(2, 0.5)], arms[(2, 0.0)])
    gain3, seeds3 = dropout_gains(arms[(DEEP, 0.5)], arms[(DEEP, 0.0)])
    common = sorted(set(seeds2) & set(seeds3))
    g2 = [g for g, s in zip(gain2, seeds2, strict=True) if s in common]
    g3 = [g for g, s in zip(gain3, seeds3, strict=True) if s in common]
    j = judge_deeper_gain(g2, g3)
    dropped = len(arms[(2, 0.5)]) - len(common)
    mean2, mean3 = sum(g2) / len(g2), sum(g3) / len(g3)
    return ClaimResult(
        "TD-7", ctx.case, j.verdict,
        f"dropout gain: source's CNN {mean2:+.2f} pt, deeper CNN {mean3:+.2f} pt; Δ = deeper − source's: {j.line()}",
        figures={"gain_source_cnn": g2, "gain_deeper_cnn": g3, "seeds": common, "judgement": j,
                 "deltas": [b - a for a, b in zip(g2, g3, strict=True)],
                 "epochs": arms[(2, 0.5)][0].arm.config.epochs},
        note=join(budget_note(ctx), f"{dropped} seed(s) with a diverged run left out" if dropped else ""),
        accuracies={f"conv{d} dropout {p}": seed_accuracies(rs) for (d, p), rs in arms.items()},
        timed=lambda: dropout_gains(arms[(DEEP, 0.5)], arms[(DEEP, 0.0)]),
        timed_device="cpu",
    )
