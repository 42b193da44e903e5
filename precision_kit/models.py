"""The sources' model shapes, built in float32 on CPU from a dedicated generator.

Every precision and device arm of a seed starts from the same weights: the model is made
here in float32 on the CPU from `torch.Generator().manual_seed(seed)`, and only then cast
and moved (`precision.cast_model`). The global RNG is never touched.

- `mlp(depth, width)`: 784 → width × depth → 10 (source 000: width 128, depth 2–10, Xavier;
  source 001: widths (128, 64); source 003: width 50, depth 1–3, PyTorch default init).
- `cnn(dropout)`: source 002's conv(32) → pool → conv(64) → pool → FC 128 → dropout → 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}
INITS = ("xavier_uniform", "default", "gaussian")
IN_FEATURES = 28 * 28
N_CLASSES = 10


def _check_choice(field: str, value: str, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{field}={value!r} is not supported; expected one of {', '.join(allowed)}")


def _init_(module: nn.Module, init: str, generator: torch.Generator) -> None:
    """Initialise Linear/Conv2d parameters in place from `generator`.

    "default" reproduces PyTorch's own reset_parameters (Kaiming-uniform with a=√5 and a
    fan-in uniform bias) but draws from the given generator; "xavier_uniform" is
    Glorot-uniform weights with zero biases (source 000, Table 1); "gaussian" is a normal
    N(0, σ²) with He's σ = √(2 / fan_in) and zero biases (source 002's "initial Gaussian
    form", whose σ the source does not give).
    """
    for layer in module.modules():
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        with torch.no_grad():
            if init == "xavier_uniform":
                nn.init.xavier_uniform_(layer.weight, generator=generator)
                nn.init.zeros_(layer.bias)
            elif init == "gaussian":
                nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / layer.weight[0].numel()), generator=generator)
                nn.init.zeros_(layer.bias)
            else:
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                fan_in = layer.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _own_rng():
    """Layer constructors draw a throw-away init from the global RNG: restore it after."""
    return torch.random.fork_rng(devices=[])


def _hidden_widths(depth: int, width: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int ≥ 1 (number of hidden layers); found {depth!r}")
    if isinstance(width, int) and not isinstance(width, bool):
        widths: tuple[int, ...] = (width,) * depth
    else:
        widths = tuple(width)
        if len(widths) != depth:
            raise ValueError(
                f"width lists one size per hidden layer: expected {depth} sizes for depth={depth}, "
                f"found {len(widths)} ({widths!r}); pass an int to repeat one width"
            )
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"hidden widths must be ints ≥ 1; found {widths!r}")
    return widths


def mlp(
    depth: int = 2,
    width: int | Sequence[int] = 128,
    activation: str = "relu",
    init: str = "xavier_uniform",
    seed: int = 0,
) -> nn.Sequential:
    """A fully connected classifier 784 → hidden widths → 10, float32 on CPU.

    `depth` is the number of hidden layers; `width` one int for all of them, or one size per
    layer (source 001 uses `mlp(2, (128, 64))`). The output layer is linear: softmax lives
    in the cross-entropy loss.
    """
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("init", init, INITS)
    widths = _hidden_widths(depth, width)
    layers: list[nn.Module] = [nn.Flatten()]
    fan_in = IN_FEATURES
    with _own_rng():
        for w in widths:
            layers += [nn.Linear(fan_in, w), ACTIVATIONS[activation]()]
            fan_in = w
        layers.append(nn.Linear(fan_in, N_CLASSES))
    model = nn.Sequential(*layers)
    _init_(model, init, torch.Generator().manual_seed(seed))
    return model


CNN_DEPTHS = (2, 3)  # convolutional layers: the source's CNN, and TD-7's deeper member of its family


def cnn(dropout: float = 0.5, init: str = "default", seed: int = 0, depth: int = 2) -> nn.Sequential:
    """Source 002's CNN: conv3×3(32) → ReLU → maxpool2 → conv3×3(64) → ReLU → maxpool2 →
    FC 128 → ReLU → dropout → 10. The source gives no kernel size; 3×3 unpadded is the
    common choice for this shape (28 → 26 → 13 → 11 → 5, so the FC sees 64·5·5 = 1600).
    `dropout=0` gives the no-dropout arm of claim TD-3 with otherwise identical weights.
    `depth=3` inserts a third convolution, conv3×3(64, padding 1) → ReLU, before the second
    pooling (the FC still sees 1600): the deeper member of the family claim TD-7 needs.
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1); found {dropout!r}")
    _check_choice("init", init, INITS)
    if depth not in CNN_DEPTHS:
        raise ValueError(f"a cnn has {' or '.join(map(str, CNN_DEPTHS))} convolutional layers; found depth={depth!r}")
    with _own_rng():
        model = _cnn_layers(dropout, depth)
    _init_(model, init, torch.Generator().manual_seed(seed))
    return model


def _cnn_layers(dropout: float, depth: int = 2) -> nn.Sequential:
    third = [nn.Conv2d(64, 64, 3, padding=1), nn.ReLU()] if depth == 3 else []
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        *third,
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, N_CLASSES),
    )


def penultimate(model: nn.Sequential) -> nn.Sequential:
    """The model up to (and including) the activation before the last Linear layer."""
    linear_positions = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    if not linear_positions:
        raise ValueError("penultimate() needs a model with a final Linear layer")
    return model[: linear_positions[-1]]
