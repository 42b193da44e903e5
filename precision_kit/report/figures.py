"""The report's figures, in report order: one entry per figure, each a function
`make(rows, other_rows) -> Plot` that raises `Skip` when the run holds no data for it. `rows`
are the rows of the run's primary device, or of every device for a spec with `all_devices`.
Importing this module imports matplotlib (see `style.require_matplotlib`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import (
    fig_chasing,
    fig_chasing_claims,
    fig_convergence,
    fig_cross,
    fig_depth,
    fig_dynamics,
    fig_params,
    fig_throughput,
)
from .style import Plot


@dataclass(frozen=True)
class FigureSpec:
    name: str  # the PNG's file stem
    heading: str  # the report's heading for the figure
    make: Callable[..., Plot]
    all_devices: bool = False  # drawn from every device's rows, not only the run's primary device's


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("000-fig2-test-loss-by-depth", "000 Figure 2 · BI-4: test loss vs epochs for each depth",
               fig_depth.test_loss_by_depth),
    FigureSpec("000-fig3-fp32-fp16-int8", "000 Figure 3 · BI-1, BI-3: FP32 vs FP16 vs INT8 at fixed depth",
               fig_depth.precisions_at_fixed_depth),
    FigureSpec("000-fig4-metrics-table", "000 Figure 4 · BI-1, BI-3, BI-4: metrics per precision and depth",
               fig_depth.metrics_table),
    FigureSpec("000-bi6-convergence-by-depth", "000 Figure 3 · BI-6: test loss per epoch by depth",
               fig_convergence.convergence_by_depth),
    FigureSpec("001-fig5-time-per-dtype", "001 Figure 5 · SZ-2: training and evaluation time per dtype",
               fig_params.times_per_dtype),
    FigureSpec("001-fig7-9-clipping", "001 Figures 7–9 · SZ-4: accuracy and time vs clip value",
               fig_params.clip_sweep),
    FigureSpec("001-fig10-11-weight-histograms",
               "001 Figures 10–11 · SZ-6: per-layer weight histograms before and after rounding",
               fig_params.weight_histograms),
    FigureSpec("001-fig12-accuracy-vs-decimals", "001 Figure 12 · SZ-5: accuracy vs decimal places retained",
               fig_params.accuracy_vs_decimals),
    FigureSpec("002-fig1-accuracy-per-optimizer", "002 Figure 1 · TD-2: accuracy per optimizer over epochs",
               fig_dynamics.accuracy_per_optimizer),
    FigureSpec("002-fig2-weight-distributions", "002 Figure 2 · TD-4: weight distributions over training",
               fig_dynamics.weight_distributions),
    FigureSpec("002-fig3-embedding", "002 Figure 3 · TD-5: 2-D embedding of penultimate activations",
               fig_dynamics.embedding),
    FigureSpec("003-accuracy-vs-stated", "003 · CH-1 … CH-6: accuracy of each variation vs the source's numbers",
               fig_chasing.accuracy_vs_stated),
    FigureSpec("003-confusion-matrices", "003 · CH-1 … CH-6: confusion matrices of the MLP variations",
               fig_chasing.confusion_matrices),
    FigureSpec("003-loss-curves", "003 · CH-1 … CH-6: loss curves of the MLP variations",
               fig_chasing.loss_curves),
    FigureSpec("003-ch7-accuracy-vs-epoch", "003 Version 6 · CH-7: test accuracy vs epoch to 500 epochs",
               fig_chasing_claims.accuracy_vs_epoch),
    FigureSpec("003-ch9-dead-units-vs-lr", "003 Versions 4, 5 · CH-9: dead ReLU units vs learning rate",
               fig_chasing_claims.dead_units_vs_lr),
    FigureSpec("003-ch11-time-per-sample", "003 Version 8 · CH-11: training time per sample vs batch size per device",
               fig_throughput.time_per_sample, all_devices=True),
    FigureSpec("size-vs-accuracy", "000, 001 · BI-2, BI-3, SZ-5: model size vs accuracy",
               fig_cross.size_vs_accuracy),
    FigureSpec("device-times", "All timed cases: this run's device vs the other run's (--other)",
               fig_cross.device_times),
)
