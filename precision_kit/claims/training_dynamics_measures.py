"""Measures behind source 002's claims (TD-2, TD-4, TD-5), as pure functions of tensors.

- `epochs_to_threshold`: the first checkpoint whose test accuracy reaches a threshold
  (TD-2), with a censored value when the budget ends first.
- `wasserstein1`, `bimodality_coefficient`, `count_modes`, `WeightRecorder`: how each
  layer's weight distribution moves away from its initial one (TD-4).
- `knn_loo_accuracy`, `silhouette`, `pca_2d`: how well penultimate activations separate
  the digit classes (TD-5).

Everything computes in float64 on the CPU with torch only (no sklearn); nothing here
trains or reads the dataset, so the unit tests use synthetic tensors.
"""

from __future__ import annotations

import math

import torch
from torch import nn

HIST_BINS = 40
KDE_GRID = 256
KDE_MAX_SAMPLES = 4_000  # KDE on evenly spaced order statistics (quantiles) of the weights
MIN_DIP = 0.05  # a valley must dip 5% below the lower of two peaks to separate two modes
MIN_PEAK = 0.05  # a mode must reach 5% of the highest density (ignores lone outliers in tails)


def epochs_to_threshold(accuracies, threshold: float) -> tuple[int, bool]:
    """First checkpoint (1-based epoch) whose accuracy is ≥ `threshold`, and whether it was
    reached. Not reached in E checkpoints gives (E + 1, False): a lower bound on the true
    epoch, since the first E epochs of a longer run are the same (schedule per epoch)."""
    accs = list(accuracies)
    for i, acc in enumerate(accs):
        if acc is not None and acc >= threshold:
            return i + 1, True
    return len(accs) + 1, False


# ---------------------------------------------------------------------- weight shapes (TD-4)


def _flat64(values) -> torch.Tensor:
    x = torch.as_tensor(values).detach().to("cpu", torch.float64).flatten()
    if x.numel() == 0 or not torch.isfinite(x).all():
        raise ValueError(f"expected a non-empty tensor of finite weights; found {x.numel()} values")
    return x


def wasserstein1(a, b) -> float:
    """Exact 1-D Wasserstein distance between two equal-size samples:
    mean |sorted(a) − sorted(b)| (the optimal transport pairs order statistics)."""
    x, y = _flat64(a), _flat64(b)
    if x.numel() != y.numel():
        raise ValueError(
            f"wasserstein1 needs samples of equal size (here the same layer at two epochs); "
            f"found {x.numel()} and {y.numel()}"
        )
    return float((x.sort().values - y.sort().values).abs().mean())


def moments(values) -> tuple[float, float]:
    """Sample skewness and excess kurtosis (population moments, as in scipy's defaults)."""
    x = _flat64(values)
    c = x - x.mean()
    var = float((c**2).mean())
    if var == 0.0:
        return 0.0, 0.0
    return float((c**3).mean()) / var**1.5, float((c**4).mean()) / var**2 - 3.0


