"""Source 002 (discussion, point 1): claim TD-6, early layers learn general features and later
layers digit-specific ones. Measured on the Adam + dropout CNN every TD claim shares
(`training_dynamics_setup.runs`: nothing retrains), against the same network at its initial
weights as a reference.

Class selectivity (Morcos et al., 2018) of a unit: with μ_k its mean activation over the test
images of digit k, SI = (μ_max − μ_rest) / (μ_max + μ_rest), μ_rest the mean of the other nine;
0 for a unit that responds to every digit alike, 1 for one that responds to a single digit.
A convolutional unit is a channel, its activation the spatial mean after the ReLU. A unit
that never fires has no selectivity and is left out. A layer's figure is the mean over its
units.
"""

from __future__ import annotations

import torch
from torch import nn

from ..activations import each_relu_output
from ..evaluate import EVAL_BATCH
from ..models import N_CLASSES
from ..stats import superiority
from ..verdicts import Verdict
from .base import ClaimResult, Context, claim
from .cases import cases
from .training_dynamics_setup import SOURCE, budget_note, cnn_arm, fixed_test_subset, join, runs


def relu_activations(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> list[torch.Tensor]:
    """Per nn.ReLU of `model` (in module order), its output on `images` in eval mode as (n,
    units): a convolutional output averaged over its spatial positions."""
    chunks: dict[int, list[torch.Tensor]] = {}

    def record(i: int, output: torch.Tensor) -> None:
        out = output.float()
        chunks.setdefault(i, []).append((out.mean(dim=tuple(range(2, out.dim()))) if out.dim() > 2 else out).cpu())

    n = each_relu_output(model, images, record, batch_size)
    return [torch.cat(chunks[i]) for i in range(n)]


def class_selectivity(acts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """SI of each unit of `acts` (n, units; non-negative, as after a ReLU) given the digit
    `labels` (n,); units that never fire are dropped. Needs every digit among the labels."""
    labels = labels.cpu()
    present = torch.bincount(labels, minlength=N_CLASSES)
    if (present == 0).any():
        missing = torch.nonzero(present == 0).flatten().tolist()
        raise ValueError(f"class selectivity needs images of every digit; the labels have none of {missing}")
    acts = acts.double()
    means = torch.stack([acts[labels == k].mean(0) for k in range(N_CLASSES)])  # (10, units)
    top = means.max(0).values
    rest = (means.sum(0) - top) / (N_CLASSES - 1)
    alive = top > 0
    return ((top - rest) / (top + rest))[alive]


def layer_selectivity(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """The mean class selectivity of each ReLU layer of `model`, first layer first."""
    return [float(class_selectivity(a, labels).mean()) for a in relu_activations(model, images)]


def judge_layers(per_seed: list[list[float]]):
    """Per seed the layers' mean selectivities, first layer first: the last layer more
    class-specific than the first, Δ = SI(last) − SI(first) > 0, one-sided 95% over seeds."""
    return superiority([s[0] for s in per_seed], [s[-1] for s in per_seed])


LAYERS = ("conv1", "conv2", "fc")


@claim(
    "TD-6",
    SOURCE,
    "5 (1)",
    "early layers learn general features, later layers digit-specific ones",
    "class-selectivity index per unit (Morcos et al.), mean per ReLU layer on 2,000 test images; paired seeds, "
    "Δ = SI(fc, the last hidden layer) − SI(conv1) > 0, one-sided 95%; conv2 and the untrained network reported",
    cases=cases("selectivity-conv1-vs-fc"),
)
def td6(ctx: Context) -> ClaimResult:
    """The Adam + dropout CNN of each seed (5 quick at 1 epoch, UNTESTED / 10 paper at the
    source's 20), its three ReLU layers (conv1, conv2, the FC layer) on a fixed 2,000-image test
    subset (TD-5's): mean class selectivity per layer; HOLDS if the FC layer's exceeds conv1's
    (superiority over paired seeds). The same networks at their initial weights are reported:
    selectivity a layer has before training is not learned. Timed: the selectivity of one model."""
    trained = [r for r in runs(ctx, cnn_arm(ctx)) if not r.diverged]
    images, labels = fixed_test_subset(ctx, trained[0].arm)
    per_seed = [layer_selectivity(r.model(ctx.device), images, labels) for r in trained]
    at_init = [layer_selectivity(r.arm.model.build(r.seed).to(ctx.device), images, labels) for r in trained]
    j = judge_layers(per_seed)
    mean = [sum(s[i] for s in per_seed) / len(per_seed) for i in range(len(LAYERS))]
    init = [sum(s[i] for s in at_init) / len(at_init) for i in range(len(LAYERS))]
    shown = ", ".join(f"{name} {m:.3f} (init {i:.3f})" for name, m, i in zip(LAYERS, mean, init, strict=True))
    model = trained[0].model(ctx.device)
    return ClaimResult(
        "TD-6", ctx.case, j.verdict,
        f"mean class selectivity {shown}; Δ = fc − conv1: {j.line('')}",
        figures={"layers": list(LAYERS), "selectivity_per_seed": per_seed, "selectivity_at_init": at_init,
                 "mean": mean, "mean_at_init": init, "judgement": j, "seeds": [r.seed for r in trained],
                 "epochs": trained[0].arm.config.epochs},
        note=join(budget_note(ctx), "" if mean[1] <= mean[2] or j.verdict != Verdict.HOLDS
                  else "conv2 is more selective than the FC layer"),
        timed=lambda: layer_selectivity(model, images, labels),
    )
