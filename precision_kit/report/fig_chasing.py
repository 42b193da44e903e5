"""Figures of source 003 ("Chasing 99%", MLP variations): accuracy of every arm against the
source's single-run numbers, the confusion matrices and the loss curves of each variation.
The figures of single claims are in `fig_chasing_claims` (CH-7, CH-9) and `fig_throughput` (CH-11)."""

from __future__ import annotations

from .rows import all_accuracies, figures, param
from .style import Plot, Skip, epoch_axis, mean, new_figure, plain_log_axis

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
