"""Figures of source 000 (depth and precision): test loss by depth (its Figure 2), FP32 vs
FP16 vs INT8 at a fixed depth (Figure 3) and the metrics tables per precision (Figure 4).
BI-6's convergence by depth is in `fig_convergence`."""

from __future__ import annotations

import math

from .rows import accuracies, entry, figures, need, of, param, per_seed
from .style import PRECISION_COLORS, Plot, Skip, Table, dodge, epoch_axis, fmt, jitter, mean, new_figure, plain_log_axis

SRC = "000"
LN10 = math.log(10)


def _by_depth_curves(rows) -> dict[str, dict[int, list[list[float]]]]:
    """{setup: {depth: [per-seed test-loss curve]}} merged over the BI-4 rows that name their setup."""
    out: dict[str, dict[int, list[list[float]]]] = {}
    for row, curves in entry(rows, "test_loss_curves", "test-loss curves"):
        setup = param(row, "setup")
        if setup is None:
            continue
        for depth, seeds in curves.items():
            out.setdefault(setup, {})[int(depth)] = seeds
    if not out:
        raise Skip("no BI-4 row names its setup (the case's 'params', recorded by a newer precision_kit; "
                   "re-run the benchmark)")
    return out


def test_loss_by_depth(rows, other=None) -> Plot:
    bi4 = need(rows, "BI-4")["BI-4"]
    curves = _by_depth_curves(bi4)
    setups = sorted(curves, key=lambda s: (s != "adam", s))
    fig = new_figure(5.2 * len(setups), 4.2, title="Test loss vs epochs for each depth (FP32)",
                     source=f"{SRC} Figure 2", claims=["BI-4"])
    axes = fig.subplots(1, len(setups), squeeze=False)[0]
    epochs_max = 1
    for ax, setup in zip(axes, setups, strict=True):
        depths = sorted(curves[setup])
        for k, depth in enumerate(depths):
            seed_curves = [c for c in curves[setup][depth] if c]
            n_ep = max(len(c) for c in seed_curves)
            epochs_max = max(epochs_max, n_ep)
            dx = dodge(k, len(depths), n_ep)
            color = f"C{k}"
            for c in seed_curves:
                ax.plot([e + 1 + dx for e in range(len(c))], c, color=color, alpha=0.3, lw=0.8, marker=".")
            means = [mean([c[e] for c in seed_curves if e < len(c)]) for e in range(n_ep)]
            ax.plot([e + 1 + dx for e in range(n_ep)], means, color=color, lw=2, marker="o",
                    label=f"depth {depth} (mean of {len(seed_curves)} seeds)")
        ax.axhline(LN10, color="grey", ls="--", lw=1, label="ln 10 = 2.303 (chance)")
        ax.set(title=f"setup: {setup}", ylabel="test loss (cross-entropy, nats; log scale)", yscale="log")
        plain_log_axis(ax.yaxis)
        epoch_axis(ax, epochs_max)
        ax.legend(loc="best")
    note = "Thin lines: single seeds; thick: mean over seeds. Depths 2 and 4 are the reference arms of BI-4."
    if epochs_max == 1:
        note += " This run trained one epoch (quick profile), so each curve is a single point."
    return Plot(fig, note)


