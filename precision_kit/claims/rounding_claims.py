"""Source 001, claims SZ-5 … SZ-7: decimal rounding of trained weights, the range of the
weights, and the 5-fold cross-validation protocol. Setup, model and profiles: see
`parameter_precision_setup`.

SZ-7 needs training on folds of the train split, which `experiment.run_arm` (whole MNIST)
cannot do: `fold_run` trains with `train.train` on each fold `Dataset` and caches the result
through `cache.cache_key/load/save`, keyed by the fold index, k, the split seed, the model and
the training config.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace

import torch

from .. import cache
from ..data import kfold_indices
from ..evaluate import evaluate
from ..experiment import dataset
from ..packing import pack_rounded
from ..precision import get_precision
from ..quantize import round_weights
from ..size import model_size
from ..stats import Verdict, at_most, equivalence, mcnemar_exact, superiority
from ..train import train
from .base import ClaimResult, Context, claim
from .parameter_precision_setup import SOURCE, SPEC, arm, better_note, fp32_runs
from .report_data import rounded_value_counts

CHANCE = 10.0  # percent, 10 balanced classes
COLLAPSE_BOUND = 5.0  # "collapses to chance": accuracy ≤ chance + 5 points
DEGRADE_THRESHOLD = 1.0  # "degrades clearly": drop > 1 point (≈ 7 standard errors of one run)
EQUIV_MARGIN = 0.1  # "full accuracy": |Δ| ≤ 0.1 point
WEIGHT_BOUND = 0.5
HIST_EDGES = tuple(round(-1.0 + 0.05 * i, 2) for i in range(41))  # [−1, 1] in 0.05 bins
KFOLD_SEED = 0


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


def format_mean_sd(values) -> str:
    """'97.12 ± 0.08' (sample sd; ± 0.00 for a single value)."""
    n = len(values)
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return f"{m:.2f} ± {sd:.2f}"


# ---------------------------------------------------------------------------- SZ-5


@claim(
    "SZ-5",
    SOURCE,
    "6, Effect of Decimal Rounding, Figure 12",
    "weights rounded to d decimals: d=1 chance, d=2 clearly worse, d≥3 full accuracy (~11 bits)",
    "same model per seed, McNemar flips; d≥3: 90% CI of Δ inside ±0.1 pt; d=2: drop > 1 pt; "
    "d=1: accuracy ≤ 15%",
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
        "SZ-5", f"decimals={decimals}", j.verdict, label + j.line(),
        figures={"fp32_accuracy": full, "rounded_accuracy": rounded, "flips": flips,
                 "judgement": j, "encoding": sizes},
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
        "SZ-6", f"bound={WEIGHT_BOUND}", verdict, line,
        figures={"per_layer_range": ranges, "histogram_edges": list(HIST_EDGES),
                 "histogram_counts": hist, "outside": outside, "n_values": n_values,
                 "max_abs": peak, "rounded_value_counts": rounded_value_counts(states, (1, 2))},
        note="weights and biases both checked; histogram counts: [below −1, 40 bins, above 1]",
        timed=lambda: sum(outside_count(s) for s in states),
        timed_device="cpu",  # the cached state dicts live on the CPU whatever the case's device
    )


# ---------------------------------------------------------------------------- SZ-7


def fold_run(ctx: Context, k: int, fold: int, precision: str, full) -> dict:
    """Train `precision` on fold `fold` of k (train = the other folds of MNIST's train split,
    evaluated on the held-out fold), seed = fold index; cached. `full` is the MNIST Dataset."""
    config = arm(ctx, precision).config.replace(
        evaluation="none", seed=fold, device=ctx.device, max_steps=ctx.pick(80, None, "steps per fold"))
    description = {"claim": "SZ-7 fold", "k": k, "fold": fold, "split_seed": KFOLD_SEED,
                   "model": dataclasses.asdict(SPEC), "config": dataclasses.asdict(config),
                   "dataset": "mnist", "normalize": "unit"}
    key = cache.cache_key(description)
    payload = cache.load(key, parse=_fold_payload)
    if payload is None:
        tr, va = kfold_indices(len(full.train), k, KFOLD_SEED)[fold]
        data = replace(full, train=full.train.subset(tr), test=full.train.subset(va))
        result = train(SPEC.build(fold), data, config)
        correct = None if result.diverged else evaluate(result.model, data, "test", precision).correct
        payload = {"fold": fold, "precision": precision, "steps": result.steps,
                   "diverged_at_step": result.diverged_at_step, "correct": correct,
                   "state_dict": {n: v.detach().cpu() for n, v in result.model.state_dict().items()}}
        cache.save(key, payload)
    return payload


def _fold_payload(stored: dict) -> dict:
    """A cached fold run, checked (KeyError/TypeError: the cache moves it aside, retrain)."""
    if not (stored["correct"] is None or isinstance(stored["correct"], torch.Tensor)):
        raise TypeError(f"a cached fold's correctness must be a tensor; found {type(stored['correct']).__name__}")
    for name in ("fold", "precision", "steps", "diverged_at_step", "state_dict"):
        stored[name]  # noqa: B018 (present, or KeyError)
    return stored


def _accuracy(payload: dict) -> float:
    return 100.0 * int(payload["correct"].sum()) / payload["correct"].numel()


@claim(
    "SZ-7",
    SOURCE,
    "5, Experimental Design",
    "5-fold cross-validation as the evaluation protocol (fp16 vs fp32 of SZ-1)",
    "per fold fp32 and fp16 on the held-out fold; mean ± sd over folds; folds paired, 90% CI "
    "inside ±0.2 pt",
)
def sz7(ctx: Context, k: int = 5, precision: str = "fp16") -> ClaimResult:
    """k-fold cross-validation (k = 5, `data.kfold_indices` with split seed 0) of MNIST's train
    split: on each fold fp32 and pure `precision` are trained (seed = fold index: same initial
    weights and data order for both arms of a fold) and evaluated on the held-out fold (12,000
    images). Reported: mean ± sd of the accuracy across folds per arm; judged: equivalence of
    `precision` vs fp32 within ±0.2 pt with the n = k folds as paired units (TOST). Quick caps
    each fold's training at 80 steps (pure fp16 is ~11× slower than fp32 on a CPU); paper
    trains the profile's full epochs. Timed: inference of fold 0's `precision` model."""
    if k < 2:
        raise ValueError(f"SZ-7 k={k!r}; expected k ≥ 2 folds")
    full = dataset(arm(ctx), ctx.device, ctx.root)
    runs = {p: [fold_run(ctx, k, f, p, full) for f in range(k)] for p in ("fp32", precision)}
    pairs = [(a, b) for a, b in zip(runs["fp32"], runs[precision], strict=True)
             if a["correct"] is not None and b["correct"] is not None]
    acc32, acc = [_accuracy(a) for a, _ in pairs], [_accuracy(b) for _, b in pairs]
    dropped = [a["fold"] for a, b in zip(runs["fp32"], runs[precision], strict=True)
               if a["correct"] is None or b["correct"] is None]
    j = equivalence(acc32, acc, margin=0.2)
    note = (f"fp32 {format_mean_sd(acc32)}%, {precision} {format_mean_sd(acc)}% over "
            f"{len(pairs)} folds (n counts folds); {runs[precision][0]['steps']} steps per fold")
    if dropped:
        note += f"; diverged folds left out: {dropped}"
    if better_note(j, precision):
        note += f"; {better_note(j, precision)}"
    model = SPEC.build(0).to(dtype=get_precision(precision).param_dtype)
    model.load_state_dict(runs[precision][0]["state_dict"])
    model = model.to(ctx.device).eval()
    _, va = kfold_indices(len(full.train), k, KFOLD_SEED)[0]
    held_out = replace(full, test=full.train.subset(va))
    return ClaimResult(
        "SZ-7", f"k={k}-{precision}", j.verdict, j.line().replace("paired seeds", "paired folds"),
        figures={"fp32_accuracy": acc32, f"{precision}_accuracy": acc, "judgement": j,
                 "fp32_mean_sd": format_mean_sd(acc32), f"{precision}_mean_sd": format_mean_sd(acc),
                 "steps": [p["steps"] for p in runs[precision]], "dropped_folds": dropped},
        note=note,
        timed=lambda: evaluate(model, held_out, "test", precision),
    )
