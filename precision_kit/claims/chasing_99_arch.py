"""Source 003 ("Chasing 99%"), section "3 Hidden Layer NN": claims CH-4 … CH-6 (depth,
activation, width), at lr 1e-4 and batch 50 like the source. Setup, budgets and helpers
are in `chasing_99_setup`.

The sigmoid and width networks of the source have 3 hidden layers, so CH-5 and CH-6 pair
3-hidden-layer arms; their reference (ReLU 3 × 50) is also CH-4's depth-3 arm.
"""

from __future__ import annotations

from ..experiment import run_seeds
from ..stats import equivalence, superiority
from .base import ClaimResult, Context, claim
from .cases import cases
from .chasing_99_setup import (
    QUICK_WIDE,
    SOURCE,
    arm,
    deep_runs,
    inference,
    lr4_runs,
    pair_accuracies,
    pair_figures,
    paired_at,
)

DEPTH_EPOCHS = {1: 100, 3: 50}  # paper: the source trained 1 hidden layer for 100 epochs, 3 for 50
STATED_DEPTH = {1: 97.27, 3: 97.31}
STATED_WIDTH = {10: 93.56, 50: 97.31, 100: 97.81, 1000: 98.32}
WIDTH_STEPS = {10: (10, 50), 100: (50, 100), 1000: (100, 1000)}  # case → (narrower, wider) judged


def width_step(width: int) -> tuple[int, int]:
    """The adjacent pair of widths a CH-6 case judges: the claim is `wider > narrower`."""
    try:
        return WIDTH_STEPS[width]
    except KeyError:
        raise ValueError(f"width={width!r} is not a case of CH-6; expected one of {sorted(WIDTH_STEPS)}") from None


@claim(
    "CH-4",
    SOURCE,
    "3 Hidden Layer NN, Version 1",
    "3 × 50 hidden layers bring no gain over 2 (97.31%); 1 hidden layer reaches 97.27%",
    "paired seeds vs 2 × 50 at the same epochs, lr 1e-4; equivalence: 90% CI of Δ inside ±0.3 pt",
    cases=cases("depth={depth}", depth=tuple(DEPTH_EPOCHS)),
)
def ch4(ctx: Context, depth: int) -> ClaimResult:
    """Δ = acc(depth × 50) − acc(2 × 50), lr 1e-4, batch 50, paired seeds; HOLDS if the 90%
    CI lies inside ±0.3 pt (TOST). n = 5 (quick) / 10 (paper) paired seeds at the
    source's epochs (paper: 50 for 3 layers, 100 for 1 layer, the 2-layer run read there)."""
    if depth not in DEPTH_EPOCHS:
        raise ValueError(f"depth={depth!r} is not a case of CH-4; expected 1 or 3 (2 is the reference)")
    epochs, n = DEPTH_EPOCHS[depth], ctx.seeds()
    base = lr4_runs(ctx, n)
    case = (
        deep_runs(ctx, 50, n)
        if depth == 3
        else run_seeds(arm(1e-4, epochs, depth=depth), n, ctx.device, ctx.root)
    )
    acc_base, acc_case, note = paired_at(base, case, epochs, epochs)
    j = equivalence(acc_base, acc_case, margin=0.3)
    arms = {"depth2": (base, acc_base), f"depth{depth}": (case, acc_case)}
    return ClaimResult(
        "CH-4",
        ctx.case,
        j.verdict,
        j.line(),
        accuracies=pair_accuracies(epochs, arms),
        figures={
            **pair_figures(ctx, epochs, j, arms),
            "stated": STATED_DEPTH[depth],
        },
        note=note,
        timed=inference(case[-1], ctx),
    )


@claim(
    "CH-5",
    SOURCE,
    "3 Hidden Layer NN, Version 2",
    "sigmoid is worse than ReLU (95.93% vs 97.31%)",
    "paired seeds, 3 × 50, lr 1e-4; one-sided superiority of ReLU over sigmoid (95% lower bound of Δ > 0)",
    cases=cases("sigmoid-vs-relu"),
)
def ch5(ctx: Context) -> ClaimResult:
    """Δ = acc(ReLU) − acc(sigmoid), 3 hidden layers of 50, lr 1e-4, batch 50, paired seeds
    (same initial weights: the activation has no parameters); HOLDS if the one-sided 95%
    lower bound is > 0. n = 5 (quick) / 10 (paper) paired seeds at 50 epochs."""
    epochs, n = 50, ctx.seeds()
    relu = deep_runs(ctx, 50, n)
    sigmoid = deep_runs(ctx, 50, n, activation="sigmoid")
    acc_sig, acc_relu, note = paired_at(sigmoid, relu, epochs, epochs)
    j = superiority(acc_sig, acc_relu)
    arms = {"relu": (relu, acc_relu), "sigmoid": (sigmoid, acc_sig)}
    return ClaimResult(
        "CH-5",
        ctx.case,
        j.verdict,
        j.line(),
        accuracies=pair_accuracies(epochs, arms),
        figures={
            **pair_figures(ctx, epochs, j, arms),
            "stated": {"relu": 97.31, "sigmoid": 95.93},
        },
        note=note,
        timed=inference(sigmoid[-1], ctx),
    )


@claim(
    "CH-6",
    SOURCE,
    "3 Hidden Layer NN, Version 3, 4, 5",
    "width: 10 units underfit (93.56%), 100 → 97.81%, 1000 → 98.32% (the best)",
    "paired seeds, 3 hidden layers, lr 1e-4; each case one adjacent step of 10 < 50 < 100 < 1000, "
    "one-sided superiority",
    cases=cases("width={width}", width=tuple(WIDTH_STEPS)),
)
def ch6(ctx: Context, width: int) -> ClaimResult:
    """One adjacent step of the width ordering: Δ = acc(wider) − acc(narrower) > 0 (one-sided
    95% lower bound), 3 hidden layers, lr 1e-4, batch 50, paired seeds. width=10 judges
    50 > 10, 100 judges 100 > 50, 1000 judges 1000 > 100. n = 5 (quick) / 10 (paper) paired
    seeds at the source's 50 epochs; quick's width 1000 runs 3 seeds for 1 epoch (the width-100
    runs read at epoch 1): UNTESTED."""
    narrow, wide = width_step(width)
    epochs, n = 50, ctx.seeds()
    if width == 1000:
        epochs, n = ctx.pick(QUICK_WIDE[0], 50, "epochs"), range(ctx.pick(QUICK_WIDE[1], 10, "seeds", regime=False))
    runs = {w: deep_runs(ctx, w, n, epochs=epochs if w == 1000 else None) for w in (narrow, wide)}
    acc_narrow, acc_wide, note = paired_at(runs[narrow], runs[wide], epochs, epochs)
    j = superiority(acc_narrow, acc_wide)
    arms = {f"width{narrow}": (runs[narrow], acc_narrow), f"width{wide}": (runs[wide], acc_wide)}
    return ClaimResult(
        "CH-6",
        ctx.case,
        j.verdict,
        j.line(),
        accuracies=pair_accuracies(epochs, arms),
        figures={
            **pair_figures(ctx, epochs, j, arms),
            "seeds": len(n),
            "stated": {f"width{narrow}": STATED_WIDTH[narrow], f"width{wide}": STATED_WIDTH[wide]},
        },
        note=note,
        timed=inference(runs[width][-1], ctx),
    )
