"""Figures of source 002 (training dynamics of the CNN): accuracy per optimizer over epochs
(its Figure 1), weight distributions over training (Figure 2) and a 2-D embedding of the
penultimate activations (Figure 3, t-SNE in the source; PCA here)."""

from __future__ import annotations

from .rows import entry, figures, need
from .style import Plot, Skip, dodge, epoch_axis, mean, new_figure

SRC = "002"
PREFIX = "test_accuracy_per_epoch_"


def accuracy_per_optimizer(rows, other=None) -> Plot:
    td2 = need(rows, "TD-2")["TD-2"]
    curves: dict[str, list[list[float]]] = {}
    for row in td2:
        for name, value in figures(row).items():
            if name.startswith(PREFIX) and value:
                curves.setdefault(name[len(PREFIX):], value)
    if not curves:
        raise Skip("no TD-2 row holds per-epoch test accuracies")
    fig = new_figure(6.5, 4.2, title="Test accuracy per optimizer over epochs (CNN)", source=f"{SRC} Figure 1",
                     claims=["TD-2", "TD-1"])
    ax = fig.subplots()
    n_ep = max(len(c) for per_seed in curves.values() for c in per_seed)
    for k, (opt, per_seed) in enumerate(sorted(curves.items(), key=lambda kv: kv[0] != "adam")):
        dx = dodge(k, len(curves), n_ep)
        for c in per_seed:
            ax.plot([e + 1 + dx for e in range(len(c))], c, color=f"C{k}", alpha=0.3, lw=0.8, marker=".")
        means = [mean([c[e] for c in per_seed if e < len(c)]) for e in range(n_ep)]
        ax.plot([e + 1 + dx for e in range(n_ep)], means, color=f"C{k}", lw=2, marker="o",
                label=f"{opt} (mean of {len(per_seed)} seeds)")
    ax.axhline(98.0, color="grey", ls=":", label="98% (TD-2 speed threshold)")
    ax.axhline(99.3, color="black", ls="--", lw=1, label="99.3% (TD-1, stated best)")
    epoch_axis(ax, n_ep)
    ax.set(ylabel="test accuracy (%)")
    ax.legend(loc="lower right")
    note = "Thin lines: single seeds. Learning rate decays by 0.95 per epoch for every optimizer."
    if n_ep == 1:
        note += " This run trained one epoch (quick profile), so each curve is a single point."
    return Plot(fig, note)


def weight_distributions(rows, other=None) -> Plot:
    td4 = need(rows, "TD-4")["TD-4"]
    row, hists = entry(td4, "histograms_seed0", "weight histograms over training")[0]
    f = figures(row)
    labels = f.get("checkpoints") or [f"checkpoint {i}" for i in range(len(next(iter(hists.values()))))]
    layers = list(hists)
    cols = min(2, len(layers))
    n_rows = -(-len(layers) // cols)
    fig = new_figure(4.6 * cols, 3.4 * n_rows + 0.5, title="Per-layer weight distributions over training (seed 0)",
                     source=f"{SRC} Figure 2", claims=["TD-4"])
    axes = fig.subplots(n_rows, cols, squeeze=False)
    seed0 = next(iter(f.get("w1") or {}), None)
    for i, layer in enumerate(layers):
        ax = axes[i // cols][i % cols]
        for k, h in enumerate(hists[layer]):
            n, width = sum(h["counts"]), (h["high"] - h["low"]) / len(h["counts"])
            edges = [h["low"] + width * j for j in range(len(h["counts"]) + 1)]
            density = [c / (n * width) for c in h["counts"]] if n and width else h["counts"]
            ax.stairs(density, edges, lw=1.4, color=f"C{k}", label=labels[k] if k < len(labels) else str(k))
        w1 = ((f.get("w1") or {}).get(seed0) or {}).get(layer)
        later = labels[1:] if len(labels) == len(w1 or []) + 1 else [f"#{k + 1}" for k in range(len(w1 or []))]
        extra = "\nW1 from init: " + ", ".join(f"{c} {v:.3g}" for c, v in zip(later, w1, strict=True)) if w1 else ""
        ax.set(title=f"layer {layer}{extra}", xlabel="weight value", ylabel="density")
        ax.legend()
    for j in range(len(layers), n_rows * cols):
        axes[j // cols][j % cols].axis("off")
    note = ("Histograms (40 bins each over the layer's own range) of seed 0's weights at each checkpoint, "
            "normalised to densities; W1 = Wasserstein distance from the initial weights at each later checkpoint.")
    return Plot(fig, note)


def embedding(rows, other=None) -> Plot:
    td5 = need(rows, "TD-5")["TD-5"]
    row, emb = entry(td5, "pca_embedding", "2-D embedding")[0]
    f = figures(row)
    fig = new_figure(6.2, 5.4, title="Penultimate-layer activations, 2-D PCA, coloured by digit",
                     source=f"{SRC} Figure 3", claims=["TD-5"])
    ax = fig.subplots()
    xs, ys, labels = emb["x"], emb["y"], emb["label"]
    for digit in sorted(set(labels)):
        idx = [i for i, lab in enumerate(labels) if lab == digit]
        ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], s=9, color=f"C{digit}", label=str(digit), alpha=0.8)
    ax.set(xlabel="principal component 1 (activation units)", ylabel="principal component 2 (activation units)")
    ax.legend(title="digit", markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    knn, sil = mean(f.get("knn_activations") or []), mean(f.get("silhouette_activations") or [])
    parts = [f"{len(xs)} test images, seed {emb.get('seed')}; the source shows t-SNE, this is an exact PCA"]
    if knn is not None:
        parts.append(f"5-NN accuracy on the activations {knn:.2f}% vs {f.get('knn_pixels', float('nan')):.2f}% "
                     "on pixels (mean over seeds)")
    if sil is not None:
        parts.append(f"silhouette {sil:.3f} vs {f.get('silhouette_pixels', float('nan')):.3f} on pixels")
    return Plot(fig, "; ".join(parts) + ".")

