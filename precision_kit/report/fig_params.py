"""Figures of source 001 (precision of parameters): times per dtype (its Figure 5), clipping
sweeps (Figures 7–9), weight histograms before and after rounding (Figures 10–11) and
accuracy vs decimals retained (Figure 12)."""

from __future__ import annotations

import statistics

from .rows import accuracies, entry, figures, need, param
from .style import PRECISION_COLORS, Plot, Skip, jitter, mean, new_figure, plain_log_ticks

SRC = "001"


def times_per_dtype(rows, other=None) -> Plot:
    sz2 = need(rows, "SZ-2")["SZ-2"]
    row, seconds = entry(sz2, "seconds", "times per dtype")[0]
    f = figures(row)
    ratios = f.get("ratios_to_fp32") or {}
    dtypes = [d for d in ("fp64", "fp32", "fp16", "bf16") if d in seconds] + sorted(
        set(seconds) - {"fp64", "fp32", "fp16", "bf16"})
    steps = f.get("max_steps")
    fig = new_figure(9, 3.8, title="Training and evaluation time per dtype", source=f"{SRC} Figure 5",
                     claims=["SZ-2"])
    axes = fig.subplots(1, 2)
    parts = (("train", f"training: one epoch{f' capped at {steps} steps' if steps else ''}"),
             ("inference", "evaluation: 10,000 test images"))
    for ax, (part, title) in zip(axes, parts, strict=True):
        for i, d in enumerate(dtypes):
            values = seconds[d][part]
            med = statistics.median(values)
            ax.bar(i, med, color=PRECISION_COLORS.get(d, "C7"), alpha=0.75, width=0.6)
            ax.scatter([i + x for x in jitter(len(values), 0.15)], values, color="black", s=10, zorder=3)
            r = (ratios.get(d) or {}).get(part)
            label = "reference" if d == "fp32" else (f"×{r['ratio']:.2f}" if r else "")
            ax.annotate(label, (i, max(values)), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)
        ax.set_xticks(range(len(dtypes)), dtypes)
        ax.set(title=title, ylabel="seconds (median of rounds; dots: rounds)")
        ax.margins(y=0.15)
    note = ("All dtypes timed in the same process in alternating rounds; labels: geometric-mean ratio to fp32. "
            "Pure dtypes (weights, activations, gradients and optimizer state in that dtype).")
    return Plot(fig, note)


def clip_sweep(rows, other=None) -> Plot:
    sz4 = need(rows, "SZ-4")["SZ-4"]
    modes: dict[str, dict] = {}
    for row in sz4:
        mode, value = param(row, "mode"), param(row, "clip")
        if mode is None or value is None:
            continue
        value = float(value)
        f, m = figures(row), modes.setdefault(mode, {"curve": {}, "seeds": {}, "train_s": {}, "eval_s": {}})
        m["curve"].update({float(k): v for k, v in (f.get("curve_mean_accuracy") or {}).items()})
        m["train_s"].update({float(k): v for k, v in (f.get("curve_train_seconds") or {}).items()})
        m["seeds"][value] = {p: accuracies(row, p) for p in ("fp32", "amp-fp16")}
        if row.get("timing"):
            m["eval_s"][value] = row["timing"]["median_seconds"]
    if not modes:
        raise Skip("no SZ-4 case names a clipping mode and value")
    has_time = any(m["train_s"] or m["eval_s"] for m in modes.values())
    names = sorted(modes)
    fig = new_figure(4.8 * len(names), 3.6 * (1 + has_time), title="Accuracy and time vs gradient-clip value",
                     source=f"{SRC} Figures 7–9", claims=["SZ-4"])
    axes = fig.subplots(1 + has_time, len(names), squeeze=False)
    for col, mode in enumerate(names):
        m, ax = modes[mode], axes[0][col]
        for p in ("fp32", "amp-fp16"):
            color = PRECISION_COLORS[p]
            xs = sorted(m["curve"])
            ax.plot(xs, [m["curve"][x].get(p) for x in xs], color=color, marker="o", label=f"{p} (mean)")
            for x, seeds in m["seeds"].items():
                ax.scatter([x * (1 + 0.04 * j) for j in jitter(len(seeds[p]), 1.0)], seeds[p], color=color,
                           s=10, alpha=0.5)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, list(m["curve"]) + list(m["seeds"]))
        ax.set(title=f"{mode} clipping: test accuracy", xlabel="clip value (log scale)", ylabel="test accuracy (%)")
        ax.legend(title="dots: single seeds", loc="best")
        if has_time:
            _time_panel(axes[1][col], mode, m)
    note = ("Dots: single seeds; lines: means over seeds of the clip values this profile ran. "
            "amp-fp16 = autocast + GradScaler; clipping applied to the unscaled gradients.")
    if not any(m["train_s"] for m in modes.values()):
        note += " Training times are not in this run (SZ-4 rows hold no 'curve_train_seconds')."
    return Plot(fig, note)


