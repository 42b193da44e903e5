"""Source 001, claims SZ-5 and SZ-6: decimal rounding of trained weights and the range of
the weights (SZ-7, the k-fold protocol, is in `kfold_protocol`). Setup, model and profiles:
see `parameter_precision_setup`.
"""

from __future__ import annotations

import torch

from ..evaluate import evaluate
from ..experiment import dataset
from ..packing import pack_rounded
from ..quantize import round_weights
from ..size import model_size
from ..stats import Verdict, at_most, equivalence, mcnemar_exact, superiority
from .base import ClaimResult, Context, claim
from .cases import cases
from .pairing import by_seed
from .parameter_precision_setup import SOURCE, arm, format_mean_sd, fp32_runs
from .report_data import rounded_value_counts

CHANCE = 10.0  # percent, 10 balanced classes
COLLAPSE_BOUND = 5.0  # "collapses to chance": accuracy ≤ chance + 5 points
DEGRADE_THRESHOLD = 1.0  # "degrades clearly": drop > 1 point (≈ 7 standard errors of one run)
EQUIV_MARGIN = 0.1  # "full accuracy": |Δ| ≤ 0.1 point
WEIGHT_BOUND = 0.5
HIST_EDGES = tuple(round(-1.0 + 0.05 * i, 2) for i in range(41))  # [−1, 1] in 0.05 bins


# ---------------------------------------------------------------------------- helpers


def collapse_judgement(rounded_acc):
    """"Collapses to chance": Δ = acc − 10 (excess over chance) per seed, at_most bound 5 pt
    (HOLDS if the one-sided 95% upper bound of the mean accuracy is ≤ 15%)."""
    return at_most([CHANCE] * len(rounded_acc), rounded_acc, bound=COLLAPSE_BOUND)


def degradation_judgement(full_acc, rounded_acc, threshold: float = DEGRADE_THRESHOLD):
    """"Degrades clearly": Δ = drop − threshold per seed (drop = full − rounded), superiority
    (HOLDS if the one-sided 95% lower bound of the mean drop exceeds `threshold`)."""
    return superiority([r + threshold for r in rounded_acc], full_acc)


def outside_count(state_dict, bound: float = WEIGHT_BOUND) -> int:
    """How many floating values of `state_dict` have |w| > bound (exact)."""
    return sum(int((t.abs() > bound).sum()) for t in state_dict.values() if t.is_floating_point())


def histogram(t: torch.Tensor, edges=HIST_EDGES) -> list[int]:
    """Counts of `t` in [below edges[0]] + the bins of `edges` + [above edges[-1]]."""
    x = t.detach().cpu().double().flatten()
    lo, hi = edges[0], edges[-1]
    inside = x[(x >= lo) & (x <= hi)]
    counts = torch.histogram(inside, bins=torch.tensor(edges, dtype=torch.float64)).hist
    return [int((x < lo).sum()), *(int(c) for c in counts), int((x > hi).sum())]


# ---------------------------------------------------------------------------- SZ-5


