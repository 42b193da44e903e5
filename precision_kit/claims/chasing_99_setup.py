"""Source 003 ("Chasing 99%", a blog of single MNIST runs): the setup, budgets and run
helpers shared by its claims (CH-1 … CH-3 in `chasing_99`, CH-4 … CH-6 in `chasing_99_arch`,
CH-9 in `chasing_99_dynamics`, CH-10 in `chasing_99_confusions`). This module registers no
claim and imports none of those modules.

Setup (sections "A bit about implementation", "Models", "Version 1 … 8", "3 Hidden Layer
NN"): MLP 784 → 50 → 50 → 10 ReLU, PyTorch's default init, Adam, cross-entropy, batch 50,
inputs standardized ((x − mean) / sd). The source's numbers are single runs; here every
claim is judged over paired seeds (same initial weights and data order per seed).

Learning rate: versions 1–4 use 1e-3 / 1e-2; the source says "From now on I have kept the
learning at 0.0001" after version 5, so every later run — batch sizes (CH-3), 1 and 3
hidden layers (CH-4), sigmoid (CH-5) and widths (CH-6) — uses lr 1e-4 here too. The
sigmoid and width networks of the source have 3 hidden layers (their listings), so CH-5
and CH-6 compare 3-hidden-layer networks (ReLU 3 × 50 = 97.31% is their reference).

Budgets. Both profiles train the source's epochs (CH-1 10/50/100, CH-2 100, CH-3/5/6 50,
CH-4 50 for 3 layers and 100 for 1 layer) as populations of seeds: 10 seeds in the paper
profile, 5 in quick. Quick reduces only the two costly arms, whose cases are then UNTESTED:
CH-3's batch 1 (2 of 50 epochs: 60,000 steps an epoch) and CH-6's width 1000 (1 epoch, 3
seeds: 7 s per member-epoch). Adam has
no schedule here, so epoch E of a longer run is exactly an E-epoch run (same seed, same
init, same data order): every arm evaluates the test set each epoch and one run serves
several epoch budgets (e.g. the 100-epoch lr 1e-3 run gives CH-1's 10, 50 and 100).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import PrecisionKitError
from ..evaluate import evaluate
from ..experiment import Arm, ModelSpec, dataset, run_seeds
from ..train import TrainConfig
from .base import Context
from .pairing import diverged_note
from .report_data import arm_summaries

SOURCE = "003_621ad06e8d3ade42.txt"
QUICK_WIDE = (1, 3)  # quick, width 1000 (~10× the cost of width 100 per epoch): epochs, seeds


def arm(lr: float, epochs: int, depth: int = 2, width: int = 50, batch_size: int = 50,
        activation: str = "relu") -> Arm:
    """The source's MLP and training setup; test accuracy is recorded every epoch."""
    return Arm(
        ModelSpec("mlp", depth=depth, width=width, activation=activation, init="default"),
        TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, evaluation="epoch"),
        normalize="standardize",
    )


# ---------------------------------------------------------------------------- runs
def lr2_runs(ctx: Context, n):
    """CH-2's lr 1e-2 arm (2 × 50, batch 50): the source's 100 epochs."""
    return run_seeds(arm(1e-2, 100), n, ctx.device, ctx.root)


def lr3_runs(ctx: Context, n_seeds: range):
    """lr 1e-3 (versions 1–3): one 100-epoch run per seed (CH-1 reads it at 10, 50, 100)."""
    return run_seeds(arm(1e-3, 100), n_seeds, ctx.device, ctx.root)


def lr4_runs(ctx: Context, n_seeds: range):
    """lr 1e-4, 2 × 50, batch 50 (version 5 on): the base arm of CH-2 … CH-4, 100 epochs
    (CH-3 and CH-4 at 3 layers read its epoch 50)."""
    return run_seeds(arm(1e-4, 100), n_seeds, ctx.device, ctx.root)


def deep_runs(ctx: Context, width: int, n, activation: str = "relu", epochs: int | None = None):
    """3 hidden layers of `width`, lr 1e-4, batch 50, the source's 50 epochs unless `epochs`."""
    epochs = epochs or 50
    return run_seeds(arm(1e-4, epochs, depth=3, width=width, activation=activation), n, ctx.device, ctx.root)


def run_data(run, ctx: Context):
    return dataset(run.arm, ctx.device, ctx.root)