def _arms_at(rows, depth: int) -> list[tuple[str, str, list[float | None]]]:
    """(label, colour key, test accuracies by seed, None where it diverged) of every precision
    measured at `depth`."""
    arms: dict[str, tuple[str, list[float | None]]] = {}
    for row in of(rows, "BI-1") + of(rows, "BI-3"):
        if param(row, "depth") != depth:
            continue
        arms.setdefault("FP32", ("fp32", per_seed(row, "fp32")))
        if row["claim"] == "BI-1":
            variant = param(row, "precision") or ""
            arms[variant.upper().replace("AMP-", "AMP ")] = (variant, per_seed(row, variant))
        else:
            arms[f"INT8 ({param(row, 'backend')})"] = ("int8", per_seed(row, "int8"))
    order = ("FP32", "AMP FP16", "AMP BF16")
    ranked = sorted(arms.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
    return [(label, key, acc) for label, (key, acc) in ranked if any(a is not None for a in acc)]


def precisions_at_fixed_depth(rows, other=None) -> Plot:
    bi1 = need(rows, "BI-1")["BI-1"]
    depths = sorted({param(r, "depth") for r in bi1} - {None})
    if not depths:
        raise Skip("no BI-1 row names its depth (the case's 'params', recorded by a newer precision_kit; "
                   "re-run the benchmark)")
    with_curves = [r for r in bi1 if figures(r).get("curves")]
    n_rows = 2 if with_curves else 1
    fig = new_figure(max(7.0, 4.6 * len(depths)), 3.6 * n_rows, title="FP32 vs FP16 vs INT8 at fixed depth",
                     source=f"{SRC} Figure 3", claims=["BI-1", "BI-3"])
    axes = fig.subplots(n_rows, len(depths), squeeze=False)
    for col, depth in enumerate(depths):
        ax = axes[0][col]
        arms = _arms_at(rows, depth)
        n_seeds = min((len(a[2]) for a in arms), default=0)
        for seed in range(n_seeds):  # the same seed across precisions (paired arms; none where one diverged)
            if all(a[2][seed] is not None for a in arms):
                ax.plot([i + jitter(len(a[2]))[seed] for i, a in enumerate(arms)], [a[2][seed] for a in arms],
                        color="grey", lw=0.6, alpha=0.4)
        for i, (_, key, acc) in enumerate(arms):
            color = PRECISION_COLORS.get(key, "C7")
            seeds = [(i + d, a) for d, a in zip(jitter(len(acc)), acc, strict=True) if a is not None]
            ax.scatter([x for x, _ in seeds], [a for _, a in seeds], color=color, s=14, alpha=0.7)
            ax.hlines(mean(acc), i - 0.3, i + 0.3, color=color, lw=2.5)
        ax.set_xticks(range(len(arms)), [a[0] for a in arms], rotation=20, ha="right")
        ax.set(title=f"depth {depth}: test accuracy (dots: seeds, bar: mean)", ylabel="test accuracy (%)")
        if with_curves:
            _loss_panel(axes[1][col], rows, depth)
    note = ("Top: per-seed test accuracy of each precision on the same seeds (FP16/BF16: autocast + "
            "GradScaler training; INT8: post-training dynamic quantization of the FP32 model).")
    if with_curves:
        note += " Bottom: mean train loss per epoch; markers at the last epoch: mean test loss."
    else:
        note += (" The loss curves of the source's Figure 3 are not in this run (BI-1 rows hold no "
                 "'curves'; recorded by a newer precision_kit).")
    return Plot(fig, note)


def _loss_panel(ax, rows, depth: int) -> None:
    int8_loss = {}
    for row in of(rows, "BI-3"):
        if param(row, "depth") == depth and figures(row).get("int8_test_loss"):
            int8_loss[param(row, "backend")] = mean(figures(row)["int8_test_loss"])
    curves: dict[str, dict] = {}
    for row in of(rows, "BI-1"):
        if param(row, "depth") == depth:
            curves.update(figures(row).get("curves") or {})
    last = max([1] + [len(s) for c in curves.values() for s in c["train_loss"]])
    n_series = len(curves) + len(int8_loss)
    for k, (arm, c) in enumerate(curves.items()):
        n_ep, dx = max(len(s) for s in c["train_loss"]), dodge(k, n_series, last)
        color = PRECISION_COLORS.get(arm, "C7")
        ax.plot([e + 1 + dx for e in range(n_ep)],
                [mean([s[e] for s in c["train_loss"] if e < len(s)]) for e in range(n_ep)],
                color=color, marker="o", ms=4, label=f"{arm} train")
        ax.scatter([n_ep + dx], [mean([s[-1] for s in c["test_loss"] if s])], color=color, marker="s", s=40,
                   edgecolor="black", zorder=3, label=f"{arm} test")
    for k, (backend, loss) in enumerate(sorted(int8_loss.items()), start=len(curves)):
        ax.scatter([last + dodge(k, n_series, last) + (0.1 * k if last > 1 else 0)], [loss],
                   color=PRECISION_COLORS["int8"], marker="D", s=36, edgecolor="black", zorder=3,
                   label=f"int8 ({backend}) test")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7)
    ax.set(title=f"depth {depth}: loss", ylabel="loss (cross-entropy, nats)")
    epoch_axis(ax, last)
    ax.set_xlim(0.5, last + 0.5 + (0.1 * n_series if last > 1 else 0))


