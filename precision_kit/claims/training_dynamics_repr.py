"""Source 002, claims TD-4 and TD-5: what the trained CNN's weights and activations look like.

It shares the arms of TD-1 … TD-3 (`training_dynamics`): the Adam + dropout arm of every
seed, recorded by `WeightRecorder` (see `training_dynamics_setup` for the setup, the budgets
and the run helpers).
"""

from __future__ import annotations

import math
import statistics

import torch

from ..evaluate import forward_split
from ..experiment import dataset
from ..models import penultimate
from ..stats import lower_bound, superiority
from ..verdicts import Verdict, signed
from .base import ClaimResult, Context, claim
from .training_dynamics_measures import (
    WeightRecorder,
    knn_loo_accuracy,
    pca_2d,
    silhouette,
)
from .training_dynamics_setup import SOURCE, budget_note, cnn_arm, join, runs

SHAPE_STATS = ("w1", "modes", "bimodality", "kurtosis")
EARLY_STEPS = 50  # quick TD-4: a first checkpoint inside the single epoch
SUBSET, SUBSET_SEED, EMBED_POINTS, K = 2000, 2002, 500, 5  # TD-5


def _checkpoints(ctx: Context, main, early) -> list[tuple[str, dict]]:
    """(label, {layer: {stat: value}}) for each post-init checkpoint of one seed: quick =
    step 50 (its own capped run, the same trajectory's prefix) and epoch 1; paper = epochs
    1 … 20."""
    def at(run, i: int) -> dict:
        rows = run.extras["weights"]
        return {layer: {k: v[i] for k, v in stats.items()} for layer, stats in rows.items()}

    if early is not None:
        return [(f"step {EARLY_STEPS}", at(early, 1)), ("epoch 1", at(main, 1))]
    epochs = main.extras["weight_epochs"]
    return [(f"epoch {e}", at(main, i)) for i, e in enumerate(epochs) if e > 0]


def _table(per_seed: dict, layers: list[str], stat: str) -> dict:
    """{seed: {layer: [stat at each post-init checkpoint]}}."""
    return {s: {ly: [c[ly][stat] for _, c in cps] for ly in layers} for s, cps in per_seed.items()}


@claim(
    "TD-4",
    SOURCE,
    "4.2, 5 (4)",
    "weight distributions move from the initial shape to task-specific multimodal shapes",
    "per layer and seed: W1 distance from the initial weights at each checkpoint and KDE "
    "mode count; HOLDS if W1 grows first→last checkpoint and the last has ≥ 2 modes and more "
    "than at init everywhere; FAILS if W1 shrinks anywhere or nothing became multimodal",
)
def td4(ctx: Context) -> ClaimResult:
    """TD-4 on the Adam + dropout arm, n = 3 seeds × 4 weight layers (quick) or 5 × 4
    (paper). At each checkpoint and per layer: exact 1-D Wasserstein distance W1 from the
    layer's initial weights, the number of modes of a Gaussian KDE (Silverman bandwidth,
    valleys shallower than 5% merged), Sarle's bimodality coefficient, excess kurtosis and
    a 40-bin histogram. Quick has one epoch, so its first checkpoint is step 50 of a
    separate 50-step run (the same seed's trajectory prefix) and its last is epoch 1;
    paper's are epochs 1 and 20. Rule (descriptive, stated here, not a significance test):
    HOLDS if W1 grows from the first to the last checkpoint in every layer of every seed
    and every layer "became multimodal" (≥ 2 KDE modes at the last checkpoint and more than
    at init); FAILS if W1 shrinks anywhere or no layer became multimodal; INCONCLUSIVE
    otherwise. Modes are compared with init because the KDE of the small layers' uniform
    init (conv1: 288 weights, fc2: 1,280) already shows noise bumps deeper than 5%. The
    line adds the one-sided 95% t lower bound of the per-seed mean log(W1_last/W1_first)."""
    main = runs(ctx, cnn_arm(ctx))
    early = runs(ctx, cnn_arm(ctx, max_steps=EARLY_STEPS)) if ctx.profile == "quick" else None
    keep = [i for i, r in enumerate(main) if not r.diverged and not (early and early[i].diverged)]
    per_seed = {
        main[i].seed: _checkpoints(ctx, main[i], early[i] if early else None) for i in keep
    }
    labels = [label for label, _ in next(iter(per_seed.values()))]
    layers = list(main[keep[0]].extras["weights"])
    grew, multimodal, init_multimodal, log_ratios = {}, {}, {}, []
    for i in keep:
        seed, cps = main[i].seed, per_seed[main[i].seed]
        first, last = cps[0][1], cps[-1][1]
        ratios = []
        for layer in layers:
            grew[(seed, layer)] = last[layer]["w1"] > first[layer]["w1"]
            init_modes = main[i].extras["weights"][layer]["modes"][0]
            multimodal[(seed, layer)] = last[layer]["modes"] >= 2 and last[layer]["modes"] > init_modes
            init_multimodal[(seed, layer)] = init_modes >= 2
            ratios.append(last[layer]["w1"] / max(first[layer]["w1"], 1e-300))
        log_ratios.append(sum(math.log(r) for r in ratios) / len(ratios))
    n = len(grew)
    n_grew, n_multi = sum(grew.values()), sum(multimodal.values())
    n_init = sum(init_multimodal.values())
    if n_grew == n and n_multi == n:
        verdict = Verdict.HOLDS
    elif n_grew < n or n_multi == 0:
        verdict = Verdict.FAILS
    else:
        verdict = Verdict.INCONCLUSIVE
    growth = lower_bound(log_ratios)
    line = (
        f"W1 from init grows {labels[0]}→{labels[-1]} in {n_grew}/{n} layer-seeds "
        f"(mean log-ratio Δ={signed(growth.estimate)}, {growth.text()}, {growth.n} seeds); "
        f"became multimodal (≥2 modes, more than at init) by {labels[-1]} in {n_multi}/{n} "
        f"(≥2 modes at init already: {n_init}/{n}); rule: all grow and all become multimodal "
        f"→ {verdict}"
    )
    not_multi = sorted({layer for (_, layer), m in multimodal.items() if not m})
    model = main[keep[0]].model("cpu")
    seed0, init = main[keep[0]].seed, main[keep[0]].extras["weights"]
    return ClaimResult(
        "TD-4",
        "adam-dropout",
        verdict,
        line,
        figures={
            "checkpoints": ["init"] + labels,
            **{stat: _table(per_seed, layers, stat) for stat in SHAPE_STATS},
            "init": {ly: {k: init[ly][k][0] for k in SHAPE_STATS[1:]} for ly in layers},
            "histograms_seed0": {
                ly: [init[ly]["histogram"][0]] + [c[ly]["histogram"] for _, c in per_seed[seed0]]
                for ly in layers
            },
            "mean_log_w1_ratio": log_ratios,
            "grew": {f"{s}:{ly}": g for (s, ly), g in grew.items()},
            "multimodal_last": {f"{s}:{ly}": m for (s, ly), m in multimodal.items()},
        },
        note=join(
            budget_note(ctx),
            f"not newly multimodal at {labels[-1]}: {', '.join(not_multi)}" if not_multi else "",
            "init is PyTorch's default Kaiming-uniform (flat histogram), not the source's Gaussian",
        ),
        timed=lambda: WeightRecorder().on_epoch(0, model),  # the per-checkpoint shape analysis
        timed_device="cpu",  # the model is loaded on the CPU and the statistics run there
    )


