"""The report (precision_kit.report) rendered from a small recorded run (tests/report_run.py:
tests/data/small_run.json, given the typed part of schema /3).

Checks that every figure made is a PNG file in the output folder and is embedded in the HTML,
that every other figure is skipped with a reason, that the ledger lists every case, and (when
chromium is installed: `apt-get install -y chromium`) that the page renders in headless
Chromium to a non-blank screenshot.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import report_run
from report_run import ABSENT_CLAIMS, PNG, SMALL_RUN

from precision_kit import ledger
from precision_kit.errors import UnsupportedError
from precision_kit.report import rows as report_rows
from precision_kit.results import ResultsError, load

# Figures whose data the recorded run holds, and those it cannot have (with a word of the reason).
EXPECTED_WRITTEN = {
    "000-fig2-test-loss-by-depth", "000-fig3-fp32-fp16-int8", "000-fig4-metrics-table",
    "001-fig5-time-per-dtype", "001-fig7-9-clipping", "001-fig10-11-weight-histograms",
    "001-fig12-accuracy-vs-decimals", "002-fig1-accuracy-per-optimizer", "002-fig2-weight-distributions",
    "002-fig3-embedding", "003-accuracy-vs-stated", "size-vs-accuracy",
}
# Recorded only by claims newer than the run: written once the run holds them, else skipped naming them.
NEWER_FIELDS = {"003-confusion-matrices": "arms", "003-loss-curves": "arms"}
CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory) -> Path:
    """The recorded run as a /3 ledger."""
    return report_run.typed_run(tmp_path_factory)


@pytest.fixture(scope="module")
def report(tmp_path_factory, typed_run):
    pytest.importorskip("matplotlib", reason="the report needs matplotlib (the 'report' or 'dev' extra)")
    from precision_kit.report import write_report

    out = tmp_path_factory.mktemp("report")
    summary = write_report(typed_run, out)
    return summary, summary.html.read_text(encoding="utf-8"), summary.markdown.read_text(encoding="utf-8")


def test_the_recorded_run_is_small_and_valid(typed_run):
    assert SMALL_RUN.stat().st_size < 300_000
    rows = load(typed_run).rows.values()
    assert rows and all(isinstance(r["accuracies"], dict) for r in rows)
    assert not any("fp32_accuracy" in r["figures"] or "accuracy" in r["figures"] for r in rows)


def test_every_figure_is_written_or_skipped_with_a_reason(report):
    summary, _, _ = report
    written = {f.name for f in summary.written}
    skipped = {f.name: f.skipped for f in summary.skipped}
    assert EXPECTED_WRITTEN <= written
    assert written.isdisjoint(skipped) and len(written) + len(skipped) == len(summary.figures)
    assert all(reason and len(reason) > 15 for reason in skipped.values())
    assert "--other" in skipped["device-times"]
    for name, field in NEWER_FIELDS.items():
        assert name in written or field in skipped[name], (name, skipped.get(name))
    for name, claim in ABSENT_CLAIMS.items():
        assert f"no {claim} case" in skipped[name], (name, skipped.get(name))


def test_every_written_figure_is_a_png_file(report):
    summary, _, _ = report
    for f in summary.written:
        data = f.path.read_bytes()
        assert f.path.parent == summary.out_dir and f.path.suffix == ".png"
        assert data.startswith(PNG) and len(data) > 10_000, f.path


def test_html_embeds_every_figure_and_needs_nothing_external(report):
    summary, page, _ = report
    for f in summary.written:
        assert base64.b64encode(f.path.read_bytes()).decode("ascii") in page, f.name
        assert f'data-file="{f.path.name}"' in page
    for f in summary.skipped:
        assert html.escape(f.skipped) in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == len(summary.written)
    assert not re.search(r'(src|href)="(https?:|//)', page) and "<script" not in page and "<link" not in page


def test_the_ledger_lists_every_case_with_its_verdict(report, typed_run):
    _, page, md = report
    rows = load(typed_run).rows.values()
    for r in rows:
        assert r["claim"] in page and r["claim"] in md
        assert r["case"] in page and f"| {r['case']} |" in md
    badges = {"HOLDS": "✅ HOLDS", "FAILS": "❌ FAILS", "INCONCLUSIVE": "❔ INCONCLUSIVE"}
    for verdict in {r["verdict"] for r in rows}:
        assert f'class="badge {verdict}"' in page and badges[verdict] in md
    assert "Machine" in md and "precision_kit torch" in md


def test_markdown_links_every_figure_and_gives_every_skip_reason(report):
    summary, _, md = report
    for f in summary.written:
        assert f"]({f.path.name})" in md
    for f in summary.skipped:
        assert f"**Skipped:** {f.skipped}" in md
    text = summary.text()
    assert all(f.path.name in text for f in summary.written) and all(f.skipped in text for f in summary.skipped)


def test_a_second_run_adds_the_device_time_figure(report, typed_run, tmp_path):
    from precision_kit.report import write_report

    doc = json.loads(typed_run.read_text(encoding="utf-8"))
    timed = [r for r in doc["rows"] if r.get("timing")]
    if not timed:
        pytest.skip("the recorded run holds no timed case")
    faster = [dict(r, device="cuda", timing=dict(r["timing"], median_seconds=r["timing"]["median_seconds"] / 7))
              for r in timed]
    other, _ = ledger.write(faster, tmp_path, doc["machine"], name="other")
    summary = write_report(typed_run, tmp_path / "out", other)
    assert "device-times" in {f.name for f in summary.written}


def test_without_matplotlib_the_report_says_what_to_install(monkeypatch, tmp_path):
    from precision_kit.report import write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    with pytest.raises(UnsupportedError, match="pip install"):
        write_report(SMALL_RUN, tmp_path)


def test_an_unreadable_run_is_a_results_error(tmp_path):
    pytest.importorskip("matplotlib")
    from precision_kit.report import write_report

    (tmp_path / "empty.json").write_text("")
    with pytest.raises(ResultsError):
        write_report(tmp_path / "empty.json", tmp_path / "out")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_the_html_renders_in_headless_chromium(report, tmp_path):
    summary, _, _ = report
    shot = tmp_path / "screenshot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
           summary.html.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert shot.stat().st_size > 50_000
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.std() > 0.05  # not one flat colour
    assert (pixels.min(axis=-1) < 0.5).mean() > 0.01  # some dark ink (text, tables) on the page


def _fake_run(seed: int, losses, seconds=1.0, diverged=False):
    from types import SimpleNamespace

    from precision_kit.train import EpochRecord

    epochs = tuple(EpochRecord(epoch=i + 1, train_loss=loss, train_accuracy=90.0 + i, seconds=seconds,
                               test_loss=loss / 2, test_accuracy=95.0) for i, loss in enumerate(losses))
    return SimpleNamespace(seed=seed, epochs=epochs, diverged=diverged)


def test_the_claims_report_data_is_compact_and_exact():
    import torch

    from precision_kit.claims.report_data import epoch_curves, rounded_value_counts, train_seconds

    runs = [_fake_run(0, [0.5, 0.25]), _fake_run(1, [0.7])]
    assert epoch_curves(runs) == {"train_loss": [[0.5, 0.25], [0.7]], "train_acc": [[90.0, 91.0], [90.0]],
                                  "test_loss": [[0.25, 0.125], [0.35]]}
    curve = {0.01: (runs, [_fake_run(0, [1.0], seconds=3.0), _fake_run(1, [1.0], diverged=True)])}
    assert train_seconds(curve, ("fp32", "amp-fp16")) == {"0.01": {"fp32": 1.5, "amp-fp16": 3.0}}
    states = [{"w": torch.tensor([0.123, -0.149, 0.151]), "n": torch.tensor([3])},
              {"w": torch.tensor([0.12, 0.0, 0.049]), "n": torch.tensor([3])}]
    counts = rounded_value_counts(states, (1, 2))
    assert counts["1"] == {"w": {"units": [-1, 0, 1, 2], "counts": [1, 2, 2, 1]}}
    assert counts["2"]["w"] == {"units": [-15, 0, 5, 12, 15], "counts": [1, 1, 1, 2, 1]}


def test_the_newer_figures_draw_from_their_fields():
    pytest.importorskip("matplotlib")
    from precision_kit.report import fig_chasing, style

    style.require_matplotlib()
    confusion = [[100 if t == p else 3 for p in range(10)] for t in range(10)]
    arms = {"lr1e-3": {"epochs_trained": 3, "train_loss": [0.5, 0.3, 0.2], "test_loss": [0.4, 0.3, 0.25],
                       "confusion": confusion, "confusion_seed": 0},
            "lr0.01": {"epochs_trained": 2, "train_loss": [0.9, 0.6], "test_loss": [0.8, 0.7],
                       "confusion": [r[::-1] for r in confusion], "confusion_seed": 0}}
    rows = [{"claim": "CH-2", "case": f"lr={lr}", "device": "cpu", "figures": {"arms": arms}} for lr in ("0.01", "1")]
    with style.styled():
        assert len(fig_chasing.confusion_matrices(rows).figure.axes) >= 2
        assert fig_chasing.loss_curves(rows).figure.axes[0].get_legend_handles_labels()[1] == [
            "CH-2 lr1e-3", "CH-2 lr0.01"]


def test_the_figures_read_params_and_typed_accuracies_not_case_strings_or_figure_names():
    pytest.importorskip("matplotlib")
    from precision_kit.report import fig_chasing, fig_cross, fig_depth, fig_params, style
    from precision_kit.report.style import Skip

    style.require_matplotlib()
    enc = [{"seed": s, "nbytes": 80_000 + s, "bits_per_weight": 5.8, "paper_bits_per_weight": 8,
            "fp32_serialized_bytes": 440_213} for s in (0, 2)]
    # Recorded before /3: parameters only in the case string, accuracies only as figures.
    old = [{"claim": "SZ-5", "case": "decimals=2", "device": "cpu",
            "figures": {"fp32_accuracy": [97.0, 97.2], "rounded_accuracy": [96.0, 96.5], "encoding": enc}},
           {"claim": "BI-3", "case": "depth=2-torch.ao", "device": "cpu",
            "figures": {"fp32_accuracy": [97.5], "int8_accuracy": [97.4], "int8_test_loss": [0.09]}},
           {"claim": "BI-1", "case": "depth=2-amp-fp16", "device": "cpu",
            "figures": {"fp32_accuracy": [97.5], "amp-fp16_accuracy": [97.6]}},
           {"claim": "CH-2", "case": "lr=0.01", "device": "cpu", "figures": {"accuracy_lr0.01": [95.0]}},
           {"claim": "SZ-4", "case": "norm-clip=0.01", "device": "cpu",
            "figures": {"fp32_accuracy": [97.0], "amp-fp16_accuracy": [97.1]}}]
    typed = [
        {**old[0], "params": {"decimals": 2}, "accuracies": {"fp32": [97.0, None, 97.2], "rounded": [96.0, None, 96.5]},
         "sizes": {"fp32_serialized": 440_213, "packed_seed0": 80_000, "packed_seed2": 80_002},
         "figures": {"encoding": enc}},
        {**old[1], "params": {"depth": 2, "backend": "torch.ao"}, "accuracies": {"fp32": [97.5], "int8": [97.4]},
         "figures": {"int8_test_loss": [0.09]}},
        {"claim": "BI-2", "case": "depth=2-torch.ao", "device": "cpu", "params": {"depth": 2, "backend": "torch.ao"},
         "sizes": {"fp32_serialized": 475_797, "int8_serialized": 124_863}},
        {**old[2], "params": {"depth": 2, "precision": "amp-fp16"},
         "accuracies": {"fp32": [97.5, 97.7], "amp-fp16": [97.6, None]}, "figures": {}},
        {**old[3], "params": {"lr": 0.01}, "accuracies": {"lr1e-3": [97.0, None], "lr0.01": [95.0, 94.0]},
         "figures": {"stated": {"lr1e-3": 97.5, "lr0.01": 95.29}}},
        {**old[4], "params": {"mode": "norm", "clip": 0.01},
         "accuracies": {"fp32": [97.0, None], "amp-fp16": [97.1, 97.3]}, "figures": {}},
    ]
    assert report_rows.param(typed[0], "decimals") == 2 and report_rows.param(old[0], "decimals") is None
    assert report_rows.per_seed(typed[0], "rounded") == [96.0, None, 96.5]
    assert report_rows.accuracies(typed[0], "rounded") == [96.0, 96.5] and report_rows.accuracies(old[0], "fp32") == []
    assert report_rows.size(typed[2], "int8_serialized") == 124_863 and report_rows.sizes(old[0]) == {}
    with style.styled():
        for make in (fig_params.accuracy_vs_decimals, fig_cross.size_vs_accuracy, fig_depth.precisions_at_fixed_depth,
                     fig_depth.metrics_table, fig_chasing.accuracy_vs_stated, fig_params.clip_sweep):
            with pytest.raises(Skip):  # an older row: no params, no accuracies (no crash)
                make(old)
        ax = fig_params.accuracy_vs_decimals(typed).figure.axes[0]
        assert [len(c.get_offsets()) for c in ax.collections] == [2]  # the diverged seed is no dot
        assert list(ax.lines[0].get_ydata()) == [pytest.approx(96.25)]
        assert any(f"{(97.0 + 97.2) / 2:.2f}%" in t for t in ax.get_legend_handles_labels()[1])
        assert sorted(fig_cross._size_points(typed)) == sorted([
            ("000 MLP depth 2", "fp32", 475.797, 97.5), ("000 MLP depth 2", "int8 (torch.ao)", 124.863, 97.4),
            ("001 MLP 128-64", "fp32", 440.213, pytest.approx(97.1)),
            ("001 MLP 128-64", "rounded 2 dp", 80.001, pytest.approx(96.25))])
        arms = fig_depth._arms_at(typed, 2)
        assert [(label, key) for label, key, _ in arms] == [("FP32", "fp32"), ("AMP FP16", "amp-fp16"),
                                                            ("INT8 (torch.ao)", "int8")]
        ax = fig_depth.precisions_at_fixed_depth(typed).figure.axes[0]
        assert len(ax.lines) == 1  # seed 0 paired across the precisions; seed 1 diverged in amp-fp16
        tables = {t.title: t.rows for t in fig_depth.metrics_tables(typed)}
        assert tables["===== FP16 (AMP) Table ====="] == [["2", "—", "—", "—", "97.60", "1"]]
        assert tables["===== INT8 (torch.ao) Table ====="][0][4:] == ["97.40", "1"]
        ax = fig_chasing.accuracy_vs_stated(typed).figure.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["CH-2 · lr1e-3", "CH-2 · lr0.01"]
        ax = fig_params.clip_sweep(typed).figure.axes[0]
        assert [len(c.get_offsets()) for c in ax.collections] == [1, 2]  # fp32: seed 1 diverged