def kept_runs(runs: Sequence) -> tuple[list, str]:
    """The runs that did not diverge (a diverged model predicts nothing) and a note on the others."""
    dropped = [f"seed {r.seed}: {r.status}" for r in runs if r.diverged]
    return [r for r in runs if not r.diverged], diverged_note(dropped)


def epochs_note(ctx: Context, runs: Sequence, source_epochs: int, extra: str = "") -> str:
    epochs = runs[0].arm.config.epochs if runs else 0
    if epochs >= source_epochs:
        return ""
    return f"{ctx.profile}: {epochs} of the source's {source_epochs} epochs{extra}"


# ---------------------------------------------------------------------------- helpers
def accuracy_at(run, epoch: int) -> float:
    """Test accuracy (percent) of `run` after `epoch` epochs, read from its epoch records."""
    if not 1 <= epoch <= run.arm.config.epochs:
        raise PrecisionKitError(
            f"epoch {epoch} is outside the run's 1..{run.arm.config.epochs} epochs; "
            "train the arm for at least that many epochs"
        )
    if epoch > len(run.epochs):
        raise PrecisionKitError(f"seed {run.seed} {run.status} before epoch {epoch}: it has no accuracy there")
    acc = run.epochs[epoch - 1].test_accuracy
    if acc is None:
        raise PrecisionKitError(
            f"seed {run.seed} has no test accuracy recorded at epoch {epoch}; train with evaluation='epoch'"
        )
    return float(acc)


def reached(run, epoch: int) -> bool:
    """Whether the run finished `epoch` epochs without diverging (records stop at divergence)."""
    return epoch <= len(run.epochs)


def paired_at(a_runs: Sequence, b_runs: Sequence, epoch_a: int, epoch_b: int) -> tuple[list[float], list[float], str]:
    """Accuracies of two arms paired by seed at the given epochs, leaving out every seed
    where either arm diverged before its epoch; the note says which seeds left."""
    acc_a, acc_b, dropped = [], [], []
    for ra, rb in zip(a_runs, b_runs, strict=True):
        if ra.seed != rb.seed:
            raise ValueError(f"runs are not paired: seed {ra.seed} against seed {rb.seed}")
        if not (reached(ra, epoch_a) and reached(rb, epoch_b)):
            dropped.append(f"seed {ra.seed}: {ra.status if not reached(ra, epoch_a) else rb.status}")
            continue
        acc_a.append(accuracy_at(ra, epoch_a))
        acc_b.append(accuracy_at(rb, epoch_b))
    note = f"{len(dropped)} seed(s) diverged and left out ({'; '.join(dropped)})" if dropped else ""
    return acc_a, acc_b, note


def accuracies_at(runs: Sequence, epoch: int) -> list[float | None]:
    """Test accuracy of each run after `epoch` epochs, by seed (None: diverged before it), for
    `ClaimResult.accuracies`."""
    return [accuracy_at(r, epoch) if reached(r, epoch) else None for r in runs]


def pair_accuracies(epochs: int, arms: dict[str, tuple[Sequence, list[float]]]) -> dict[str, list[float | None]]:
    """`ClaimResult.accuracies` of a two-arm CH claim (`arms` as for `pair_figures`)."""
    return {label: accuracies_at(runs, epochs) for label, (runs, _) in arms.items()}


def train_accuracies(runs: Sequence, epoch: int) -> list[float]:
    """Running train accuracy over the batches of epoch `epoch` (percent), per seed that reached it."""
    return [float(r.epochs[epoch - 1].train_accuracy) for r in runs if reached(r, epoch)]


def pair_figures(ctx: Context, epochs: int, j, arms: dict[str, tuple[Sequence, list[float]]]) -> dict:
    """The figures every two-arm CH claim stores: each arm's per-seed train accuracy (`arms`:
    label → (runs, paired test accuracies); the test accuracies are typed: `pair_accuracies`),
    the judgement, the epoch budget and, for the report, the arms' loss curves and confusion
    matrices."""
    out: dict = {f"train_accuracy_{label}": train_accuracies(runs, epochs) for label, (runs, _) in arms.items()}
    out.update(judgement=j, epochs=epochs, arms=arm_summaries({label: runs for label, (runs, _) in arms.items()}, ctx))
    return out


def inference(run, ctx: Context):
    """A zero-argument callable: inference of the trained `run` on the 10,000 test images."""
    model, data = run.model(ctx.device), dataset(run.arm, ctx.device, ctx.root)
    return lambda: evaluate(model, data, "test")