@claim(
    "SZ-5",
    SOURCE,
    "6, Effect of Decimal Rounding, Figure 12",
    "weights rounded to d decimals: d=1 chance, d=2 clearly worse, d≥3 full accuracy (~11 bits)",
    "same model per seed, McNemar flips; d≥3: 90% CI of Δ inside ±0.1 pt; d=2: drop > 1 pt; "
    "d=1: accuracy ≤ 15%",
    cases=cases("decimals={decimals}", decimals=(1, 2, 3, 4), smoke={"decimals": 2}),
)
def sz5(ctx: Context, decimals: int = 3) -> ClaimResult:
    """The fp32 model of each of n = 5 seeds (quick; 10 paper), its weights and biases rounded
    to `decimals` places (`round_weights`), evaluated in fp32; per seed the exact McNemar test
    against the unrounded model. Across seeds: d ≥ 3 ("full accuracy") equivalence with margin
    0.1 pt; d = 2 ("degrades clearly") HOLDS if the one-sided 95% lower bound of the mean drop
    exceeds 1 pt (Δ shown = drop − 1); d = 1 ("collapses to chance") HOLDS if the one-sided 95%
    upper bound of the mean accuracy is ≤ 15% (Δ shown = accuracy − 10). Also measured: the
    packed encoding (`pack_rounded`) bytes and bits per weight, and the paper's accounting
    (sign + integer + decimal bits). Timed: round_weights + evaluation on the test set."""
    if decimals not in (1, 2, 3, 4):
        raise ValueError(f"SZ-5 decimals={decimals!r}; expected 1, 2, 3 or 4")
    runs = fp32_runs(ctx)
    data = dataset(arm(ctx), ctx.device, ctx.root)
    full, rounded, flips, sizes = [], [], [], []
    for r in runs:
        model = r.model(ctx.device)
        ev = evaluate(round_weights(model, decimals), data, "test")
        m = mcnemar_exact(r.correct, ev.correct)
        full.append(r.accuracy)
        rounded.append(ev.accuracy)
        flips.append({"seed": r.seed, "b": m.b, "c": m.c, "p_value": m.p_value, "delta": m.delta})
        enc = pack_rounded(model, decimals)
        sizes.append({"seed": r.seed, "nbytes": enc.nbytes, "bits_per_weight": enc.bits_per_weight,
                      "paper_bits_per_weight": enc.paper_bits_per_weight,
                      "n_weights": enc.n_weights,
                      "fp32_serialized_bytes": model_size(model).serialized_bytes})
    if decimals >= 3:
        j, label = equivalence(full, rounded, margin=EQUIV_MARGIN), ""
    elif decimals == 2:
        j, label = degradation_judgement(full, rounded), f"drop − {DEGRADE_THRESHOLD:g} pt: "
    else:
        j, label = collapse_judgement(rounded), f"accuracy − chance ({CHANCE:g}%): "
    bits = sizes[0]
    note = (f"rounded accuracy {format_mean_sd(rounded)}% vs fp32 {format_mean_sd(full)}%; "
            f"packed {bits['bits_per_weight']:.2f} bits/weight measured "
            f"({bits['nbytes']} bytes vs {bits['fp32_serialized_bytes']} fp32 serialized), "
            f"{bits['paper_bits_per_weight']} by the paper's accounting")
    model = runs[0].model(ctx.device)
    return ClaimResult(
        "SZ-5", ctx.case, j.verdict, label + j.line(),
        figures={"flips": flips, "judgement": j, "encoding": sizes},
        accuracies={"fp32": by_seed([r.seed for r in runs], full), "rounded": by_seed([r.seed for r in runs], rounded)},
        sizes={"fp32_serialized": sizes[0]["fp32_serialized_bytes"],
               **{f"packed_seed{e['seed']}": e["nbytes"] for e in sizes}},
        note=note,
        timed=lambda: evaluate(round_weights(model, decimals), data, "test"),
    )


# ---------------------------------------------------------------------------- SZ-6


@claim(
    "SZ-6",
    SOURCE,
    "6, Effect of Decimal Rounding, Figure 10",
    "trained weights lie in [−0.5, 0.5]: no integer bits needed",
    "exact: every parameter of every seed's fp32 model inside [−0.5, 0.5]",
    cases=cases(f"bound={WEIGHT_BOUND}"),
)
def sz6(ctx: Context) -> ClaimResult:
    """Every weight and bias of the fp32 model of each of n = 5 seeds (quick; 10 paper) lies in
    [−0.5, 0.5]. An exact check over all parameters, no statistics: HOLDS if none is outside,
    FAILS otherwise. Figures: per layer min/max per seed and a histogram summed over seeds
    (bins of 0.05 over [−1, 1] plus below/above counts). Timed: the range check itself."""
    runs = fp32_runs(ctx)
    states = [r.state_dict for r in runs]
    ranges = {name: {"min": [float(s[name].min()) for s in states],
                     "max": [float(s[name].max()) for s in states]} for name in states[0]}
    hist = {name: [sum(c) for c in zip(*(histogram(s[name]) for s in states), strict=True)]
            for name in states[0]}
    outside = sum(outside_count(s) for s in states)
    n_values = sum(t.numel() for s in states for t in s.values())
    peak, where = max(((float(t.abs().max()), f"seed {r.seed}, {name}")
                       for r in runs for name, t in r.state_dict.items()), key=lambda x: x[0])
    verdict = Verdict.HOLDS if outside == 0 else Verdict.FAILS
    line = (f"max |w|={peak:.3f} ({where}), {outside} of {n_values} values outside "
            f"[−{WEIGHT_BOUND}, {WEIGHT_BOUND}], {len(runs)} seeds, bound |w| ≤ {WEIGHT_BOUND} "
            f"(exact check, no statistics) → {verdict}")
    return ClaimResult(
        "SZ-6", ctx.case, verdict, line,
        figures={"per_layer_range": ranges, "histogram_edges": list(HIST_EDGES),
                 "histogram_counts": hist, "outside": outside, "n_values": n_values,
                 "max_abs": peak, "rounded_value_counts": rounded_value_counts(states, (1, 2))},
        note="weights and biases both checked; histogram counts: [below −1, 40 bins, above 1]",
        timed=lambda: sum(outside_count(s) for s in states),
        timed_device="cpu",  # the cached state dicts live on the CPU whatever the case's device
    )