def _time_panel(ax, mode: str, m: dict) -> None:
    for p in ("fp32", "amp-fp16"):
        xs = sorted(x for x, v in m["train_s"].items() if v.get(p) is not None)
        if xs:
            ax.plot(xs, [m["train_s"][x][p] for x in xs], color=PRECISION_COLORS[p], marker="o",
                    label=f"{p} training (s per run)")
    xs = sorted(m["eval_s"])
    if xs:
        ax.plot(xs, [m["eval_s"][x] for x in xs], color="black", ls="--", marker="s",
                label="amp-fp16 evaluation (benchmark median)")
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis, list(m["train_s"]) + list(m["eval_s"]))
    ax.set(title=f"{mode} clipping: time", xlabel="clip value (log scale)", ylabel="seconds")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # from zero: a small difference must look small
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.legend(loc="lower right")


def accuracy_vs_decimals(rows, other=None) -> Plot:
    sz5 = need(rows, "SZ-5")["SZ-5"]
    points = sorted(((param(r, "decimals"), r) for r in sz5 if param(r, "decimals") is not None
                     and accuracies(r, "rounded")), key=lambda p: p[0])
    if not points:
        raise Skip("no SZ-5 row holds rounded accuracies")
    fig = new_figure(6.5, 4.2, title="Test accuracy vs decimal places retained in the weights",
                     source=f"{SRC} Figure 12", claims=["SZ-5"])
    ax = fig.subplots()
    full = mean([a for _, r in points for a in accuracies(r, "fp32")])
    for d, r in points:
        acc = accuracies(r, "rounded")
        ax.scatter([d + x for x in jitter(len(acc), 0.08)], acc, color=PRECISION_COLORS["rounded"], s=12, alpha=0.6)
    ax.plot([d for d, _ in points], [mean(accuracies(r, "rounded")) for _, r in points], marker="o",
            color=PRECISION_COLORS["rounded"], label="rounded weights (mean; dots: seeds)")
    if full is not None:
        ax.axhline(full, color=PRECISION_COLORS["fp32"], ls="--", label=f"unrounded fp32 (mean {full:.2f}%)")
    ax.axhline(10, color="grey", ls=":", label="chance (10%)")
    labels = []
    for d, r in points:
        enc = (figures(r).get("encoding") or [{}])[0]
        bits = enc.get("bits_per_weight")
        labels.append(f"{d}\n{bits:.1f} b/w packed\n{enc.get('paper_bits_per_weight')} b/w paper" if bits else str(d))
    ax.set_xticks([d for d, _ in points], labels)
    ax.set_xlim(min(d for d, _ in points) - 0.5, max(d for d, _ in points) + 0.5)
    ax.set_ylim(0, 100)
    ax.set(xlabel="decimal places retained (bits per weight: measured packed / source's accounting)",
           ylabel="test accuracy (%)")
    ax.legend(loc="lower right")
    return Plot(fig, "Each seed's trained fp32 model rounded to d decimals (weights and biases), evaluated in fp32.")


def weight_histograms(rows, other=None) -> Plot:
    sz6 = need(rows, "SZ-6")["SZ-6"]
    row, counts = entry(sz6, "histogram_counts", "weight histograms")[0]
    f = figures(row)
    edges = f["histogram_edges"]
    layers = [name for name in counts if name.endswith("weight")] or list(counts)
    rounded = f.get("rounded_value_counts") or {}
    stages = [None] + sorted(rounded, reverse=True)
    fig = new_figure(max(7.0, 3.4 * len(layers)), 2.5 * len(stages) + 0.7, title="Per-layer weight distributions "
                     + ("before and after rounding" if rounded else "of the trained fp32 models"),
                     source=f"{SRC} Figures 10–11", claims=["SZ-6", "SZ-5"])
    axes = fig.subplots(len(stages), len(layers), squeeze=False)
    span = max(0.55, (f.get("max_abs") or 0.5) + 0.05)
    for i, d in enumerate(stages):
        for j, layer in enumerate(layers):
            ax = axes[i][j]
            if d is None:
                ax.stairs(counts[layer][1:-1], edges, fill=True, color=PRECISION_COLORS["fp32"], alpha=0.8)
                ax.set_title(f"{layer}: trained fp32")
                ylabel = "count per 0.05 bin"
            else:
                vc = rounded[d][layer]
                ax.bar([u / 10 ** int(d) for u in vc["units"]], vc["counts"], width=0.8 / 10 ** int(d),
                       color=PRECISION_COLORS["rounded"])
                ax.set_title(f"{layer}: {d} decimal{'s' if d != '1' else ''}, {len(vc['units'])} values")
                ylabel = "count per value"
            for x in (-0.5, 0.5):
                ax.axvline(x, color="grey", ls="--", lw=0.8)
            ax.set_xlim(-span, span)
            if j == 0:
                ax.set_ylabel(ylabel)
            if i == len(stages) - 1:
                ax.set_xlabel("weight value")
    note = "Counts summed over the seeds' trained models; dashed lines: the claimed bound ±0.5."
    if not rounded:
        note += " After-rounding histograms are not in this run (SZ-6 rows hold no 'rounded_value_counts')."
    return Plot(fig, note)
