"""Source 000 (Bi, section 3.1, Figure 3): claim BI-6, deeper nets converge more slowly and
less stably. It reads the fp32 Adam runs BI-1 … BI-4 train (`depth_precision_setup.depth_arm`,
the source's 10 epochs, test loss evaluated every epoch): nothing retrains.

What the source says: "The 2-layer and 4-layer models converged quickly and reached strong
results within a small number of epochs. When the depth increased to 8 or 10 layers, the
optimization process became slower and less stable"; Figure 3 shows the test loss per epoch.

The two parts, per seed, deep (the case's depth) against shallow (the mean of depths 2 and 4
of the same seed):
- slower: epochs until the test loss first reaches the level every shallow run reaches (the
  largest of the shallow runs' lowest test losses); a run that never reaches it counts as
  E + 1 epochs (a lower bound: censoring only shrinks Δ);
- less stable: the summed epoch-to-epoch rises of the test loss (0 for a curve that never
  rises).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..experiment import run_seeds
from ..stats import superiority
from ..verdicts import combine
from .base import ClaimResult, Context, claim
from .cases import cases
from .depth_precision_setup import SOURCE, depth_arm
from .pairing import seed_accuracies

SHALLOW = (2, 4)


def loss_curve(run) -> list[float]:
    """The run's test loss at each epoch end (every epoch must have been evaluated)."""
    curve = [e.test_loss for e in run.epochs]
    if any(v is None for v in curve):
        raise ValueError(f"seed {run.seed}'s run has no test loss at every epoch; train with evaluation='epoch'")
    return curve


def epochs_to(curve: Sequence[float], level: float) -> int:
    """The first epoch (1-based) whose test loss is ≤ `level`; len(curve) + 1 if none is."""
    return next((i + 1 for i, v in enumerate(curve) if v <= level), len(curve) + 1)


def rises(curve: Sequence[float]) -> float:
    """The summed epoch-to-epoch increases of a test-loss curve (its instability)."""
    return sum(max(0.0, b - a) for a, b in zip(curve, curve[1:], strict=False))


def judge_convergence(shallow: dict[int, list[list[float]]], deep: list[list[float]]):
    """Per seed (curves paired by index): (a) epochs to the shallow level, Δ = deep − shallow
    > 0; (b) summed rises, Δ = deep − shallow > 0; superiority at one-sided 95% each, both must
    hold. `shallow`: {depth: curves} of the shallow depths (their per-seed mean is the reference)."""
    level = max(min(c) for curves in shallow.values() for c in curves)
    n = len(deep)
    t_shallow = [sum(epochs_to(shallow[d][i], level) for d in shallow) / len(shallow) for i in range(n)]
    t_deep = [float(epochs_to(c, level)) for c in deep]
    r_shallow = [sum(rises(shallow[d][i]) for d in shallow) / len(shallow) for i in range(n)]
    r_deep = [rises(c) for c in deep]
    slower, unstable = superiority(t_shallow, t_deep), superiority(r_shallow, r_deep)
    return combine(slower.verdict, unstable.verdict), slower, unstable, level, (t_shallow, t_deep, r_shallow, r_deep)


@claim(
    "BI-6",
    SOURCE,
    "3.1, Figure 3",
    "deeper nets (8–10 layers) converge more slowly and less stably than 2–4 layers",
    "paired seeds, deep vs the mean of depths 2 and 4: (a) epochs to the test-loss level every shallow run "
    "reaches, Δ > 0; (b) summed epoch-to-epoch rises of the test loss, Δ > 0; one-sided 95% each, both must hold",
    cases=cases("depth={depth}", depth=(8, 10)),
)
def bi6(ctx: Context, depth: int) -> ClaimResult:
    """The fp32 Adam runs of depths 2, 4 and `depth` (the source's 10 epochs, batch 64), n = 5
    (quick) / 10 (paper) paired seeds, seeds where any of the three diverged left out; the
    test loss of every epoch end (`judge_convergence`). Timed: nothing beyond the cached runs
    (the curves' statistics)."""
    runs = {d: run_seeds(depth_arm(ctx, d), ctx.seeds(), ctx.device, ctx.root) for d in (*SHALLOW, depth)}
    kept = [i for i in range(len(runs[depth])) if not any(runs[d][i].diverged for d in runs)]
    curves = {d: [loss_curve(runs[d][i]) for i in kept] for d in runs}
    verdict, slower, unstable, level, (t_sh, t_dp, r_sh, r_dp) = judge_convergence(
        {d: curves[d] for d in SHALLOW}, curves[depth])
    dropped = len(runs[depth]) - len(kept)
    return ClaimResult(
        "BI-6", ctx.case, verdict,
        f"(a) epochs to test loss {level:.3f}: {slower.line('epochs')}; "
        f"(b) summed test-loss rises: {unstable.line('nats')} ⇒ {verdict}",
        figures={"level": level, "slower": slower, "less_stable": unstable,
                 "epochs_to_level": {"shallow": t_sh, f"depth{depth}": t_dp},
                 "loss_rises": {"shallow": r_sh, f"depth{depth}": r_dp},
                 "test_loss_curves": {str(d): c for d, c in curves.items()},  # the report's loss-vs-epoch figure
                 "epochs": runs[depth][0].arm.config.epochs},
        note=f"{dropped} seed(s) with a diverged run left out" if dropped else "",
        accuracies={f"depth{d}": seed_accuracies(rs) for d, rs in runs.items()},
        timed=lambda: [rises(c) for c in curves[depth]],
        timed_device="cpu",
    )
