"""Source 002 ("Neural network training dynamics on MNIST"): claims TD-1 … TD-3 (the
accuracy reached, Adam against the other optimizers, dropout); TD-4 and TD-5 live in
`training_dynamics_repr`. Setup, budgets and the shared run helpers: `training_dynamics_setup`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..evaluate import forward_split
from ..experiment import Arm, dataset
from ..stats import equivalence, lower_bound, mean_ci, superiority, upper_bound
from ..train import make_optimizer
from ..verdicts import Verdict, combine, signed
from .base import ClaimResult, Context, claim
from .cases import cases
from .pairing import paired_accuracies, seed_accuracies
from .training_dynamics_measures import epochs_to_threshold
from .training_dynamics_setup import LR, LR_DECAY, SOURCE, budget_note, cnn_arm, join, runs

OPTIMIZERS = ("sgd", "sgd-momentum", "rmsprop")  # compared with Adam in TD-2
QUICK_OPTIMIZERS = ("sgd",)
TARGET = 99.3  # TD-1
SPEED_THRESHOLD = 98.0  # TD-2: epochs to reach this test accuracy
FINAL_MARGIN = 0.3  # TD-2: "final accuracies are comparable"
TIMED_IMAGES = 2000


def paired_runs(a_runs, b_runs):
    """Pairs of runs of one seed where neither diverged, and the note on those left out."""
    _, _, note = paired_accuracies(a_runs, b_runs)
    return [(a, b) for a, b in zip(a_runs, b_runs, strict=True) if not (a.diverged or b.diverged)], note


def curve(run) -> list[float | None]:
    """Test accuracy (percent) at each epoch end."""
    return [e.test_accuracy for e in run.epochs]


def inference(model, data, n: int = TIMED_IMAGES):
    """Timed target: inference on the first `n` test images (all 10,000 take ~4 s per round
    on a 2-core CPU, ~10 s when it is shared)."""
    images = data.test.images[:n]
    return lambda: forward_split(model, images)


@claim(
    "TD-1",
    SOURCE,
    "4.1",
    "the CNN reaches 99.3% test accuracy",
    "mean over seeds of Adam + dropout; holds if the two-sided 95% CI upper bound ≥ 99.3",
    cases=cases("adam-dropout"),
)
def td1(ctx: Context) -> ClaimResult:
    """TD-1: "our best model achieves 99.3% accuracy". Adam + dropout arm, n = 5 seeds
    (quick, 1 epoch) or 10 (paper, 20 epochs). Δ = acc − 99.3 per seed; HOLDS if the 95%
    t CI of mean Δ reaches 0 (99.3 is not ruled out), FAILS if its upper end is below 0."""
    trained = runs(ctx, cnn_arm(ctx))
    ok = [r for r in trained if not r.diverged]
    accs = [r.accuracy for r in ok]
    ci = mean_ci([a - TARGET for a in accs], 0.95)
    verdict = Verdict.HOLDS if ci.high >= 0 else Verdict.FAILS
    mean = sum(accs) / len(accs)
    line = (
        f"mean {mean:.2f}%: Δ={signed(ci.estimate)} pt vs {TARGET}, {ci.text()}, "
        f"{ci.n} seeds, holds if upper ≥ 0 → {verdict}"
    )
    diverged = [f"seed {r.seed}: {r.status}" for r in trained if r.diverged]
    model, data = ok[0].model(ctx.device), dataset(ok[0].arm, ctx.device, ctx.root)
    return ClaimResult(
        "TD-1",
        ctx.case,
        verdict,
        line,
        figures={
            "mean_accuracy": mean,
            "interval_delta_vs_target": ci,
            "target": TARGET,
            "test_accuracy_per_epoch": [curve(r) for r in ok],
            "epochs": ok[0].arm.config.epochs,
        },
        note=join(budget_note(ctx), "diverged: " + ", ".join(diverged) if diverged else ""),
        accuracies={"adam-dropout": seed_accuracies(trained)},
        timed=inference(model, data),
    )


def _speed_line(deltas, what: str) -> tuple[Verdict, str]:
    """Superiority of Δ > 0 for non-accuracy units (epochs), with the stats' t bounds."""
    low, high = lower_bound(deltas), upper_bound(deltas)
    if low.low > 0:
        verdict, shown = Verdict.HOLDS, low
    elif high.high < 0:
        verdict, shown = Verdict.FAILS, high
    else:
        verdict, shown = Verdict.INCONCLUSIVE, low
    text = f"Δ={signed(shown.estimate)} {what}, {shown.text()}, {shown.n} paired seeds, Δ > 0"
    return verdict, f"{text} → {verdict}"


