"""Figures of source 003 ("Chasing 99%", MLP variations): accuracy of every arm against the
source's single-run numbers, the confusion matrices and the loss curves of each variation,
test accuracy vs epoch to 500 epochs (CH-7), dead ReLU units vs learning rate (CH-9) and the
time per sample vs batch size (CH-11)."""

from __future__ import annotations

import math
import re
import statistics

from .rows import all_accuracies, entry, figures, need, of, param
from .style import Plot, Skip, epoch_axis, fmt, jitter, mean, new_figure, plain_log_axis, plain_log_ticks

SRC = "003"
CLAIMS = ("CH-1", "CH-2", "CH-3", "CH-4", "CH-5", "CH-6")


def _ch_rows(rows):
    found = [r for r in rows if r["claim"] in CLAIMS]
    if not found:
        raise Skip("the run has no CH-1 … CH-6 case")
    return sorted(found, key=lambda r: (r["claim"], r["case"]))


def _stated(f: dict, arm: str) -> float | None:
    """The source's number for an arm: one number is the case arm's (CH-1, CH-4), never the
    2 × 50 reference's; a dict is keyed by arm."""
    stated = f.get("stated")
    if isinstance(stated, (int, float)):
        return None if arm == "depth2" else float(stated)
    return (stated or {}).get(arm)


