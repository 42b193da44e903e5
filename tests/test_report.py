"""The report (precision_kit.report) rendered from a small recorded run, tests/data/small_run.json:
a subset of the rows of a real quick-profile run on a 2-core CPU, written by `ledger.write`.
Recorded as schema /2, it is given here the typed part of /3 the report reads (`params`, per-seed
`accuracies` by arm, `sizes`), the per-seed accuracy figures moving there as a run of /3 writes them.

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
from precision_kit.report import rows as report_rows
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
# Figures of claims the recorded run has no case of: skipped, the reason naming the claim.
ABSENT_CLAIMS = {"000-bi6-convergence-by-depth": "BI-6", "003-ch7-accuracy-vs-epoch": "CH-7",
                 "003-ch9-dead-units-vs-lr": "CH-9", "003-ch11-time-per-sample": "CH-11"}
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)

# Each recorded case's parameters, as a run of /3 records them in `params`.
PARAMS = {
    "CH-1[epochs=10]": {"epochs": 10},
    "CH-2[lr=0.01]": {"lr": 0.01},
    "CH-3[batch_size=1000]": {"batch_size": 1000},
    "BI-1[depth=2-amp-fp16]": {"depth": 2, "precision": "amp-fp16"},
    "BI-1[depth=2-amp-bf16]": {"depth": 2, "precision": "amp-bf16"},
    "BI-1[depth=8-amp-fp16]": {"depth": 8, "precision": "amp-fp16"},
    "BI-2[depth=2-torch.ao]": {"depth": 2, "backend": "torch.ao"},
    "BI-2[depth=8-torch.ao]": {"depth": 8, "backend": "torch.ao"},
    "BI-3[depth=2-torch.ao]": {"depth": 2, "backend": "torch.ao"},
    "BI-3[depth=2-torchao-dynamic]": {"depth": 2, "backend": "torchao-dynamic"},
    "BI-3[depth=8-torch.ao]": {"depth": 8, "backend": "torch.ao"},
    "BI-4[depth=8-adam]": {"depth": 8, "setup": "adam"},
    "BI-4[depth=8-sgd-short]": {"depth": 8, "setup": "sgd-short"},
    "BI-5[depth=2]": {"depth": 2},
    "SZ-1[precision=fp16]": {"precision": "fp16"},
    "SZ-2[precision=fp16]": {"precision": "fp16"},
    "SZ-4[norm-clip=0.01]": {"mode": "norm", "clip": 0.01},
    "SZ-4[value-clip=0.5]": {"mode": "value", "clip": 0.5},
    **{f"SZ-5[decimals={d}]": {"decimals": d} for d in (1, 2, 3, 4)},
    "TD-2[optimizer=sgd]": {"optimizer": "sgd"},
}
SINGLE_ARM = {"CH-1": "lr1e-3", "TD-1": "adam-dropout"}  # a /2 "accuracy" figure's arm


def _typed(row: dict) -> dict:
    """A /2 row as /3 records it: per-seed test accuracies out of `figures` into `accuracies`
    (each arm with one more seed, which diverged: None), `params` and `sizes` added."""
    figures, accuracies = dict(row["figures"]), {}
    for name in [n for n, v in figures.items()
                 if re.fullmatch(r"accuracy(_.+)?|(?!train_).+_accuracy", n) and isinstance(v, list)]:
        arm = SINGLE_ARM[row["claim"]] if name == "accuracy" else re.sub(r"^accuracy_|_accuracy$", "", name)
        accuracies[arm] = [*figures.pop(name), None]
    sizes = {}
    if row["claim"] == "BI-2":
        sizes = {f"{p}_serialized": figures[p]["serialized_bytes"] for p in ("fp32", "int8")}
    elif row["claim"] == "SZ-5":
        enc = figures["encoding"]
        sizes = {"fp32_serialized": enc[0]["fp32_serialized_bytes"],
                 **{f"packed_seed{e['seed']}": e["nbytes"] for e in enc}}
    return {**row, "params": PARAMS.get(f"{row['claim']}[{row['case']}]", {}), "accuracies": accuracies,
            "sizes": sizes, "figures": figures}


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory) -> Path:
    """The recorded run as a /3 ledger (as it is, once it is one)."""
    doc = json.loads(SMALL_RUN.read_text(encoding="utf-8"))
    if doc["schema"] == ledger.SCHEMA:
        return SMALL_RUN
    path, _ = ledger.write([_typed(r) for r in doc["rows"]], tmp_path_factory.mktemp("typed"), doc["machine"],
                           name="small_run")
    return path


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