# ---------------------------------------------------------------- Figure 4: the tables

COLUMNS = ("Layers", "Train Loss", "Train Acc (%)", "Test Loss", "Test Acc (%)", "seeds")


def _last(curves: dict | None, name: str) -> float | None:
    seed_curves = (curves or {}).get(name) or []
    return mean([s[-1] for s in seed_curves if s and s[-1] is not None])


def metrics_tables(rows) -> list[Table]:
    """FP32 / FP16 / BF16 / INT8 tables by depth in the source's layout (means over seeds)."""
    tables: dict[str, dict[int, list]] = {"FP32": {}, "FP16 (AMP)": {}, "BF16 (AMP)": {}, "INT8 (torch.ao)": {}}

    def put(table: str, depth: int, values: list) -> None:
        old = tables[table].get(depth, [None] * 5)
        tables[table][depth] = [o if o is not None else v for o, v in zip(old, values, strict=True)]

    for row in of(rows, "BI-3"):
        d, f = param(row, "depth"), figures(row)
        if d is None:
            continue
        c, fp32, int8 = (f.get("curves") or {}).get("fp32"), accuracies(row, "fp32"), accuracies(row, "int8")
        put("FP32", d, [_last(c, "train_loss"), _last(c, "train_acc"), _last(c, "test_loss"), mean(fp32), len(fp32)])
        if param(row, "backend") == "torch.ao":
            put("INT8 (torch.ao)", d, [None, None, mean(f.get("int8_test_loss") or []), mean(int8), len(int8)])
    for row in of(rows, "BI-1"):
        d, f, arm = param(row, "depth"), figures(row), param(row, "precision")
        c, acc = (f.get("curves") or {}).get(arm), accuracies(row, arm) if arm else []
        table = {"amp-fp16": "FP16 (AMP)", "amp-bf16": "BF16 (AMP)"}.get(arm)
        if table and d is not None:
            put(table, d, [_last(c, "train_loss"), _last(c, "train_acc"), _last(c, "test_loss"), mean(acc), len(acc)])
    for row in of(rows, "BI-4"):  # FP32 test and train loss from BI-4 where BI-3 holds no curves
        if param(row, "setup") != "adam" or param(row, "depth") is None:
            continue
        f, d = figures(row), param(row, "depth")
        for depth, seed_curves in (f.get("test_loss_curves") or {}).items():
            put("FP32", int(depth), [None, None, mean([c[-1] for c in seed_curves if c]), None, None])
        put("FP32", d, [mean(f.get("deep_final_train_loss") or []), None, None, None, None])
    return [
        Table(f"===== {name} Table =====", COLUMNS,
              [[str(d)] + [fmt(v, 4 if i in (0, 2) else 2) for i, v in enumerate(vals[:4])] + [fmt(vals[4], 0)]
               for d, vals in sorted(by_depth.items())])
        for name, by_depth in tables.items() if by_depth
    ]


def metrics_table(rows, other=None) -> Plot:
    need(rows, "BI-3")
    tables = metrics_tables(rows)
    if not tables:
        raise Skip("no BI-1 / BI-3 / BI-4 figures to tabulate")
    height = 0.9 + sum(0.45 + 0.22 * (len(t.rows) + 1) for t in tables)
    fig = new_figure(7.5, height, title="Summary of metrics per precision and depth",
                     source=f"{SRC} Figure 4", claims=["BI-1", "BI-3", "BI-4"])
    axes = fig.subplots(len(tables), 1, squeeze=False, height_ratios=[len(t.rows) + 1 for t in tables])
    for ax, table in zip(axes[:, 0], tables, strict=True):
        ax.axis("off")
        ax.set_title(table.title, family="monospace", loc="left")
        t = ax.table(cellText=table.rows, colLabels=list(table.headers), loc="center", cellLoc="right")
        t.auto_set_font_size(False)
        t.set_fontsize(8)
        t.scale(1, 1.15)
        for (r, _), cell in t.get_celld().items():
            if r == 0:
                cell.set_facecolor("#e8e8e8")
                cell.set_text_props(fontweight="bold")
    note = ("Means over seeds. Train loss / train accuracy: running means over the last training epoch; "
            "— = not measured in this run (INT8 is post-training quantization: it has no training run).")
    return Plot(fig, note, tables)
