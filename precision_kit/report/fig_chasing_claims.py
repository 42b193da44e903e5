"""Figures of single source-003 claims ("Chasing 99%"): test accuracy vs epoch to 500 epochs
(CH-7) and dead ReLU units vs learning rate (CH-9). The figures across the MLP variations
are in `fig_chasing`, the time per sample vs batch size per device (CH-11) in `fig_throughput`."""

from __future__ import annotations

import math
import re

from .rows import entry, figures, need
from .style import Plot, Skip, epoch_axis, fmt, jitter, mean, new_figure

SRC = "003"


# ---------------------------------------------------------------- CH-7: accuracy vs epoch (Version 6)

PAPER_EPOCHS = 500  # the source's Version 6 budget


def _stated_epochs(stated: dict) -> list[tuple[int, float]]:
    """(epoch, accuracy) of the source's numbers keyed "epoch N"."""
    out = []
    for key, value in (stated or {}).items():
        found = re.fullmatch(r"epoch (\d+)", str(key))
        if found and isinstance(value, (int, float)):
            out.append((int(found.group(1)), float(value)))
    return sorted(out)


def accuracy_vs_epoch(rows, other=None) -> Plot:
    ch7 = need(rows, "CH-7")["CH-7"]
    row, curve = entry(ch7, "mean_test_accuracy_per_epoch", "test accuracy per epoch")[0]
    f = figures(row)
    ys = [float("nan") if a is None else float(a) for a in curve]
    if not any(a == a for a in ys):
        raise Skip("the CH-7 row's test accuracy per epoch holds no value (every seed diverged)")
    n_ep = len(ys)
    epochs = f.get("epochs") or n_ep
    early = f.get("early_epoch") or epochs // 5
    stars = [(e, a) for e, a in _stated_epochs(f.get("stated")) if 1 <= e <= n_ep]
    fig = new_figure(8, 4.4, title="Test accuracy vs epoch (2 × 50 MLP, lr 1e-4, mean over seeds)",
                     source=f"{SRC} Version 6", claims=["CH-7"])
    ax = fig.subplots()
    xs = list(range(1, n_ep + 1))
    ax.plot(xs, ys, color="C0", lw=1.5, label="test accuracy (mean over seeds)")
    marked = []
    for e, what in ((early, "early"), (epochs, "final")):
        if 1 <= e <= n_ep and ys[e - 1] == ys[e - 1] and e not in [m[0] for m in marked]:
            marked.append((e, what))
            ax.axvline(e, color="grey", ls=":", lw=1)
            ax.scatter([e], [ys[e - 1]], color="C0", s=40, edgecolor="black", zorder=3)
            ax.annotate(f"{what}: epoch {e}\n{ys[e - 1]:.2f}%", (e, ys[e - 1]), textcoords="offset points",
                        xytext=(-6, -24), ha="right" if e == n_ep else "left", fontsize=7)
    for i, (e, a) in enumerate(stars):
        ax.scatter([e], [a], color="C3", marker="*", s=110, zorder=4,
                   label="source's single run" if i == 0 else None)
        near_end = e > 0.8 * n_ep
        ax.annotate(f"source {a:g}% (epoch {e})", (e, a), textcoords="offset points", xytext=(-6 if near_end else 6, 7),
                    ha="right" if near_end else "left", fontsize=7, color="C3")
    finite = [a for a in ys if a == a]
    tail = [a for a in ys[n_ep // 10:] if a == a] or finite
    lo = min(tail + [a for _, a in stars]) - 0.3
    hi = max(finite + [a for _, a in stars]) + 0.3
    ax.set_ylim(lo, hi)
    if n_ep <= 30:
        epoch_axis(ax, n_ep)
    else:
        ax.set_xlim(0, n_ep * 1.02)
        ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower right")
    note = (f"Mean test accuracy over the seeds at each epoch end, epochs 1 … {n_ep}; dotted: the two epochs the "
            f"claim compares (epoch {early} and epoch {epochs}, the same 1:5 ratio as the source's 100 and 500); "
            "stars: the source's single-run numbers within the plotted epochs.")
    if min(finite) < lo:
        note += f" The y axis starts at {lo:.1f}%: the first epochs lie below it."
    if epochs < PAPER_EPOCHS:
        note += (f" This run's quick profile stops at {epochs} epochs, so it cannot show the claim (overfitting "
                 f"between epoch 100 and epoch {PAPER_EPOCHS}: the source's 97.44% → 97.2%); the paper profile "
                 f"trains {PAPER_EPOCHS}.")
    train = [a for a in f.get("train_accuracy_eval") or [] if a is not None]
    if train:
        stated_train = (f.get("stated") or {}).get("train")
        note += (f" Train accuracy at epoch {epochs} (eval mode, full train split): {fmt(mean(train))}% mean of "
                 f"{len(train)} seeds, min {min(train):.2f}%" + (f" (source: {stated_train:g}%)." if
                                                                 isinstance(stated_train, (int, float)) else "."))
    return Plot(fig, note)


# ---------------------------------------------------------------- CH-9: dead ReLU units vs lr (Versions 4, 5)

LARGE_SHARE = 10.0  # CH-9's "large share" (percent), where a row does not record its own
STATED_UP_TO = 40.0  # the source's "up to 40% of the ReLU network can silently die"
DEAD_PREFIX = "dead_percent_lr"


def _numbers(values) -> list[float]:
    return [float(v) for v in values or [] if isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v)]


def _lr_label(lr: float) -> str:
    """1e-2 for 0.01, 1e-4 for 0.0001; other values as plain numbers."""
    mantissa, exponent = f"{lr:e}".split("e")
    return f"1e{int(exponent)}" if float(mantissa) == 1.0 else f"{lr:g}"


def _dead_shares(f: dict) -> list[tuple[float, str, list[float], list[list[float]]]]:
    """(lr, key suffix, percent dead of all hidden units per seed, [percent dead per seed] per
    hidden layer) of each learning rate the CH-9 figures hold, by increasing lr."""
    out = []
    for name, values in f.items():
        if not name.startswith(DEAD_PREFIX):
            continue
        suffix = "lr" + name.removeprefix(DEAD_PREFIX)  # "lr0.01": the key of the per-layer entry too
        try:
            lr = float(suffix[2:])
        except ValueError:
            continue
        overall = _numbers(values)
        if not overall or not math.isfinite(lr) or lr <= 0:
            continue
        per_seed = [_numbers(layers) for layers in f.get(f"dead_percent_per_layer_{suffix}") or []
                    if isinstance(layers, list)]
        n_layers = min((len(layers) for layers in per_seed), default=0)
        by_layer = [[layers[k] for layers in per_seed] for k in range(n_layers)]
        out.append((lr, suffix, overall, by_layer))
    return sorted(out)


def dead_units_vs_lr(rows, other=None) -> Plot:
    ch9 = need(rows, "CH-9")["CH-9"]
    row, _ = entry(ch9, f"{DEAD_PREFIX}0.01", "dead-unit shares at lr 1e-2")[0]
    f = figures(row)
    arms = _dead_shares(f)
    if len(arms) < 2:
        raise Skip("the CH-9 row holds the dead-unit shares of one learning rate only; the claim compares lr 1e-2 "
                   "with lr 1e-4 ('dead_percent_lr0.0001')")
    threshold = f.get("large_share_threshold_percent")
    threshold = float(threshold) if isinstance(threshold, (int, float)) else LARGE_SHARE
    stated = f.get("stated_up_to_percent")
    stated = float(stated) if isinstance(stated, (int, float)) else STATED_UP_TO
    widths = [w for w in f.get("hidden_widths") or [] if isinstance(w, int)]
    n_layers = min(len(by_layer) for *_, by_layer in arms)
    panels = 2 if n_layers >= 2 else 1
    fig = new_figure(4.6 + 4.2 * (panels - 1), 4.4, title="Dead ReLU units vs learning rate (2 × 50 MLP, Adam)",
                     source=f"{SRC} Versions 4, 5", claims=["CH-9"])
    axes = fig.subplots(1, panels, squeeze=False, width_ratios=[1.0] * panels)[0]
    labels = [f"lr {_lr_label(lr)}" for lr, *_ in arms]
    top = max([stated] + [p for *_, overall, by_layer in arms for p in overall + [v for vs in by_layer for v in vs]])
    ax = axes[0]
    n_pairs = min(len(overall) for _, _, overall, _ in arms)
    offsets = [jitter(len(overall)) for _, _, overall, _ in arms]
    for seed in range(n_pairs):  # the same seed at each learning rate (CH-9 pairs them)
        ax.plot([i + offsets[i][seed] for i in range(len(arms))], [a[2][seed] for a in arms], color="grey",
                lw=0.6, alpha=0.4)
    for i, (_, _, overall, _) in enumerate(arms):
        color = f"C{3 if i == len(arms) - 1 else 0}"
        ax.scatter([i + d for d in offsets[i]], overall, color=color, s=16, alpha=0.75, zorder=3)
        ax.hlines(mean(overall), i - 0.3, i + 0.3, color=color, lw=2.5, zorder=4)
    share = f.get("judgement_large_share")
    interval = share.get("interval") if isinstance(share, dict) else None
    lr2 = next((i for i, (lr, *_) in enumerate(arms) if math.isclose(lr, 0.01)), None)
    if isinstance(interval, dict) and lr2 is not None and all(
            isinstance(interval.get(k), (int, float)) for k in ("estimate", "low", "high")):
        est = interval["estimate"]
        ax.errorbar([lr2 + 0.38], [est], yerr=[[est - interval["low"]], [interval["high"] - est]], color="black",
                    capsize=3, lw=1, fmt="none", zorder=4,
                    label=f"lr 1e-2: {interval.get('confidence', 0.95):.0%} bounds of the mean")
    total = f" of all {sum(widths)} hidden units" if widths else " of all hidden units"
    ax.set_xticks(range(len(arms)), labels)
    ax.set(title=f"dead share{total}\n(dots: seeds, bar: mean)", xlabel="learning rate",
           ylabel="dead hidden units (%)")
    if panels == 2:
        ax = axes[1]
        width = 0.8 / n_layers
        for i, (_, _, _, by_layer) in enumerate(arms):
            for k in range(n_layers):
                x = i + (k - (n_layers - 1) / 2) * width
                values = by_layer[k]
                ax.scatter([x + d for d in jitter(len(values), 0.25 * width)], values, color=f"C{k + 4}", s=12,
                           alpha=0.75, zorder=3, label=_layer_label(k, widths) if i == 0 else None)
                ax.hlines(mean(values), x - 0.4 * width, x + 0.4 * width, color=f"C{k + 4}", lw=2.5, zorder=4)
        ax.set_xticks(range(len(arms)), labels)
        ax.set(title="dead share per hidden layer\n(dots: seeds, bar: mean)", xlabel="learning rate",
               ylabel="dead units of the layer (%)")
    for ax in axes:
        ax.axhline(threshold, color="black", ls="--", lw=1, label=f"{threshold:g}%: a large share (the claim's bar)")
        ax.axhline(stated, color="C3", ls=":", lw=1.2, label=f"{stated:g}%: the source's 'up to'")
        ax.set_ylim(-0.025 * top, top * 1.12 + 1)  # dots at 0 % stay visible
        ax.set_xlim(-0.6, len(arms) - 0.4)
        ax.legend(loc="upper left", fontsize=7)
    means = "; ".join(f"{label}: {mean(overall):.1f}% mean of {len(overall)} seeds (range "
                      f"{min(overall):.1f}–{max(overall):.1f}%)" for label, (_, _, overall, _) in zip(labels, arms,
                                                                                                   strict=True))
    epochs = f.get("epochs")
    note = ("A dead unit outputs 0 for every one of the training images (all 60,000, eval mode) after training"
            + (f" ({epochs} epochs)" if isinstance(epochs, int) else "") + "; the share is over all hidden units"
            + (" (hidden widths " + " + ".join(map(str, widths)) + ")" if widths else "")
            + ". Measured on the final weights (the source speaks of early training). Grey lines join the same seed "
            f"at each learning rate. Dashed: {threshold:g}%, the share the claim calls large (its one-sided 95% "
            f"lower bound at lr 1e-2 must reach it); dotted: the source's 'up to {stated:g}%'. Means: {means}.")
    lines = [j.get("line") for j in (f.get("judgement_more_dead"), share) if isinstance(j, dict)]
    if any(isinstance(line, str) for line in lines):
        note += " Judged: " + "; ".join(line for line in lines if isinstance(line, str)) + "."
    return Plot(fig, note)


def _layer_label(k: int, widths: list[int]) -> str:
    return f"hidden layer {k + 1}" + (f" ({widths[k]} units)" if k < len(widths) else "")
