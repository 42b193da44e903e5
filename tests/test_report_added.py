"""The report's figures of issue 12's claims (BI-6, CH-7, CH-9, CH-11), drawn from hand-made
ledger rows: written from their rows, drawing what the rows hold, skipped with a reason without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import report_run
from report_run import ABSENT_CLAIMS, PNG

from precision_kit import ledger
from precision_kit.results import load


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory) -> Path:
    """The recorded run as a /3 ledger."""
    return report_run.typed_run(tmp_path_factory)


# ---------------------------------------------------------------- BI-6, CH-7, CH-9, CH-11: hand-made rows


def _ledger_row(claim: str, case: str, params: dict, figures: dict, device: str = "cpu") -> dict:
    return {"claim": claim, "source": f"{'000' if claim.startswith('BI') else '003'}_0123456789abcdef.txt",
            "statement": "a hand-made row", "case": case, "verdict": "INCONCLUSIVE", "line": "hand-made",
            "note": "", "harness_broken": None, "figures": figures, "device": device, "profile": "quick",
            "timing": None, "params": params, "accuracies": {}, "sizes": {}}


def _loss_curve(start: float, floor: float, bump: float = 0.0) -> list[float]:
    return [floor + (start - floor) * 0.5 ** e + (bump if e % 3 == 2 else 0.0) for e in range(10)]


def _bi6_rows() -> list[dict]:
    shallow = {"2": [_loss_curve(0.3, 0.08 + s / 100) for s in range(3)],
               "4": [_loss_curve(0.25, 0.07 + s / 100) for s in range(3)]}
    rows = []
    for depth in (8, 10):
        deep = [_loss_curve(2.3, 0.1 + s / 100, bump=0.02) for s in range(3)]
        rows.append(_ledger_row("BI-6", f"depth={depth}", {"depth": depth}, {
            "test_loss_curves": {**shallow, str(depth): deep}, "level": 0.0903, "epochs": 10,
            "epochs_to_level": {"shallow": [4.5, 5.0, 6.0], f"depth{depth}": [11, 9, 11]},
            "loss_rises": {"shallow": [0.0, 0.0, 0.01], f"depth{depth}": [0.06, 0.05, 0.07]}}))
    return rows


def _ch7_row(epochs: int = 100) -> dict:
    curve = [97.5 - 8.0 * 0.6 ** e - 0.001 * e for e in range(epochs)]
    curve[3] = None  # every seed diverged by then: no mean (a gap, no crash)
    return _ledger_row("CH-7", "epochs=500-vs-100", {}, {
        "mean_test_accuracy_per_epoch": curve, "epochs": epochs, "early_epoch": epochs // 5,
        "stated": {"epoch 100": 97.44, "epoch 500": 97.2, "train": 100.0}, "train_accuracy_eval": [99.98, None, 100.0]})


# CH-9's dead shares (percent) per seed and hidden layer (2 × 50 units), as `dead_percent` computes them.
CH9_LAYERS = {"lr0.01": [[40.0, 20.0], [30.0, 26.0], [44.0, 30.0], [36.0, 24.0], [50.0, 10.0]],
              "lr0.0001": [[0.0, 2.0], [2.0, 0.0], [0.0, 0.0], [4.0, 2.0], [0.0, 0.0]]}


def _ch9_row(labels=("lr0.01", "lr0.0001")) -> dict:
    """A CH-9 row with the figures `chasing_99_dynamics.ch9` records, its judgements included
    (serialized as a ledger row holds them)."""
    from precision_kit.claims.base import json_safe
    from precision_kit.claims.chasing_99_dynamics import LARGE_SHARE, STATED_UP_TO, large_share, more_dead

    overall = {label: [sum(layers) / 2 for layers in CH9_LAYERS[label]] for label in labels}
    figures = {
        "seeds": [0, 1, 2, 3, 4], "epochs": 100,
        **{f"dead_percent_{label}": overall[label] for label in labels},
        **{f"dead_percent_per_layer_{label}": CH9_LAYERS[label] for label in labels},
        **{f"dead_units_per_layer_{label}": [[round(p / 2) for p in layers] for layers in CH9_LAYERS[label]]
           for label in labels},
        "hidden_widths": [50, 50],
        "large_share_threshold_percent": LARGE_SHARE, "stated_up_to_percent": STATED_UP_TO,
    }
    if len(labels) == 2:
        figures["judgement_more_dead"] = json_safe(more_dead(overall["lr0.01"], overall["lr0.0001"]))
    figures["judgement_large_share"] = json_safe(large_share(overall["lr0.01"]))
    return _ledger_row("CH-9", "lr=0.01-vs-0.0001", {}, figures)


def _ch11_rows() -> list[dict]:
    def rounds(x: float) -> list[float]:
        return [x * (1 + k / 50) for k in range(3)]

    cpu = {"1": rounds(2e-4), "50": rounds(1e-5), "1000": rounds(2e-6)}
    cuda = {"1": rounds(4e-4), "50": rounds(8e-6), "1000": rounds(4e-7)}
    return [
        _ledger_row("CH-11", "part=throughput", {"part": "throughput"},
                    {"seconds_per_sample": cpu, "ratio_1_vs_50": [20.0, 18.5, 21.6], "target": 5.0}),
        _ledger_row("CH-11", "part=throughput", {"part": "throughput"},
                    {"seconds_per_sample": cuda, "ratio_1_vs_50": [50.0, 47.0, 53.0], "target": 5.0}, device="cuda"),
        _ledger_row("CH-11", "part=gpu-vs-cpu", {"part": "gpu-vs-cpu"}, {"target": 1.2}),  # a CPU-only machine's
        _ledger_row("CH-11", "part=gpu-vs-cpu", {"part": "gpu-vs-cpu"}, {"target": 1.2, "seconds_per_sample": {
            "cpu": {"1": rounds(2.2e-4), "1000": rounds(2.1e-6)}, "cuda": {"1": rounds(4.4e-4), "1000": rounds(5e-7)}}},
                    device="cuda"),
    ]


def test_the_bi6_ch7_ch9_ch11_figures_are_written_from_their_rows(typed_run, tmp_path):
    pytest.importorskip("matplotlib")
    from precision_kit.report import write_report

    doc = json.loads(typed_run.read_text(encoding="utf-8"))
    added = _bi6_rows() + [_ch7_row(), _ch9_row()] + _ch11_rows()
    run, _ = ledger.write(doc["rows"] + added, tmp_path, doc["machine"], name="with_new_claims")
    summary = write_report(run, tmp_path / "out")
    written = {f.name: f for f in summary.written}
    for name in ABSENT_CLAIMS:
        assert name in written, next((f.skipped for f in summary.skipped if f.name == name), None)
        data = written[name].path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    assert "cannot show the claim" in written["003-ch7-accuracy-vs-epoch"].note
    note = written["003-ch11-time-per-sample"].note
    assert "cpu: batch 1 ÷ batch 50 = 20.0×" in note and "cuda: batch 1 ÷ batch 50 = 50.0×" in note  # every device
    note = written["000-bi6-convergence-by-depth"].note
    assert "first reaches the level" in note and "summed epoch-to-epoch rises" in note
    note = written["003-ch9-dead-units-vs-lr"].note
    assert "outputs 0 for every one of the training images" in note and "lr 1e-2: 31.0% mean of 5 seeds" in note


def test_the_bi6_ch7_ch9_ch11_figures_draw_what_their_rows_hold():
    pytest.importorskip("matplotlib")
    from precision_kit.report import fig_chasing_claims, fig_convergence, fig_throughput, style

    style.require_matplotlib()
    with style.styled():
        axes = fig_convergence.convergence_by_depth(_bi6_rows()).figure.axes
        labels = axes[0].get_legend_handles_labels()[1]
        assert [lb.split(" (")[0] for lb in labels if lb.startswith("depth")] == [
            "depth 2", "depth 4", "depth 8", "depth 10"]  # 2 and 4 once, though both rows hold them
        assert any(lb.startswith("level 0.090") for lb in labels)
        assert [t.get_text() for t in axes[1].get_xticklabels()] == ["2 & 4", "8", "2 & 4", "10"]

        plot = fig_chasing_claims.accuracy_vs_epoch([_ch7_row()])
        ax = plot.figure.axes[0]
        stars = [c for c in ax.collections if c.get_label() == "source's single run"]
        assert [tuple(o) for o in stars[0].get_offsets()] == [(100, 97.44)]  # epoch 500 is off the plotted range
        assert "stops at 100 epochs" in plot.note and "source: 100%" in plot.note
        plot = fig_chasing_claims.accuracy_vs_epoch([_ch7_row(500)])
        stars = [c for c in plot.figure.axes[0].collections if c.get_label() == "source's single run"]
        assert len(stars) == 1 and sorted(tuple(o) for o in plot.figure.axes[0].collections[-1].get_offsets()) == [
            (500, 97.2)]
        assert "cannot show" not in plot.note

        plot = fig_throughput.time_per_sample(_ch11_rows())
        ax = plot.figure.axes[0]
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert ax.get_legend_handles_labels()[1] == ["cpu", "cpu (gpu-vs-cpu part)", "cuda", "cuda (gpu-vs-cpu part)"]
        assert list(ax.lines[0].get_xdata()) == [1, 50, 1000]
        assert ax.lines[0].get_ydata()[0] == pytest.approx(2e-4 * 1.02)  # the median round
        assert "0.50×" in plot.note  # the GPU's advantage at batch 1: CPU ÷ GPU
        # A CPU-only run: its throughput row alone draws the CPU line.
        plot = fig_throughput.time_per_sample(_ch11_rows()[:1] + _ch11_rows()[2:3])
        assert plot.figure.axes[0].get_legend_handles_labels()[1] == ["cpu"]

        plot = fig_chasing_claims.dead_units_vs_lr([_ch9_row()])
        overall, per_layer = plot.figure.axes[:2]
        for ax in (overall, per_layer):
            assert [t.get_text() for t in ax.get_xticklabels()] == ["lr 1e-4", "lr 1e-2"]
            lines = {ln.get_linestyle(): list(ln.get_ydata()) for ln in ax.lines if len(ln.get_ydata()) == 2
                     and ln.get_ydata()[0] == ln.get_ydata()[1]}
            assert lines["--"] == [10.0, 10.0] and lines[":"] == [40.0, 40.0]  # the claim's bar, the source's 40%
        dots = [c.get_offsets() for c in overall.collections if len(c.get_offsets()) == 5]
        assert [sorted(float(y) for _, y in d) for d in dots] == [[0.0, 0.0, 1.0, 1.0, 3.0],
                                                                  [28.0, 30.0, 30.0, 30.0, 37.0]]
        from matplotlib.collections import LineCollection

        bars = [c.get_segments()[0] for c in overall.collections if isinstance(c, LineCollection)
                and len(c.get_segments()) == 1 and c.get_segments()[0][0][1] == c.get_segments()[0][1][1]]
        assert [float(seg[0][1]) for seg in bars] == [pytest.approx(1.0), pytest.approx(31.0)]  # the means
        assert len([c for c in per_layer.collections if len(c.get_offsets()) == 5]) == 4  # 2 layers × 2 lrs
        assert per_layer.get_legend_handles_labels()[1][:2] == ["hidden layer 1 (50 units)",
                                                               "hidden layer 2 (50 units)"]
        assert "lr 1e-4: 1.0% mean of 5 seeds (range 0.0–3.0%)" in plot.note
        assert "lr 1e-2: 31.0% mean of 5 seeds (range 28.0–37.0%)" in plot.note and "→ HOLDS" in plot.note


def test_the_bi6_ch7_ch9_ch11_figures_skip_with_a_reason_without_their_rows(typed_run):
    pytest.importorskip("matplotlib")
    from precision_kit.report import fig_chasing_claims, fig_convergence, fig_throughput, style
    from precision_kit.report.style import Skip

    style.require_matplotlib()
    rows = list(load(typed_run).rows.values())
    with style.styled():
        chasing = fig_chasing_claims
        for make, claim in ((fig_convergence.convergence_by_depth, "BI-6"), (chasing.accuracy_vs_epoch, "CH-7"),
                            (chasing.dead_units_vs_lr, "CH-9"), (fig_throughput.time_per_sample, "CH-11")):
            with pytest.raises(Skip, match=f"the run has no {claim} case"):
                make(rows)
        only_target = [r for r in _ch11_rows() if "seconds_per_sample" not in r["figures"]]
        with pytest.raises(Skip, match="seconds_per_sample"):
            fig_throughput.time_per_sample(rows + only_target)
        with pytest.raises(Skip, match="test_loss_curves"):
            fig_convergence.convergence_by_depth([_ledger_row("BI-6", "depth=8", {"depth": 8}, {"level": 0.1})])
        with pytest.raises(Skip, match="mean_test_accuracy_per_epoch"):
            fig_chasing_claims.accuracy_vs_epoch([_ledger_row("CH-7", "epochs=500-vs-100", {}, {"epochs": 100})])
        with pytest.raises(Skip, match="dead_percent_lr0.01"):  # a CH-9 row without the dead shares
            fig_chasing_claims.dead_units_vs_lr(rows + [_ledger_row("CH-9", "lr=0.01-vs-0.0001", {}, {"epochs": 100})])
        with pytest.raises(Skip, match="one learning rate only"):
            fig_chasing_claims.dead_units_vs_lr([_ch9_row(labels=("lr0.01",))])
