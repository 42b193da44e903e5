"""Figures across sources: model size vs accuracy for fp32 / int8 / rounded models, and the
time of each timed case on this run's device against another run's (CPU vs GPU)."""

from __future__ import annotations

from .rows import accuracies, of, param, size, sizes
from .style import PRECISION_COLORS, Plot, Skip, mean, new_figure, plain_log_ticks


def _size_points(rows) -> list[tuple[str, str, float, float]]:
    """(family, kind, kilobytes, mean accuracy) of every model whose size and accuracy the run measured."""
    points = []
    bi2 = {(param(r, "depth"), param(r, "backend")): r for r in of(rows, "BI-2")}
    for row in of(rows, "BI-3"):
        depth, backend = param(row, "depth"), param(row, "backend")
        sized = bi2.get((depth, backend)) if depth is not None else None
        if sized is None:
            continue
        family = f"000 MLP depth {depth}"
        for kind, arm in (("fp32", "fp32"), (f"int8 ({backend})", "int8")):
            nbytes = size(sized, f"{arm}_serialized")
            if nbytes is not None:
                points.append((family, kind, nbytes / 1e3, mean(accuracies(row, arm))))
    for row in of(rows, "SZ-5"):
        d, rounded = param(row, "decimals"), accuracies(row, "rounded")
        packed = [v for k, v in sizes(row).items() if k.startswith("packed_seed")]
        fp32 = size(row, "fp32_serialized")
        if d is None or not packed or fp32 is None or not rounded:
            continue
        family = "001 MLP 128-64"
        points.append((family, "fp32", fp32 / 1e3, mean(accuracies(row, "fp32"))))
        points.append((family, f"rounded {d} dp", mean(packed) / 1e3, mean(rounded)))
    return [p for p in dict.fromkeys(points) if p[3] is not None]


def size_vs_accuracy(rows, other=None) -> Plot:
    points = _size_points(rows)
    if not points:
        raise Skip("no model with both a measured size and an accuracy (needs BI-2 with BI-3, or SZ-5)")
    fig = new_figure(8, 5, title="Model size vs test accuracy: fp32, int8 and rounded models", source="000, 001",
                     claims=["BI-2", "BI-3", "SZ-5"])
    ax = fig.subplots()
    families = sorted(dict.fromkeys(p[0] for p in points), key=lambda f: (f[:3], len(f), f))
    markers = {"fp32": "o", "int8": "s", "rounded": "^"}
    for k, family in enumerate(families):
        mine = sorted((p for p in points if p[0] == family), key=lambda p: p[2])
        ax.plot([p[2] for p in mine], [p[3] for p in mine], color=f"C{k}", lw=0.8, alpha=0.5)
        for _, kind, kb, acc in mine:
            ax.scatter([kb], [acc], color=f"C{k}", marker=markers[kind.split(" ")[0]], s=40, edgecolor="black",
                       zorder=3)
            if kind.startswith("rounded"):
                ax.annotate(kind.removeprefix("rounded "), (kb, acc), textcoords="offset points", xytext=(0, 7),
                            fontsize=7, ha="center")
        ax.plot([], [], color=f"C{k}", lw=3, label=family)
    for kind, marker in markers.items():
        ax.scatter([], [], marker=marker, color="white", edgecolor="black", label=kind)
    ax.set_xscale("log")
    lo, hi = min(p[2] for p in points), max(p[2] for p in points)
    plain_log_ticks(ax.xaxis, [t for t in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if lo / 2 <= t <= hi * 2])
    ax.margins(y=0.08)
    ax.set(xlabel="size on disk (kB, log scale; rounded: packed encoding)", ylabel="test accuracy (%, mean of seeds)")
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    note = ("fp32 and int8: serialized state_dict bytes (seed 0's model; sizes do not depend on the seed); rounded: "
            "the measured packed encoding of the rounded weights. Accuracies are means over the seeds.")
    return Plot(fig, note)


def _timed(rows) -> dict[str, tuple[str, float]]:
    return {f"{r['claim']}[{r['case']}]": (r["device"], r["timing"]["median_seconds"])
            for r in rows if r.get("timing") and r["timing"].get("median_seconds")}


def device_times(rows, other=None) -> Plot:
    if other is None:
        raise Skip("needs a second run (--other OTHER.json), e.g. the same benchmark on a GPU")
    mine, theirs = _timed(rows), _timed(other)
    shared = sorted(k for k in mine.keys() & theirs.keys())
    if not shared:
        raise Skip("the two runs share no timed case (rows need 'timing' with median seconds)")
    dev_a, dev_b = mine[shared[0]][0], theirs[shared[0]][0]
    label_a, label_b = (f"this run ({dev_a})", f"other run ({dev_b})") if dev_a == dev_b else (dev_a, dev_b)
    fig = new_figure(9, 0.9 + 0.32 * len(shared), title=f"Time per timed case: {label_a} vs {label_b}",
                     source="all", claims=sorted({k.split("[")[0] for k in shared}))
    ax = fig.subplots()
    ys = range(len(shared))
    ax.barh([y - 0.2 for y in ys], [mine[k][1] for k in shared], height=0.4, label=label_a,
            color=PRECISION_COLORS["fp32"])
    ax.barh([y + 0.2 for y in ys], [theirs[k][1] for k in shared], height=0.4, label=label_b,
            color=PRECISION_COLORS["int8"])
    for y, k in zip(ys, shared, strict=True):
        ratio = mine[k][1] / theirs[k][1]
        ax.annotate(f"×{ratio:.3g}", (max(mine[k][1], theirs[k][1]), y), textcoords="offset points",
                    xytext=(4, -3), fontsize=7)
    ax.set_yticks(list(ys), shared)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set(xlabel="median seconds of the benchmarked call (log scale)")
    ax.legend(loc="lower right")
    note = (f"Absolute wall time of each case's timed call on each machine; labels: {label_a} / {label_b}. "
            "Machines differ, so read the ratios as this pair of machines only.")
    return Plot(fig, note)
