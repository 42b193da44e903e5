"""Source 002, claims TD-4 and TD-5: what the trained CNN's weights and activations look like.

TD-5 shares the arms of TD-1 … TD-3 (`training_dynamics`): the Adam + dropout arm of every
seed, recorded by `WeightRecorder` (see `training_dynamics_setup` for the setup, the budgets
and the run helpers). TD-4 trains that arm from the Gaussian init its claim is about, and a
shuffled-label control.
"""

from __future__ import annotations

import math
import statistics

from ..evaluate import forward_split
from ..experiment import dataset
from ..modality import silverman_test
from ..models import penultimate
from ..stats import lower_bound, superiority, upper_bound
from ..verdicts import Verdict, combine, signed
from .base import ClaimResult, Context, claim
from .cases import cases
from .training_dynamics_measures import (
    WeightRecorder,
    knn_loo_accuracy,
    pca_2d,
    silhouette,
    weight_layers,
)
from .training_dynamics_setup import (
    SOURCE,
    SUBSET,
    SUBSET_SEED,
    budget_note,
    cnn_arm,
    fixed_test_subset,
    runs,
    shuffled_labels,
)

SHAPE_STATS = ("w1", "modes", "bimodality", "kurtosis")
EARLY_STEPS = 50  # quick TD-4: a first checkpoint inside the single epoch
EMBED_POINTS, K = 500, 5  # TD-5


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


MODALITY_ALPHA = 0.05  # Silverman's test per layer and seed, Bonferroni over the layers


def shape_verdict(grew: dict, vs_control: list[float], p_end: dict, p_init: dict, n_layers: int):
    """TD-4's two parts, from per layer-seed results (keys (seed, layer)).
    (a) "moves away from the initial form": W1 from init grows first → last checkpoint in
    every layer-seed, and further than under shuffled labels: `vs_control` holds per seed the
    mean over layers of log(W1 real / W1 control) at the last checkpoint; HOLDS if its
    one-sided 95% t lower bound is > 0, FAILS if W1 shrinks anywhere or the upper bound is < 0.
    (b) "multimodal": Silverman's test at level α/L (L layers); HOLDS if every layer-seed
    rejects unimodality at the end and none at init, FAILS if none rejects at the end.
    Returns (verdict, moves, multimodal, the bounds of (a))."""
    lo, hi = lower_bound(vs_control).low, upper_bound(vs_control).high
    if not all(grew.values()) or hi < 0:
        moves = Verdict.FAILS
    else:
        moves = Verdict.HOLDS if lo > 0 else Verdict.INCONCLUSIVE
    level = MODALITY_ALPHA / n_layers
    end = [p < level for p in p_end.values()]
    init = [p < level for p in p_init.values()]
    if all(end) and not any(init):
        multimodal = Verdict.HOLDS
    elif not any(end):
        multimodal = Verdict.FAILS
    else:
        multimodal = Verdict.INCONCLUSIVE
    return combine(moves, multimodal), moves, multimodal, (lo, hi)