def bimodality_coefficient(values) -> float:
    """Sarle's bimodality coefficient (g² + 1) / (κ + 3(n−1)²/((n−2)(n−3))), g = skewness,
    κ = excess kurtosis. > 5/9 ≈ 0.555 suggests bimodality; a uniform distribution sits at
    the threshold (0.556) and a Gaussian at 1/3, so it is reported, not judged."""
    x = _flat64(values)
    n = x.numel()
    if n < 4:
        raise ValueError(f"the bimodality coefficient needs at least 4 values; found {n}")
    g, k = moments(x)
    return (g**2 + 1.0) / (k + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def kde(values, grid: int = KDE_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian kernel density on `grid` points spanning the data ± 3 bandwidths, with
    Silverman's bandwidth 0.9·min(sd, IQR/1.34)·n^(−1/5)."""
    x = _flat64(values).sort().values
    if x.numel() > KDE_MAX_SAMPLES:
        x = x[torch.linspace(0, x.numel() - 1, KDE_MAX_SAMPLES).round().long()]
    n = x.numel()
    sd = float(x.std()) if n > 1 else 0.0
    iqr = float(x[int(0.75 * (n - 1))] - x[int(0.25 * (n - 1))])
    spread = min(sd, iqr / 1.34) if iqr > 0 else sd
    h = 0.9 * spread * n ** (-0.2) if spread > 0 else 1e-12
    points = torch.linspace(float(x[0]) - 3 * h, float(x[-1]) + 3 * h, grid, dtype=torch.float64)
    z = (points[:, None] - x[None, :]) / h
    density = torch.exp(-0.5 * z**2).sum(1) / (n * h * math.sqrt(2 * math.pi))
    return points, density


def count_modes(values, min_dip: float = MIN_DIP, min_peak: float = MIN_PEAK) -> int:
    """Number of modes of the Gaussian KDE: local maxima at least `min_peak` × the highest
    density, merging two neighbours whenever the valley between them stays within `min_dip`
    (relative) of the lower peak."""
    _, d = kde(values)
    d = d.tolist()
    floor = min_peak * max(d)
    peaks = [
        i for i in range(1, len(d) - 1) if d[i] > d[i - 1] and d[i] >= d[i + 1] and d[i] >= floor
    ]
    merged = True
    while merged and len(peaks) > 1:
        merged = False
        for j in range(len(peaks) - 1):
            p, q = peaks[j], peaks[j + 1]
            valley = min(d[p : q + 1])
            if valley >= (1.0 - min_dip) * min(d[p], d[q]):
                peaks.pop(j + 1 if d[p] >= d[q] else j)
                merged = True
                break
    return max(len(peaks), 1)


def histogram(values, bins: int = HIST_BINS) -> dict:
    x = _flat64(values)
    low, high = float(x.min()), float(x.max())
    if high == low:
        high = low + 1e-12
    counts = torch.histc(x, bins, low, high)
    return {"low": low, "high": high, "counts": [int(c) for c in counts]}


def weight_layers(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weight tensors (not biases) of every Linear and Conv2d layer, by module name."""
    return {
        name: m.weight
        for name, m in model.named_modules()
        if isinstance(m, (nn.Linear, nn.Conv2d))
    }


class WeightRecorder:
    """The `recorder` hook of `experiment.run_arm` for TD-4: per layer and checkpoint, the
    W1 distance from the initial weights, KDE mode count, bimodality coefficient, excess
    kurtosis and a 40-bin histogram. Epoch 0 (before training) resets it, so one recorder
    serves every seed of `run_seeds`. Only these summaries enter the cache."""

    key = "td-weights-v1"

    def __init__(self) -> None:
        self._init: dict[str, torch.Tensor] = {}
        self._rows: dict[str, dict[str, list]] = {}
        self._epochs: list[int] = []

    def on_epoch(self, epoch: int, model: nn.Module) -> None:
        layers = {k: _flat64(w).sort().values for k, w in weight_layers(model).items()}
        if epoch == 0:
            self._init, self._epochs = layers, []
            self._rows = {k: {f: [] for f in FIELDS} for k in layers}
        if set(layers) != set(self._init):
            raise ValueError(
                f"WeightRecorder saw layers {sorted(layers)} at epoch {epoch} but "
                f"{sorted(self._init)} at epoch 0; call on_epoch(0, model) first for each run"
            )
        self._epochs.append(epoch)
        for name, w in layers.items():
            row = self._rows[name]
            row["w1"].append(float((w - self._init[name]).abs().mean()))
            row["modes"].append(count_modes(w))
            row["bimodality"].append(bimodality_coefficient(w))
            row["kurtosis"].append(moments(w)[1])
            row["histogram"].append(histogram(w))

    def result(self) -> dict:
        return {"weight_epochs": list(self._epochs), "weights": self._rows}


FIELDS = ("w1", "modes", "bimodality", "kurtosis", "histogram")


# ---------------------------------------------------------------- class separation (TD-5)


def _features(x) -> torch.Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    return x.reshape(len(x), -1)


def _labels(labels, n: int) -> torch.Tensor:
    y = torch.as_tensor(labels).detach().to("cpu", torch.int64).flatten()
    if y.numel() != n:
        raise ValueError(f"expected one label per sample ({n}); found {y.numel()}")
    return y


def knn_loo_accuracy(features, labels, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy (percent), Euclidean distance, majority vote; a tie goes
    to the class whose members are nearer (each vote carries a rank bonus below one vote)."""
    x = _features(features)
    y = _labels(labels, len(x))
    if not 1 <= k < len(x):
        raise ValueError(f"k must be in [1, n − 1] = [1, {len(x) - 1}]; found {k}")
    dist = torch.cdist(x, x)
    dist.fill_diagonal_(math.inf)
    idx = dist.topk(k, largest=False).indices  # (n, k), nearest first
    votes = torch.zeros(len(x), int(y.max()) + 1, dtype=torch.float64)
    weight = 1.0 + (k - torch.arange(k, dtype=torch.float64)) / (k * (k + 1))
    votes.scatter_add_(1, y[idx], weight.expand(len(x), k).contiguous())
    return 100.0 * float((votes.argmax(1) == y).double().mean())


def silhouette(features, labels) -> float:
    """Mean silhouette (b − a) / max(a, b) with Euclidean distances: a = mean distance to the
    other members of one's class, b = smallest mean distance to another class."""
    x = _features(features)
    y = _labels(labels, len(x))
    classes = y.unique()
    if len(classes) < 2:
        raise ValueError("the silhouette needs at least two classes")
    dist = torch.cdist(x, x)
    pos = torch.searchsorted(classes, y)  # class index of each sample
    onehot = torch.zeros(len(x), len(classes), dtype=torch.float64)
    onehot[torch.arange(len(x)), pos] = 1.0
    sums = dist @ onehot  # (n, c): summed distance to each class
    sizes = onehot.sum(0)
    own_size = sizes[pos]
    a = sums.gather(1, pos[:, None]).squeeze(1) / (own_size - 1).clamp(min=1)
    b = (sums / sizes).scatter(1, pos[:, None], math.inf).min(1).values
    s = (b - a) / torch.maximum(a, b).clamp(min=1e-300)
    single = own_size == 1  # silhouette of a singleton is 0 by convention
    return float(s.masked_fill(single, 0.0).mean())


def pca_2d(features) -> torch.Tensor:
    """Exact 2-D PCA coordinates (n, 2) from the SVD of the centred data; each axis is
    signed so that its largest loading is positive (deterministic across runs)."""
    x = _features(features)
    c = x - x.mean(0)
    _, _, vh = torch.linalg.svd(c, full_matrices=False)
    v = vh[:2].T
    sign = torch.sign(v.gather(0, v.abs().argmax(0, keepdim=True)))
    return c @ (v * sign)
