"""The report (precision_kit.report) rendered from a small recorded run, tests/data/small_run.json:
a subset of the rows of a real quick-profile run on a 2-core CPU, written by `ledger.write`.

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

from precision_kit import ledger
from precision_kit.errors import UnsupportedError
from precision_kit.results import ResultsError, load

SMALL_RUN = Path(__file__).parent / "data" / "small_run.json"
# Figures whose data the recorded run holds, and those it cannot have (with a word of the reason).
EXPECTED_WRITTEN = {
    "000-fig2-test-loss-by-depth", "000-fig3-fp32-fp16-int8", "000-fig4-metrics-table",
    "001-fig5-time-per-dtype", "001-fig7-9-clipping", "001-fig10-11-weight-histograms",
    "001-fig12-accuracy-vs-decimals", "002-fig1-accuracy-per-optimizer", "002-fig2-weight-distributions",
    "002-fig3-embedding", "003-accuracy-vs-stated", "size-vs-accuracy",
}
# Recorded only by claims newer than the run: written once the run holds them, else skipped naming them.
NEWER_FIELDS = {"003-confusion-matrices": "arms", "003-loss-curves": "arms"}
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    pytest.importorskip("matplotlib", reason="the report needs matplotlib (the 'report' or 'dev' extra)")
    from precision_kit.report import write_report

    out = tmp_path_factory.mktemp("report")
    summary = write_report(SMALL_RUN, out)
    return summary, summary.html.read_text(encoding="utf-8"), summary.markdown.read_text(encoding="utf-8")


def test_the_recorded_run_is_small_and_valid():
    assert SMALL_RUN.stat().st_size < 300_000
    assert load(SMALL_RUN).rows


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


def test_the_ledger_lists_every_case_with_its_verdict(report):
    _, page, md = report
    rows = load(SMALL_RUN).rows.values()
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


def test_a_second_run_adds_the_device_time_figure(report, tmp_path):
    from precision_kit.report import write_report

    doc = json.loads(SMALL_RUN.read_text(encoding="utf-8"))
    timed = [r for r in doc["rows"] if r.get("timing")]
    if not timed:
        pytest.skip("the recorded run holds no timed case")
    faster = [dict(r, device="cuda", timing=dict(r["timing"], median_seconds=r["timing"]["median_seconds"] / 7))
              for r in timed]
    other, _ = ledger.write(faster, tmp_path, doc["machine"], name="other")
    summary = write_report(SMALL_RUN, tmp_path / "out", other)
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
