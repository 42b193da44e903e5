"""Source 003 ("Chasing 99%"): claims CH-9 (dead ReLUs at a high learning rate) and CH-10
(which digits the lr 1e-2 and the width-1000 models confuse), measured on the models that
CH-2 and CH-6 already train: the same arms, seeds and budgets through the same functions
(`chasing_99.arm`, `lr4_runs`, `chasing_99_arch.deep_runs`), so nothing retrains once those
claims have run. Each model is read back from the cache (`Trained.model()`) and measured once
more: a forward pass over the 60,000 training images (CH-9) or the 10,000 test images (CH-10).

What the source says (section "3 Hidden Layer NN", ReLU paragraph; Version 4; Version 5 of
the 3-layer networks):
- "In a deep network with a high learning rate, up to 40% of the ReLU network can silently
  die during early training". A general remark, not a count the source made on its runs;
  its only high-lr run is Version 4 (2 × 50, lr 1e-2), so CH-9 compares that arm with lr
  1e-4 (Version 5).
- Version 4 (lr 1e-2): "The model consistently predicted a number as 3 when it was not
  actually a 3" (the column of digit 3 of its test confusion matrix).
- Version 5 (3 × 1000): "unusually high confusion between 9 and 4 compared to previous models".

Budgets: CH-2's and CH-6's. lr arms: 5 seeds at 2 epochs (quick) / 10 at 100 (paper); width
1000: 3 seeds at 1 epoch (quick) / 10 at 50 (paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from scipy import stats as sps
from torch import nn

from ..errors import PrecisionKitError
from ..evaluate import EVAL_BATCH, evaluate, model_device_dtype
from ..experiment import dataset, run_seeds
from ..precision import matmul_mode
from ..stats import Interval, lower_bound, superiority, upper_bound
from ..verdicts import Verdict, check_confidence, combine, plain
from .base import ClaimResult, Context, claim
from .chasing_99 import QUICK_EPOCHS, SOURCE, arm, lr4_runs
from .chasing_99_arch import QUICK_WIDE, deep_runs

LARGE_SHARE = 10.0  # CH-9: percent of hidden units; at least a quarter of the source's "up to 40%"
STATED_UP_TO = 40.0
OVERPREDICTED = 3  # CH-10, lr 1e-2
CONFUSED_PAIR = (4, 9)  # CH-10, width 1000
PARTS = ("lr1e-2-overpredicts-3", "width1000-confuses-4-9")


# ---------------------------------------------------------------------------- dead units
@torch.no_grad()
def dead_units(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> list[torch.Tensor]:
    """Per nn.ReLU module of `model` (in module order), a bool mask of its units that output 0
    for every image of `images` (a unit: one output feature). Eval mode, fp32 matmuls (no
    TF32), `batch_size` images at a time; the model's train/eval mode is restored."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise PrecisionKitError(f"dead_units counts ReLU units, but this {type(model).__name__} has no nn.ReLU "
                                "module (a sigmoid model has no dead ReLUs); pass a ReLU network")
    if images.shape[0] == 0 or batch_size < 1:
        raise ValueError(f"expected at least one image and batch_size ≥ 1; found {images.shape[0]} images, "
                         f"batch_size={batch_size}")
    fired: list[torch.Tensor | None] = [None] * len(relus)

    def recorder(i: int):
        def record(module, inputs, output):
            now = (output.reshape(output.shape[0], -1) != 0).any(0)
            fired[i] = now if fired[i] is None else fired[i] | now
        return record

    device, dtype = model_device_dtype(model)
    handles = [m.register_forward_hook(recorder(i)) for i, m in enumerate(relus)]
    was_training = model.training
    model.eval()
    try:
        with matmul_mode("fp32", device):
            for chunk in images.split(batch_size):
                model(chunk.to(device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if any(f is None for f in fired):
        raise PrecisionKitError("a ReLU module of the model was never called in its forward pass; dead_units "
                                "needs every ReLU on the path from input to output")
    return [~f.cpu() for f in fired]


def dead_percent(masks: Sequence[torch.Tensor]) -> tuple[float, list[float]]:
    """(percent of all hidden units that are dead, percent per layer) from `dead_units` masks."""
    if not masks:
        raise ValueError("expected one dead-unit mask per ReLU layer; found none")
    total = sum(m.numel() for m in masks)
    return 100.0 * sum(int(m.sum()) for m in masks) / total, [100.0 * int(m.sum()) / m.numel() for m in masks]


@dataclass(frozen=True)
class Share:
    """CH-9 (b): is the mean dead share at lr 1e-2 'large' (≥ `threshold` percent)?"""

    verdict: Verdict
    interval: Interval  # two-sided: [one-sided lower bound, one-sided upper bound]
    threshold: float

    def line(self) -> str:
        return (f"dead at lr 1e-2 {self.interval.estimate:.1f}%, {self.interval.confidence:.0%} bounds "
                f"[{self.interval.low:.1f}, {self.interval.high:.1f}]%, {self.interval.n} seeds, "
                f"large share ≥ {plain(self.threshold)}% (source: up to {plain(STATED_UP_TO)}%) → {self.verdict}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "interval": self.interval.to_dict(), "threshold": self.threshold,
                "line": self.line()}


def large_share(percents: Sequence[float], threshold: float = LARGE_SHARE, confidence: float = 0.95) -> Share:
    """HOLDS if the one-sided `confidence` lower t bound of the mean dead percent is ≥
    `threshold`; FAILS if the one-sided upper bound is below it; else INCONCLUSIVE."""
    low, high = lower_bound(percents, confidence), upper_bound(percents, confidence)
    if low.low >= threshold:
        verdict = Verdict.HOLDS
    elif high.high < threshold:
        verdict = Verdict.FAILS
    else:
        verdict = Verdict.INCONCLUSIVE
    return Share(verdict, Interval(low.estimate, low.low, high.high, confidence, low.n), threshold)


def more_dead(high_lr: Sequence[float], low_lr: Sequence[float]):
    """CH-9 (a): Δ = dead%(lr 1e-2) − dead%(lr 1e-4) > 0, paired seeds, one-sided 95%."""
    return superiority(low_lr, high_lr)


def paired_ok(a_runs: Sequence, b_runs: Sequence) -> tuple[list[tuple], str]:
    """The (a, b) run pairs of each seed where neither diverged; the note names the others."""
    pairs, dropped = [], []
    for ra, rb in zip(a_runs, b_runs, strict=True):
        if ra.seed != rb.seed:
            raise ValueError(f"runs are not paired: seed {ra.seed} against seed {rb.seed}")
        if ra.diverged or rb.diverged:
            dropped.append(f"seed {ra.seed}: {ra.status if ra.diverged else rb.status}")
        else:
            pairs.append((ra, rb))
    return pairs, (f"{len(dropped)} seed(s) diverged and left out ({'; '.join(dropped)})" if dropped else "")


# ---------------------------------------------------------------------------- confusions
def _check_confusion(confusion) -> torch.Tensor:
    c = torch.as_tensor(confusion)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2 or c.is_floating_point() or bool((c < 0).any()):
        raise ValueError(f"expected a square confusion matrix of counts ≥ 0 (rows true, columns predicted); "
                         f"found shape {tuple(c.shape)}, dtype {c.dtype}")
    return c.long()


def false_positives(confusion) -> torch.Tensor:
    """Per predicted class, the images of another class predicted as it (column sum − diagonal)."""
    c = _check_confusion(confusion)
    return c.sum(0) - c.diagonal()


def top_false_positive(confusion) -> tuple[int, bool]:
    """The predicted class with the most false positives and whether it is the only maximum."""
    fp = false_positives(confusion)
    return int(fp.argmax()), int((fp == fp.max()).sum()) == 1


def top_confused_pair(confusion) -> tuple[tuple[int, int], int, bool]:
    """The unordered pair {i, j} (i < j) with the most confusions both ways (c[i, j] + c[j, i]),
    its count, and whether it is the only maximum."""
    c = _check_confusion(confusion)
    both = torch.triu(c + c.T, diagonal=1)
    flat = int(both.argmax())
    i, j = divmod(flat, c.shape[0])
    return (i, j), int(both[i, j]), int((both == both[i, j]).sum()) == 1


def clopper_pearson(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact one-sided `confidence` Clopper–Pearson bounds (lower, upper) of a binomial share."""
    conf = check_confidence(confidence)
    if n < 1 or not 0 <= hits <= n:
        raise ValueError(f"expected 0 ≤ hits ≤ n and n ≥ 1; found hits={hits}, n={n}")
    low = 0.0 if hits == 0 else float(sps.beta.ppf(1 - conf, hits, n - hits + 1))
    high = 1.0 if hits == n else float(sps.beta.ppf(conf, hits + 1, n - hits))
    return low, high


@dataclass(frozen=True)
class Majority:
    """A stated outcome seen in `hits` of `n` seeds; HOLDS if it is the majority with confidence."""

    verdict: Verdict
    hits: int
    n: int
    low: float
    high: float
    confidence: float
    what: str

    def line(self) -> str:
        return (f"{self.what} in {self.hits}/{self.n} seeds, one-sided {self.confidence:.0%} Clopper–Pearson "
                f"bounds [{self.low:.2f}, {self.high:.2f}], majority > 0.5 → {self.verdict}")

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "hits": self.hits, "n": self.n, "low": self.low,
                "high": self.high, "confidence": self.confidence, "line": self.line()}


def majority(hits: Sequence[bool], what: str, confidence: float = 0.95) -> Majority:
    """HOLDS if the lower Clopper–Pearson bound of the share of hits is > 0.5, FAILS if the
    upper bound is < 0.5, else INCONCLUSIVE (e.g. with 3 seeds, whatever they show)."""
    k, n = sum(bool(h) for h in hits), len(hits)
    low, high = clopper_pearson(k, n, confidence)
    verdict = Verdict.HOLDS if low > 0.5 else Verdict.FAILS if high < 0.5 else Verdict.INCONCLUSIVE
    return Majority(verdict, k, n, low, high, confidence, what)


def decisive(n: int, confidence: float = 0.95) -> bool:
    """Whether `n` seeds can decide a majority at all (all hits → lower bound > 0.5)."""
    return clopper_pearson(n, n, confidence)[0] > 0.5


# ---------------------------------------------------------------------------- runs
def lr2_runs(ctx: Context, n):
    """CH-2's lr 1e-2 arm (2 × 50, batch 50): 2 epochs quick / 100 paper."""
    return run_seeds(arm(1e-2, ctx.pick(QUICK_EPOCHS, 100)), n, ctx.device, ctx.root)


def wide_runs(ctx: Context):
    """CH-6's width-1000 arm (3 × 1000, lr 1e-4): 3 seeds at 1 epoch quick / 10 at 50 paper."""
    epochs, n = (QUICK_WIDE[0], range(QUICK_WIDE[1])) if ctx.profile == "quick" else (None, ctx.seeds())
    return deep_runs(ctx, 1000, n, epochs=epochs), n


def _data(run, ctx: Context):
    return dataset(run.arm, ctx.device, ctx.root)


def confusions(runs: Sequence, ctx: Context) -> tuple[list[torch.Tensor], list[int]]:
    """Test confusion matrices of the runs (one evaluation pass each) and, per run, how many
    test images flipped against its stored correctness (0 when the harness is sound)."""
    mats, flips = [], []
    for r in runs:
        ev = evaluate(r.model(ctx.device), _data(r, ctx), "test")
        mats.append(ev.confusion)
        flips.append(int((ev.correct != r.correct).sum()))
    return mats, flips


def _kept(runs: Sequence) -> tuple[list, str]:
    """The runs that did not diverge (a diverged model predicts nothing) and a note on the others."""
    dropped = [f"seed {r.seed}: {r.status}" for r in runs if r.diverged]
    note = f"{len(dropped)} seed(s) diverged and left out ({'; '.join(dropped)})" if dropped else ""
    return [r for r in runs if not r.diverged], note


def _epochs_note(ctx: Context, runs: Sequence, source_epochs: int, extra: str = "") -> str:
    epochs = runs[0].arm.config.epochs if runs else 0
    if epochs >= source_epochs:
        return ""
    return f"{ctx.profile}: {epochs} of the source's {source_epochs} epochs{extra}"


# ---------------------------------------------------------------------------- claims
@claim(
    "CH-9",
    SOURCE,
    "3 Hidden Layer NN, Version 2 (the ReLU paragraph); 2 hidden layers, Version 4 and 5",
    "with a high learning rate a large share of ReLU units die (up to 40%)",
    "dead unit = outputs 0 for every training image (eval mode), over all hidden layers; paired seeds, "
    "lr 1e-2 vs 1e-4: (a) one-sided 95% superiority of the dead share at 1e-2, (b) its one-sided 95% "
    f"lower bound ≥ {plain(LARGE_SHARE)}% (a large share); both must hold",
)
def ch9(ctx: Context) -> ClaimResult:
    """Dead ReLU units of the 2 × 50 MLP after training at lr 1e-2 (CH-2's arm, the source's
    Version 4) and at lr 1e-4 (Version 5), the same seeds. A unit is dead if it outputs 0 for
    all 60,000 training images (eval mode, chunks of 2,000); the share is over all 100 hidden
    units. (a) Δ = dead%(1e-2) − dead%(1e-4) > 0, one-sided 95% t bound over paired seeds.
    (b) Reading of "up to 40% of the ReLU network can silently die": 40% is the ceiling of what
    can happen, not a typical share, so a share below 40% does not contradict it; what the
    sentence asserts is that the share is large ("turning massive architecture into a highly
    constrained, inefficient model"). Judged: the mean dead share at lr 1e-2 is ≥ 10% (a
    quarter of the stated 40%): HOLDS if its one-sided 95% lower bound is ≥ 10%, FAILS if its
    upper bound is < 10%. A share above 40% is reported in the note, not failed. Both parts
    must hold. n = 5 paired seeds at 2 epochs (quick: the "early training" of the source's
    sentence) / 10 at 100 (paper, Version 4's budget). Measured on the final weights (the
    cache keeps no earlier ones). Timed: the dead-unit pass of one lr 1e-2 model."""
    n = ctx.seeds()
    pairs, note = paired_ok(lr2_runs(ctx, n), lr4_runs(ctx, n))
    if len(pairs) < 2:
        raise PrecisionKitError(f"CH-9 needs at least 2 seeds where neither arm diverged; found {len(pairs)} ({note})")
    measured: dict[str, list] = {"lr0.01": [], "lr0.0001": []}
    for pair in pairs:
        for label, run in zip(measured, pair, strict=True):
            measured[label].append(dead_units(run.model(ctx.device), _data(run, ctx).train.images))
    percents = {label: [dead_percent(m) for m in masks] for label, masks in measured.items()}
    overall = {label: [p for p, _ in rows] for label, rows in percents.items()}
    more = more_dead(overall["lr0.01"], overall["lr0.0001"])
    share = large_share(overall["lr0.01"])
    verdict = combine(more.verdict, share.verdict)
    high = overall["lr0.01"]
    notes = [note]
    if share.interval.low > STATED_UP_TO:
        notes.append(f"more than the source's 'up to {plain(STATED_UP_TO)}%' die (lower bound "
                     f"{share.interval.low:.1f}%)")
    notes.append(f"lr 1e-2: dead share per seed {min(high):.1f}–{max(high):.1f}% vs the source's up to "
                 f"{plain(STATED_UP_TO)}%")
    notes.append(_epochs_note(ctx, [pairs[0][0]], 100, " (the source: 'during early training')"))
    last = pairs[-1][0]
    model, images = last.model(ctx.device), _data(last, ctx).train.images
    return ClaimResult(
        "CH-9",
        "lr=0.01-vs-0.0001",
        verdict,
        f"more dead at lr 1e-2: {more.line()}; {share.line()} ⇒ {verdict}",
        figures={
            "seeds": [a.seed for a, _ in pairs],
            "epochs": pairs[0][0].arm.config.epochs,
            **{f"dead_percent_{label}": overall[label] for label in measured},
            **{f"dead_percent_per_layer_{label}": [layers for _, layers in percents[label]] for label in measured},
            **{f"dead_units_per_layer_{label}": [[int(m.sum()) for m in masks] for masks in measured[label]]
               for label in measured},
            "hidden_widths": [m.numel() for m in measured["lr0.01"][0]],
            "judgement_more_dead": more,
            "judgement_large_share": share,
            "large_share_threshold_percent": LARGE_SHARE,
            "stated_up_to_percent": STATED_UP_TO,
        },
        note="; ".join(filter(None, notes)),
        timed=lambda: dead_units(model, images),
    )


def _read_overpredicted(mats: Sequence[torch.Tensor]) -> dict:
    tops = [top_false_positive(m) for m in mats]
    return {"outcome": [c for c, _ in tops], "unique": [u for _, u in tops],
            "hits": [c == OVERPREDICTED and u for c, u in tops],
            "false_positives": [false_positives(m).tolist() for m in mats]}


def _read_confused(mats: Sequence[torch.Tensor]) -> dict:
    tops = [top_confused_pair(m) for m in mats]
    i, j = CONFUSED_PAIR
    return {"outcome": [list(p) for p, _, _ in tops], "unique": [u for _, _, u in tops],
            "hits": [p == CONFUSED_PAIR and u for p, _, u in tops], "top_pair_count": [c for _, c, _ in tops],
            "confusions_4_9": [int(m[i, j] + m[j, i]) for m in mats]}


@claim(
    "CH-10",
    SOURCE,
    "2 hidden layers, Version 4; 3 Hidden Layer NN, Version 5",
    "lr 1e-2 makes the model over-predict 3; width 1000 confuses 4 and 9 most",
    "test confusion matrix per seed: the predicted class with the most false positives (lr 1e-2) and the "
    "most confused unordered pair (width 1000); holds if it is the stated one in a majority of seeds: exact "
    "one-sided 95% Clopper–Pearson lower bound of the share > 0.5 (upper bound < 0.5 fails)",
)
def ch10(ctx: Context, part: str) -> ClaimResult:
    """One part of CH-10 per case. part="lr1e-2-overpredicts-3": CH-2's lr 1e-2 models (2 × 50),
    per seed the predicted class with the most false positives (column sum − diagonal of the
    test confusion matrix), a hit if it is 3. part="width1000-confuses-4-9": CH-6's 3 × 1000
    models, per seed the unordered pair with the most confusions both ways (c[i, j] + c[j, i]),
    a hit if it is {4, 9}. A tie for the maximum is no hit. Test: hits in a majority of seeds,
    exact one-sided 95% Clopper–Pearson bounds on the share (5 seeds are the fewest that can
    decide). n = 5 seeds at 2 epochs (lr 1e-2, quick) / 3 seeds at 1 epoch (width 1000, quick:
    INCONCLUSIVE whatever it shows) / 10 at 100 and 50 epochs (paper). The reference arm (lr 1e-4,
    resp. width 100) is reported, not judged. Timed: test inference of one model of the part."""
    if part not in PARTS:
        raise ValueError(f"part={part!r} is not a case of CH-10; expected one of {', '.join(PARTS)}")
    if part == PARTS[0]:
        n = ctx.seeds()
        runs, ref, read, source_epochs = lr2_runs(ctx, n), lr4_runs(ctx, n), _read_overpredicted, 100
        what, ref_label = f"class {OVERPREDICTED} has the most false positives", "lr0.0001"
    else:
        runs, n = wide_runs(ctx)
        ref, read, source_epochs = deep_runs(ctx, 100, n), _read_confused, 50
        what, ref_label = f"{{{CONFUSED_PAIR[0]}, {CONFUSED_PAIR[1]}}} is the most confused pair", "width100"
    kept, note = _kept(runs)
    if not kept:
        raise PrecisionKitError(f"CH-10 [{part}]: every seed diverged, no model to read a confusion matrix from")
    mats, flips = confusions(kept, ctx)
    ref_kept, _ = _kept(ref)
    ref_mats, ref_flips = confusions(ref_kept, ctx)
    seen = read(mats)
    j = majority(seen["hits"], what)
    notes = [note, _epochs_note(ctx, kept, source_epochs)]
    if not decisive(len(kept)):
        low = clopper_pearson(len(kept), len(kept))[0]
        notes.append(f"{len(kept)} seeds cannot decide a majority (all hits give a lower bound of {low:.2f}): "
                     "INCONCLUSIVE whatever the matrices show; run the paper profile")
    summed = torch.stack(mats).sum(0)
    ref_summed = torch.stack(ref_mats).sum(0) if ref_mats else None
    broken = [f"seed {r.seed}: {f}" for r, f in zip(kept + ref_kept, flips + ref_flips, strict=True) if f]
    model, data = kept[-1].model(ctx.device), _data(kept[-1], ctx)
    return ClaimResult(
        "CH-10",
        f"part={part}",
        j.verdict,
        f"{part}: {j.line()}",
        figures={
            "seeds": [r.seed for r in kept],
            "epochs": kept[0].arm.config.epochs,
            "per_seed": seen,
            "judgement": j,
            "confusion_summed": summed.tolist(),
            "summed_outcome": read([summed])["outcome"][0],
            f"reference_{ref_label}": {
                "seeds": [r.seed for r in ref_kept],
                "per_seed": read(ref_mats) if ref_mats else None,
                "confusion_summed": None if ref_summed is None else ref_summed.tolist(),
            },
            "reevaluation_flips": flips,
        },
        note="; ".join(filter(None, notes)),
        harness_broken=(f"re-evaluating the cached models flipped test images ({', '.join(broken)})"
                        if broken else None),
        timed=lambda: evaluate(model, data, "test"),
    )
