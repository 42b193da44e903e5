"""What every figure shares: the matplotlib import (Agg, or a clear UnsupportedError), the
print-readable style, the `Skip` a figure raises when the run holds no data for it, and the
`Plot` it returns otherwise."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import PrecisionKitError, UnsupportedError

DPI = 150
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}
PRECISION_COLORS = {
    "fp64": "#6a3d9a", "fp32": "#1f77b4", "fp16": "#d62728", "amp-fp16": "#d62728",
    "bf16": "#ff7f0e", "amp-bf16": "#ff7f0e", "int8": "#2ca02c", "rounded": "#8c564b",
}


class Skip(PrecisionKitError):
    """The run holds no data for a figure; the message says what is missing."""


@dataclass
class Table:
    """A table shown under a figure in report.md and report.html."""

    title: str
    headers: Sequence[str]
    rows: list[list[str]]


@dataclass
class Plot:
    """A made figure, with an optional note for its caption and tables to print under it."""

    figure: Any  # matplotlib.figure.Figure
    note: str = ""
    tables: list[Table] = field(default_factory=list)


def require_matplotlib():
    """The matplotlib module, set to the Agg backend; UnsupportedError if it is missing."""
    try:
        import matplotlib
    except ImportError as err:
        raise UnsupportedError(
            "the report needs matplotlib, which is not installed; install the extra "
            "(`pip install 'precision-kit[report]'` or `pip install matplotlib`) and run again"
        ) from err
    matplotlib.use("Agg", force=True)
    return matplotlib


@contextmanager
def styled() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float, *, title: str, source: str, claims: Sequence[str]):
    """A constrained-layout Figure (inches) whose title names the source and the claims."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    fig.suptitle(f"{title}\nsource {source} · {', '.join(claims)}", fontweight="bold")
    return fig


def mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return statistics.fmean(vals) if vals else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def jitter(n: int, width: float = 0.18) -> list[float]:
    """Evenly spread horizontal offsets for n per-seed dots around a category."""
    if n <= 1:
        return [0.0] * n
    return [-width + 2 * width * i / (n - 1) for i in range(n)]


def dodge(k: int, n: int, n_epochs: int, step: float = 0.08) -> float:
    """Horizontal offset of series k of n, so single-epoch points do not overlap (0 otherwise)."""
    return (k - (n - 1) / 2) * step if n_epochs == 1 else 0.0


def epoch_axis(ax, n_epochs: int) -> None:
    """Integer epoch ticks 1..n (at most ~12 labels) with half an epoch of margin."""
    step = max(1, -(-n_epochs // 12))
    ax.set_xticks(range(1, n_epochs + 1, step))
    ax.set_xlim(0.5, n_epochs + 0.5)
    ax.set_xlabel("epoch")


def plain_log_ticks(axis, values) -> None:
    """Log-scale ticks at the given values, printed as plain numbers."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.set_major_locator(FixedLocator(sorted(set(values))))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def plain_log_axis(axis) -> None:
    """A log axis with ticks at 1, 2 and 5 × 10ⁿ printed as plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
