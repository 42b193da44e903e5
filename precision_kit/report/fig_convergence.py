"""Source 000's convergence figure: test loss by epoch per depth and BI-6's two parts (epochs to
the shallow nets' loss level, the rise of the loss after its minimum) per seed."""

from __future__ import annotations

import math

from .rows import entry, figures, need, param
from .style import Plot, Skip, epoch_axis, jitter, mean, new_figure, plain_log_axis

SRC = "000"
LN10 = math.log(10)


# ---------------------------------------------------------------- BI-6: convergence by depth (the source's Figure 3)


def _bi6_curves(rows) -> dict[int, list[list[float]]]:
    """{depth: [per-seed test-loss curve]} over the BI-6 rows; depths 2 and 4, which every row
    holds (the same runs), are taken once, from the first row."""
    out: dict[int, list[list[float]]] = {}
    for _, curves in entry(rows, "test_loss_curves", "test-loss curves per depth"):
        for depth, seeds in curves.items():
            out.setdefault(int(depth), [c for c in seeds if c])
    return {d: c for d, c in sorted(out.items()) if c}


def _bi6_parts(rows) -> list[tuple[int, str, list[float], list[float]]]:
    """(deep depth, part, shallow values, deep values) per seed of each BI-6 row's two parts."""
    out = []
    for row in sorted(rows, key=lambda r: param(r, "depth") or 0):
        depth, f = param(row, "depth"), figures(row)
        for part in ("epochs_to_level", "loss_rises"):
            values = f.get(part) or {}
            deep = values.get(f"depth{depth}")
            if depth is not None and values.get("shallow") and deep:
                out.append((depth, part, list(values["shallow"]), list(deep)))
    return out


def convergence_by_depth(rows, other=None) -> Plot:
    bi6 = need(rows, "BI-6")["BI-6"]
    curves = _bi6_curves(bi6)
    if not curves:
        raise Skip("the BI-6 rows hold no test-loss curve")
    levels = sorted({round(float(figures(r)["level"]), 6) for r in bi6 if figures(r).get("level") is not None})
    parts = _bi6_parts(bi6)
    panels = 3 if parts else 1
    fig = new_figure(5.6 + 3.0 * (panels - 1), 4.2, title="Test loss per epoch by depth (FP32, Adam)",
                     source=f"{SRC} Figure 3", claims=["BI-6"])
    axes = fig.subplots(1, panels, squeeze=False, width_ratios=[2.0] + [1.0] * (panels - 1))[0]
    ax, n_ep = axes[0], max(len(c) for seeds in curves.values() for c in seeds)
    for k, (depth, seed_curves) in enumerate(curves.items()):
        color = f"C{k}"
        for c in seed_curves:
            ax.plot(range(1, len(c) + 1), c, color=color, alpha=0.25, lw=0.7)
        means = [mean([c[e] for c in seed_curves if e < len(c)]) for e in range(n_ep)]
        ax.plot(range(1, n_ep + 1), [float("nan") if m is None else m for m in means], color=color, lw=2,
                marker="o", ms=3, label=f"depth {depth} (mean of {len(seed_curves)} seeds)")
    for i, level in enumerate(levels):
        ax.axhline(level, color="black", ls="--", lw=1,
                   label=f"level {level:.3f} (reached by every shallow run)" if i == 0 else None)
    ax.set(title="test loss (thin: single seeds)", ylabel="test loss (cross-entropy, nats; log scale)", yscale="log")
    plain_log_axis(ax.yaxis)
    epoch_axis(ax, n_ep)
    ax.legend(loc="best")
    if parts:
        _bi6_part_panel(axes[1], [p for p in parts if p[1] == "epochs_to_level"], n_ep,
                        "(a) epochs to the level", "epochs (never reached: E + 1)")
        _bi6_part_panel(axes[2], [p for p in parts if p[1] == "loss_rises"], n_ep,
                        "(b) summed test-loss rises", "nats")
    note = ("Thick lines: mean test loss per epoch over the seeds of each depth (depths 2 and 4 are the shallow "
            "reference, shared by the depth-8 and depth-10 cases); dashed: the level, the largest of the shallow "
            "runs' lowest test losses, so every shallow run reaches it. The claim has two parts, per paired seed, "
            "deep against the mean of depths 2 and 4: (a) slower, the epochs until the test loss first reaches the "
            "level (a run that never does counts E + 1); (b) less stable, the summed epoch-to-epoch rises of the "
            "test loss (0 for a curve that never rises). Both must hold.")
    if len(levels) > 1:
        note += " The two cases' levels differ because a seed with a diverged run is left out of its case."
    return Plot(fig, note)


def _bi6_part_panel(ax, parts, n_ep: int, title: str, ylabel: str) -> None:
    """Per-seed values, shallow (mean of depths 2 and 4) and deep side by side, paired seeds joined."""
    ticks, labels = [], []
    for k, (depth, _, shallow, deep) in enumerate(parts):
        x0, x1 = 2.5 * k, 2.5 * k + 1
        for s, d in zip(shallow, deep, strict=False):
            ax.plot([x0, x1], [s, d], color="grey", lw=0.6, alpha=0.5)
        for x, values, color in ((x0, shallow, "C0"), (x1, deep, "C3")):
            ax.scatter([x + j for j in jitter(len(values), 0.08)], values, color=color, s=12, alpha=0.7, zorder=3)
            ax.hlines(mean(values), x - 0.25, x + 0.25, color=color, lw=2.5, zorder=4)
        ticks += [x0, x1]
        labels += ["2 & 4", f"{depth}"]
    ax.set_xticks(ticks, labels)
    ax.set(title=title, xlabel="depth (dots: seeds, bar: mean)", ylabel=ylabel)
    if "epochs" in ylabel:
        ax.set_ylim(0, n_ep + 1.5)