@claim(
    "TD-4",
    SOURCE,
    "4.2, 5 (4)",
    "weight distributions move from the initial Gaussian shape to task-specific multimodal shapes",
    "CNN from a Gaussian init (He σ); per layer and seed: (a) W1 from the initial weights grows first → last "
    "checkpoint and exceeds a shuffled-label control's (one-sided t on the per-seed mean log-ratio); (b) "
    "Silverman's unimodality test rejects at the end and not at init (α = 0.05 / layers); both parts must hold",
    cases=cases("adam-dropout"),
)
def td4(ctx: Context) -> ClaimResult:
    """TD-4 on the Adam + dropout CNN started from the Gaussian init the source describes
    (N(0, 2/fan_in), zero biases: `models`, init="gaussian"), n = 5 seeds × 4 weight layers
    (quick) or 10 × 4 (paper), with a control arm: the same seeds trained on shuffled labels
    (`shuffled_labels`), a network that moves its weights without learning the task. At each
    checkpoint and per layer: exact 1-D Wasserstein distance W1 from the layer's initial
    weights, KDE mode count, Sarle's bimodality coefficient, excess kurtosis and a 40-bin
    histogram; at init and at the end, Silverman's bootstrap test of unimodality (200
    resamples of 1,000 weights). Quick has one epoch, so its first checkpoint is step 50 of a
    separate 50-step run (the same trajectory's prefix) and its last is epoch 1; paper's are
    epochs 1 and 20. Verdict: `shape_verdict`."""
    arm = cnn_arm(ctx, init="gaussian")
    main = runs(ctx, arm)
    early = runs(ctx, cnn_arm(ctx, max_steps=EARLY_STEPS, init="gaussian")) if ctx.profile == "quick" else None
    control = runs(ctx, arm, data=shuffled_labels(dataset(arm, ctx.device, ctx.root)))
    keep = [i for i, r in enumerate(main) if not (r.diverged or control[i].diverged or (early and early[i].diverged))]
    per_seed = {main[i].seed: _checkpoints(ctx, main[i], early[i] if early else None) for i in keep}
    labels = [label for label, _ in next(iter(per_seed.values()))]
    layers = list(main[keep[0]].extras["weights"])
    grew, vs_control, p_end, p_init, modes_end = {}, [], {}, {}, {}
    for i in keep:
        seed, cps = main[i].seed, per_seed[main[i].seed]
        first, last = cps[0][1], cps[-1][1]
        end_weights, init_weights = weight_layers(main[i].model("cpu")), weight_layers(main[i].arm.model.build(seed))
        logs = []
        for layer in layers:
            grew[(seed, layer)] = last[layer]["w1"] > first[layer]["w1"]
            logs.append(math.log(last[layer]["w1"] / max(control[i].extras["weights"][layer]["w1"][-1], 1e-300)))
            p_end[(seed, layer)] = silverman_test(end_weights[layer], seed=seed).p_value
            p_init[(seed, layer)] = silverman_test(init_weights[layer], seed=seed).p_value
            modes_end[(seed, layer)] = last[layer]["modes"]
        vs_control.append(sum(logs) / len(logs))
    verdict, moves, multimodal, (lo, hi) = shape_verdict(grew, vs_control, p_end, p_init, len(layers))
    n, level = len(grew), MODALITY_ALPHA / len(layers)
    line = (
        f"moves: W1 from init grows {labels[0]}→{labels[-1]} in {sum(grew.values())}/{n} layer-seeds, "
        f"vs shuffled labels mean log-ratio {signed(sum(vs_control) / len(vs_control))} (one-sided 95% bounds "
        f"[{signed(lo)}, {signed(hi)}], {len(vs_control)} seeds) → {moves}; multimodal (Silverman p < {level:.4g}): "
        f"{sum(p < level for p in p_end.values())}/{n} at {labels[-1]}, {sum(p < level for p in p_init.values())}/{n} "
        f"at init → {multimodal}"
    )
    model = main[keep[0]].model("cpu")
    seed0, init = main[keep[0]].seed, main[keep[0]].extras["weights"]
    key = lambda d: {f"{s}:{ly}": v for (s, ly), v in d.items()}  # noqa: E731
    return ClaimResult(
        "TD-4",
        ctx.case,
        verdict,
        line,
        figures={
            "checkpoints": ["init"] + labels,
            "init_form": "gaussian N(0, 2/fan_in), zero biases",
            **{stat: _table(per_seed, layers, stat) for stat in SHAPE_STATS},
            "init": {ly: {k: init[ly][k][0] for k in SHAPE_STATS[1:]} for ly in layers},
            "histograms_seed0": {
                ly: [init[ly]["histogram"][0]] + [c[ly]["histogram"] for _, c in per_seed[seed0]]
                for ly in layers
            },
            "log_w1_vs_shuffled_labels": vs_control,
            "grew": key(grew),
            "silverman_p_end": key(p_end),
            "silverman_p_init": key(p_init),
            "kde_modes_end": key(modes_end),
            "parts": {"moves": moves.value, "multimodal": multimodal.value},
        },
        note=budget_note(ctx),
        timed=lambda: WeightRecorder().on_epoch(0, model),  # the per-checkpoint shape analysis
        timed_device="cpu",  # the model is loaded on the CPU and the statistics run there
    )


@claim(
    "TD-5",
    SOURCE,
    "4.3",
    "penultimate-layer activations separate the digit classes",
    "per seed Δ = 5-NN leave-one-out accuracy on penultimate activations − on raw pixels "
    "of the same 2,000 test images; superiority one-sided 95%; silhouette and a 2-D PCA "
    "embedding reported",
    cases=cases(f"knn{K}-{SUBSET}"),
)
def td5(ctx: Context) -> ClaimResult:
    """TD-5 on the Adam + dropout arm, n = 5 seeds (quick) or 10 (paper). The source shows
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
        ctx.case,
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