def fixed_test_subset(ctx: Context, arm):
    """A fixed 2,000-image test subset (its own generator), images on ctx.device, labels on CPU."""
    test = dataset(arm, ctx.device, ctx.root).test
    idx = torch.randperm(len(test), generator=torch.Generator().manual_seed(SUBSET_SEED))[:SUBSET]
    idx = idx.sort().values.to(test.images.device)
    return test.images[idx], test.labels[idx].cpu()


@claim(
    "TD-5",
    SOURCE,
    "4.3",
    "penultimate-layer activations separate the digit classes",
    "per seed Δ = 5-NN leave-one-out accuracy on penultimate activations − on raw pixels "
    "of the same 2,000 test images; superiority one-sided 95%; silhouette and a 2-D PCA "
    "embedding reported",
)
def td5(ctx: Context) -> ClaimResult:
    """TD-5 on the Adam + dropout arm, n = 3 seeds (quick) or 5 (paper). The source shows
    t-SNE plots; the numeric stand-in is the leave-one-out 5-NN accuracy of the 128-D
    penultimate activations (after the FC ReLU) on a fixed 2,000-image test subset, against
    the same score on the raw 784-D pixels of those images (the baseline separation).
    Test: superiority of Δ = knn(acts) − knn(pixels), one-sided 95% t bound over seeds.
    Figures add the silhouette of both and the exact 2-D PCA of 500 points (seed 0) with
    labels, for the report's embedding plot."""
    trained = [r for r in runs(ctx, cnn_arm(ctx)) if not r.diverged]
    images, labels = fixed_test_subset(ctx, trained[0].arm)
    pixels = images.reshape(len(images), -1).cpu()
    knn_pix, sil_pix = knn_loo_accuracy(pixels, labels, K), silhouette(pixels, labels)
    knn_acts, sil_acts, embedding = [], [], None
    for r in trained:
        acts = forward_split(penultimate(r.model(ctx.device)), images).cpu()
        knn_acts.append(knn_loo_accuracy(acts, labels, K))
        sil_acts.append(silhouette(acts, labels))
        if embedding is None:
            coords = pca_2d(acts[:EMBED_POINTS])
            embedding = {
                "x": [round(float(v), 4) for v in coords[:, 0]],
                "y": [round(float(v), 4) for v in coords[:, 1]],
                "label": labels[:EMBED_POINTS].tolist(),
                "seed": r.seed,
            }
    j = superiority([knn_pix] * len(knn_acts), knn_acts)
    pen = penultimate(trained[0].model(ctx.device))
    return ClaimResult(
        "TD-5",
        f"knn{K}-{SUBSET}",
        j.verdict,
        f"{j.line()}; silhouette {statistics.fmean(sil_acts):.3f} (acts) vs {sil_pix:.3f} (pixels)",
        figures={
            "knn_activations": knn_acts,
            "knn_pixels": knn_pix,
            "judgement": j,
            "silhouette_activations": sil_acts,
            "silhouette_pixels": sil_pix,
            "subset": {"n": SUBSET, "seed": SUBSET_SEED, "k": K},
            "pca_embedding": embedding,
            "epochs": trained[0].arm.config.epochs,
        },
        note=budget_note(ctx),
        timed=lambda: knn_loo_accuracy(forward_split(pen, images).cpu(), labels, K),
    )