def accuracy_vs_stated(rows, other=None) -> Plot:
    arms: dict[tuple, tuple[str, list[float], float | None]] = {}
    for row in _ch_rows(rows):
        f = figures(row)
        epochs = f.get("epochs") or param(row, "epochs")  # CH-1: the case's epoch budget
        for arm, acc in all_accuracies(row).items():
            label = f"{row['claim']} · {arm}" + (f" · {epochs} ep" if epochs else "")
            arms.setdefault((row["claim"], arm, tuple(acc)), (label, acc, _stated(f, arm)))
    if not arms:
        raise Skip("no CH row holds per-seed accuracies")
    items = list(arms.values())
    fig = new_figure(8.5, 0.8 + 0.3 * len(items), title="Test accuracy of each MLP variation vs the source's numbers",
                     source=SRC, claims=list(CLAIMS))
    ax = fig.subplots()
    for i, (_, acc, stated) in enumerate(items):
        ax.scatter(acc, [i] * len(acc), color="C0", s=12, alpha=0.6)
        ax.scatter([mean(acc)], [i], color="C0", marker="|", s=200, lw=2)
        if stated is not None:
            ax.scatter([stated], [i], color="C3", marker="*", s=70, zorder=3)
    ax.scatter([], [], color="C0", s=12, label="single seeds")
    ax.scatter([], [], color="C0", marker="|", s=200, lw=2, label="mean over seeds")
    ax.scatter([], [], color="C3", marker="*", s=70, label="source's single run")
    ax.set_yticks(range(len(items)), [label for label, _, _ in items])
    ax.invert_yaxis()
    ax.set(xlabel="test accuracy (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / len(items) - 0.04), ncol=3)
    epochs = sorted({figures(r).get("epochs") for r in _ch_rows(rows)} - {None})
    note = (f"Each case's arms at the run's budget ({', '.join(map(str, epochs))} epochs); the source's numbers "
            "are single runs after its own, usually longer, budgets (CH-1 states 10, 50 and 100 epochs).")
    return Plot(fig, note)


def _arms(rows, field: str) -> list[tuple[str, dict]]:
    """Distinct trained arms over the CH rows ((label, summary)), told apart by `field`: an arm
    shared by several cases (the same runs) appears once with every name it has."""
    found: dict[str, tuple[list[str], dict]] = {}
    for row in _ch_rows(rows):
        for arm, summary in (figures(row).get("arms") or {}).items():
            key = repr((summary.get(field), summary.get("epochs_trained")))
            names, _ = found.setdefault(key, ([], summary))
            names.append(f"{row['claim']} {arm}")
    if not found:
        raise Skip("no CH row holds per-arm curves and confusion matrices ('arms', recorded by a newer "
                   "precision_kit; re-run the benchmark)")
    return [(" = ".join(dict.fromkeys(names)), summary) for names, summary in found.values()]


def confusion_matrices(rows, other=None) -> Plot:
    arms = [(label, s) for label, s in _arms(rows, "confusion") if s.get("confusion")]
    if not arms:
        raise Skip("no CH arm holds a confusion matrix")
    cols = min(3, len(arms))
    n_rows = -(-len(arms) // cols)
    fig = new_figure(4.3 * cols, 4.2 * n_rows + 0.4, title="Confusion matrices of the MLP variations (test set)",
                     source=SRC, claims=list(CLAIMS))
    axes = fig.subplots(n_rows, cols, squeeze=False)
    for i, (label, s) in enumerate(arms):
        ax, cm = axes[i // cols][i % cols], s["confusion"]
        total = sum(map(sum, cm))
        correct = sum(cm[k][k] for k in range(len(cm)))
        ax.imshow([[min(v, 60) for v in r] for r in cm], cmap="Blues", vmin=0, vmax=60)
        for t in range(len(cm)):
            for p in range(len(cm)):
                if cm[t][p]:
                    ax.text(p, t, str(cm[t][p]), ha="center", va="center", fontsize=6.5,
                            color="white" if cm[t][p] > 40 else "black")
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.grid(False)
        title = _wrap(label, 46)
        ax.set_title(f"{title}\nseed {s.get('confusion_seed')}, {s.get('epochs_trained')} epochs, "
                     f"{100 * correct / total:.2f}% correct", fontsize=8)
        ax.set(xlabel="predicted digit", ylabel="true digit")
    for j in range(len(arms), n_rows * cols):
        axes[j // cols][j % cols].axis("off")
    note = ("Counts of the 10,000 test images (rows: true digit, columns: predicted); colour saturates at 60 "
            "so that the off-diagonal confusions stand out. One seed's model at the end of its training.")
    return Plot(fig, note)


def _wrap(text: str, width: int) -> str:
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*out, line])


def loss_curves(rows, other=None) -> Plot:
    arms = _arms(rows, "train_loss")
    fig = new_figure(11, 4.6, title="Loss curves of the MLP variations (mean over seeds)", source=SRC,
                     claims=list(CLAIMS))
    axes = fig.subplots(1, 2)
    longest = 1
    for k, (label, s) in enumerate(arms):
        style = {"color": f"C{k % 10}", "ls": "-" if k < 10 else "--", "marker": "o", "ms": 3}
        for ax, part in zip(axes, ("train_loss", "test_loss"), strict=True):
            ys = s.get(part) or []
            longest = max(longest, len(ys))
            ax.plot(range(1, len(ys) + 1), ys, label=_wrap(label, 40), **style)
    for ax, what in zip(axes, ("train loss (running mean over each epoch)", "test loss (end of each epoch)"),
                        strict=True):
        ax.set(title=what, ylabel="cross-entropy (nats, log scale)", yscale="log")
        plain_log_axis(ax.yaxis)
        epoch_axis(ax, longest)
    axes[1].legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return Plot(fig, "One line per distinct trained arm; names joined by = are the same runs used by several cases.")


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


# ---------------------------------------------------------------- CH-11: time per sample vs batch size (Version 8)


def _seconds(values) -> dict[int, list[float]]:
    """{batch size: per-round seconds per sample} of one device's entry, non-numbers dropped."""
    out = {}
    for batch, secs in (values or {}).items():
        good = [s for s in secs or [] if isinstance(s, (int, float)) and s > 0]
        if str(batch).isdigit() and good:
            out[int(batch)] = good
    return dict(sorted(out.items()))


def _per_device(rows, other) -> tuple[dict[str, tuple[str, dict[int, list[float]], dict]],
                                      dict[str, tuple[str, dict[int, list[float]]]]]:
    """One line per device, {device: (label, {batch: seconds}, the row's figures)}: from a
    throughput row (this run's before the other run's), else from a gpu-vs-cpu row's data for
    that device; and {device: (label, {batch: seconds})} of the gpu-vs-cpu data of the devices
    whose line is a throughput row's (drawn as a second, dashed line)."""
    runs = (("", of(rows, "CH-11")), (" (other run)", of(other or [], "CH-11")))
    lines: dict[str, tuple[str, dict[int, list[float]], dict]] = {}
    for suffix, ch11 in runs:  # throughput rows: keyed by batch size, on the row's device
        for row in ch11:
            spp = figures(row).get("seconds_per_sample") or {}
            if param(row, "part") == "gpu-vs-cpu" or any(isinstance(v, dict) for v in spp.values()):
                continue
            secs = _seconds(spp)
            if secs and row["device"] not in lines:
                lines[row["device"]] = (f"{row['device']}{suffix}", secs, figures(row))
    extra: dict[str, tuple[str, dict[int, list[float]]]] = {}
    for suffix, ch11 in runs:  # gpu-vs-cpu rows: keyed by device, then batch size
        for row in ch11:
            for device, values in (figures(row).get("seconds_per_sample") or {}).items():
                secs = _seconds(values) if isinstance(values, dict) else {}
                label = f"{device}{suffix} (gpu-vs-cpu part)"
                if not secs or device in extra or (device in lines and not lines[device][2]):
                    continue  # no data, or this device's gpu-vs-cpu data is drawn already
                if device in lines:
                    extra[device] = (label, secs)
                else:
                    lines[device] = (label, secs, {})
    return lines, extra


def _gpu_vs_cpu_batch1(ch11) -> float | None:
    """Median CPU ÷ median GPU seconds per sample at batch 1 of the first gpu-vs-cpu row holding both."""
    for row in ch11:
        spp = figures(row).get("seconds_per_sample") or {}
        cpu, cuda = (_seconds(spp.get(d)) if isinstance(spp.get(d), dict) else {} for d in ("cpu", "cuda"))
        if cpu.get(1) and cuda.get(1):
            return statistics.median(cpu[1]) / statistics.median(cuda[1])
    return None


def time_per_sample(rows, other=None) -> Plot:
    need(rows, "CH-11")
    entry(of(rows, "CH-11"), "seconds_per_sample", "per-sample training times")
    lines, extra = _per_device(rows, other)
    if not lines:
        raise Skip("the CH-11 rows hold no per-sample seconds of any batch size")
    fig = new_figure(7.5, 4.6, title="Training time per sample vs batch size (2 × 50 MLP, Adam)",
                     source=f"{SRC} Version 8", claims=["CH-11"])
    ax = fig.subplots()
    batches: set[int] = set()
    ratios = []
    for k, (device, (label, secs, f)) in enumerate(sorted(lines.items())):
        color = f"C{k}"
        xs = list(secs)
        batches.update(xs)
        for b, s in secs.items():
            ax.scatter([b] * len(s), s, color=color, s=10, alpha=0.35)
        ax.plot(xs, [statistics.median(s) for s in secs.values()], color=color, lw=2, marker="o", label=label)
        if device in extra:
            more_label, more = extra[device]
            batches.update(more)
            ax.plot(list(more), [statistics.median(s) for s in more.values()], color=color, lw=1, ls="--",
                    marker="o", mfc="white", label=more_label)
        if 1 in secs and 50 in secs:
            ratio = statistics.median(secs[1]) / statistics.median(secs[50])
            bounds = f.get("ratio_1_vs_50")
            text = f"{label}: batch 1 ÷ batch 50 = {ratio:.1f}× (medians)"
            if isinstance(bounds, list) and len(bounds) == 3 and all(isinstance(b, (int, float)) for b in bounds):
                text += f", geometric mean of the rounds {bounds[0]:.1f}× [95% bounds {bounds[1]:.1f}, {bounds[2]:.1f}]"
            ratios.append(text)
        else:
            ratios.append(f"{label}: no batch 50 measured")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.xaxis, batches)
    ax.set(xlabel="batch size (log scale)", ylabel="seconds per training sample (log scale; line: median of rounds)")
    ax.legend(loc="upper right")
    gpu = _gpu_vs_cpu_batch1(of(rows, "CH-11"))
    target = next((f["target"] for _, _, f in lines.values() if isinstance(f.get("target"), (int, float))), 5.0)
    note = ("Dots: single timing rounds; lines: their median, one line per device (dashed, hollow: the same "
            "device's times in the gpu-vs-cpu part, rounds alternating CPU and GPU). The claim: batch 1 is terrible, "
            f"its per-sample time ≥ {target:g}× batch 50's. " + "; ".join(ratios) + ".")
    if gpu is not None:
        note += (" The GPU's advantage at batch 1 in the gpu-vs-cpu part (CPU ÷ GPU time per sample, medians): "
                 f"{gpu:.2f}×.")
    note += " Drawn from every device's rows (the other figures use one device's)."
    return Plot(fig, note)