def one_step(arm: Arm, ctx: Context):
    """A zero-argument training step (forward, backward, optimizer step) of `arm`'s
    optimizer on one batch of 128 training images, for timing."""
    device = torch.device(ctx.device)
    model = arm.model.build(0).to(device).train()
    data = dataset(arm, ctx.device, ctx.root)
    x, y = data.train.images[:128].to(device), data.train.labels[:128].to(device)
    optimizer = make_optimizer(model.parameters(), arm.config, device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


@claim(
    "TD-2",
    SOURCE,
    "4.1, 5 (2)",
    "Adam converges faster than SGD; final accuracies are comparable",
    "paired seeds: epochs to 98% test accuracy, Δ = t(other) − t(adam) > 0 (one-sided 95%); "
    "and final accuracy equivalence at ±0.3 pt (90% CI); HOLDS if both hold",
    cases=cases("optimizer={optimizer}", optimizer=OPTIMIZERS, quick={"optimizer": QUICK_OPTIMIZERS}),
)
def td2(ctx: Context, optimizer: str = "sgd") -> ClaimResult:
    """TD-2 against one other optimizer (sgd, sgd-momentum, rmsprop; quick: sgd only).
    n = 5 paired seeds (quick, 1 epoch) or 10 (paper, 20 epochs), same initial weights and
    data order per seed. Speed: epochs to reach 98% test accuracy (checkpoints every
    epoch); a run that never reaches it counts as E + 1 epochs, a lower bound, so a
    censored slow optimizer only shrinks Δ. Superiority Δ = t(other) − t(adam) > 0 at
    one-sided 95%. Final: equivalence of final accuracies at ±0.3 pt (Δ = other − adam,
    90% CI). The verdict HOLDS if both parts hold, FAILS if either fails."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r}: TD-2 compares Adam with one of {OPTIMIZERS}")
    adam = runs(ctx, cnn_arm(ctx))
    other_arm = cnn_arm(ctx, optimizer)
    other = runs(ctx, other_arm)
    pairs, note = paired_runs(adam, other)
    t_adam = [epochs_to_threshold(curve(a), SPEED_THRESHOLD) for a, _ in pairs]
    t_other = [epochs_to_threshold(curve(b), SPEED_THRESHOLD) for _, b in pairs]
    deltas = [b[0] - a[0] for a, b in zip(t_adam, t_other, strict=True)]
    speed, speed_line = _speed_line(deltas, "epochs to 98%")
    acc_adam, acc_other = [a.accuracy for a, _ in pairs], [b.accuracy for _, b in pairs]
    final = equivalence(acc_adam, acc_other, margin=FINAL_MARGIN)
    verdict = combine(speed, final.verdict)
    censored = sum(not r for _, r in t_adam + t_other)
    return ClaimResult(
        "TD-2",
        ctx.case,
        verdict,
        f"speed: {speed_line}; final: {final.line()} ⇒ {verdict}",
        figures={
            "epochs_to_98_adam": [t for t, _ in t_adam],
            f"epochs_to_98_{optimizer}": [t for t, _ in t_other],
            "reached_adam": [r for _, r in t_adam],
            f"reached_{optimizer}": [r for _, r in t_other],
            "final_judgement": final,
            "test_accuracy_per_epoch_adam": [curve(a) for a, _ in pairs],
            f"test_accuracy_per_epoch_{optimizer}": [curve(b) for _, b in pairs],
            "lr": {"adam": LR["adam"], optimizer: LR[optimizer]},
            "lr_decay_per_epoch": LR_DECAY,
            "epochs": other_arm.config.epochs,
        },
        note=join(
            budget_note(ctx),
            f"{censored} run(s) never reached 98% (counted as E + 1 epochs)" if censored else "",
            note,
        ),
        accuracies={"adam": seed_accuracies(adam), optimizer: seed_accuracies(other)},
        timed=one_step(other_arm, ctx),  # per-step cost: "faster" in epochs must not hide it
    )


@claim(
    "TD-3",
    SOURCE,
    "3.2, 5 (3)",
    "dropout improves generalization",
    "paired seeds (same initial weights), Δ = acc(dropout 0.5) − acc(no dropout) > 0, "
    "one-sided 95%",
    cases=cases("dropout=0.5-vs-0"),
)
def td3(ctx: Context) -> ClaimResult:
    """TD-3: dropout 0.5 on the FC layer vs none, Adam, n = 5 paired seeds (quick, 1 epoch)
    or 10 (paper, 20 epochs); `models.cnn` builds identical weights for both arms of a seed
    (dropout has no parameters). Test: superiority of Δ = acc(dropout) − acc(none),
    one-sided 95% t bound. Figures add the final test loss of both arms."""
    with_dropout = runs(ctx, cnn_arm(ctx))
    without = runs(ctx, cnn_arm(ctx, dropout=0.0))
    acc_none, acc_drop, note = paired_accuracies(without, with_dropout)
    j = superiority(acc_none, acc_drop)
    ok, _ = paired_runs(without, with_dropout)
    model, data = ok[0][1].model(ctx.device), dataset(ok[0][1].arm, ctx.device, ctx.root)
    return ClaimResult(
        "TD-3",
        ctx.case,
        j.verdict,
        j.line(),
        figures={
            "judgement": j,
            "test_loss_no_dropout": [a.epochs[-1].test_loss for a, _ in ok],
            "test_loss_dropout": [b.epochs[-1].test_loss for _, b in ok],
            "train_loss_no_dropout": [a.epochs[-1].train_loss for a, _ in ok],
            "train_loss_dropout": [b.epochs[-1].train_loss for _, b in ok],
            "epochs": with_dropout[0].arm.config.epochs,
        },
        note=join(budget_note(ctx), note),
        accuracies={"no_dropout": seed_accuracies(without), "dropout": seed_accuracies(with_dropout)},
        timed=inference(model, data),  # the dropout model
    )

