"""The report of a saved benchmark run: `write_report(run, out_dir, other=None)` writes
`report.md`, a self-contained `report.html` (figures embedded as base64 PNGs, no external
CSS or JS) and every figure as a PNG into `out_dir`.

The run is read with `results.load` (a ledger `claims.json` or a `--benchmark-autosave`
JSON; a bad file raises `results.ResultsError`). Each figure is drawn from measured data
only; one the run holds no data for is skipped with the reason, in the summary and in
report.md. Needs matplotlib (the `report` extra): without it `write_report` raises
`errors.UnsupportedError`; importing this package does not need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write_text, atomic_writer
from ..results import load
from .rows import primary_device
from .style import DPI, Plot, Skip, Table, require_matplotlib, styled


@dataclass
class FigureOutcome:
    """One figure of the report: written to `path`, or `skipped` with the reason."""

    name: str
    heading: str
    path: Path | None = None
    note: str = ""
    tables: list[Table] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class ReportSummary:
    """What `write_report` wrote: the two documents and each figure's outcome."""

    out_dir: Path
    markdown: Path
    html: Path
    figures: list[FigureOutcome]

    @property
    def written(self) -> list[FigureOutcome]:
        return [f for f in self.figures if f.path is not None]

    @property
    def skipped(self) -> list[FigureOutcome]:
        return [f for f in self.figures if f.skipped is not None]

    def text(self) -> str:
        lines = [f"report: {self.markdown}", f"        {self.html}",
                 f"{len(self.written)} figure(s) written, {len(self.skipped)} skipped:"]
        lines += [f"  written  {f.path.name}" for f in self.written]
        lines += [f"  skipped  {f.name}: {f.skipped}" for f in self.skipped]
        return "\n".join(lines)


def write_report(run_path: Path, out_dir: Path, other_path: Path | None = None) -> ReportSummary:
    """Write the report of the run at `run_path` (and, given `other_path`, the comparison of
    its timed cases with that run's) into `out_dir`; return what was written and skipped."""
    require_matplotlib()
    from . import render
    from .figures import FIGURES

    run = load(run_path)
    other = load(other_path) if other_path is not None else None
    all_rows = list(run.rows.values())
    device = primary_device(all_rows)
    rows = [r for r in all_rows if r["device"] == device]
    other_rows = list(other.rows.values()) if other is not None else None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    with styled():
        for spec in FIGURES:
            try:
                plot: Plot = spec.make(all_rows if spec.all_devices else rows, other_rows)
            except Skip as skip:
                (out_dir / f"{spec.name}.png").unlink(missing_ok=True)  # an older report's, no longer true
                outcomes.append(FigureOutcome(spec.name, spec.heading, skipped=str(skip)))
                continue
            path = out_dir / f"{spec.name}.png"
            with atomic_writer(path) as fh:
                plot.figure.savefig(fh, format="png", dpi=DPI)
            outcomes.append(FigureOutcome(spec.name, spec.heading, path, plot.note, plot.tables))
    meta = {"run": Path(run.path).name, "profile": run.profile, "devices": run.devices, "figure_device": device,
            "other": Path(other.path).name if other is not None else None}
    md = atomic_write_text(out_dir / "report.md", render.markdown(meta, all_rows, run.machine, outcomes))
    page = atomic_write_text(out_dir / "report.html", render.html_page(meta, all_rows, run.machine, outcomes))
    return ReportSummary(out_dir, md, page, outcomes)


__all__ = ["FigureOutcome", "ReportSummary", "write_report"]
