"""report.md and a self-contained report.html (inline CSS, figures as base64 data URIs) from
a run's rows, its machine info and the figures made (or skipped) for it."""

from __future__ import annotations

import base64
import html
import re
from collections import Counter
from typing import Any

from .rows import source_of

BADGE = {"HOLDS": "✅", "FAILS": "❌", "INCONCLUSIVE": "❔", "UNTESTED": "⏸"}  # markdown
# html: in every common font, no emoji font needed
SYMBOL = {"HOLDS": "✔", "FAILS": "✘", "INCONCLUSIVE": "?", "UNTESTED": "–"}
LEDGER_COLUMNS = ("Claim", "Source", "Claim in a few words", "Case", "Device", "Verdict", "Measured")
HTML_LEDGER_COLUMNS = ("Claim", "Case", "Device", "Verdict", "Measured")
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
h3{margin:.2em 0 .4em}table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:4px 7px;vertical-align:top;text-align:left}
th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;white-space:nowrap;color:#fff}
.HOLDS{background:#1b7f3b}.FAILS{background:#c62828}.INCONCLUSIVE{background:#b26a00}.UNTESTED{background:#616161}
.note{color:#555;font-style:italic}.ledger td.claim{background:#f7f7f7;min-width:180px;max-width:240px}
.src{color:#666;font-size:.9em}td.case{white-space:nowrap}.toc{columns:2;font-size:.9em}.counts .badge{margin-right:6px}
figure{margin:1.2em 0 2em;padding:10px;border:1px solid #e2e2e2;border-radius:6px;page-break-inside:avoid}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:.9em;color:#333;margin-top:.5em}
.skipped{border-left:4px solid #b26a00;background:#fff8ec;padding:6px 12px;margin:.8em 0}
.mono{font-family:ui-monospace,Menlo,Consolas,monospace}.numbers td{text-align:right}
details{margin:.3em 0}summary{cursor:pointer;color:#333}
@media print{body{max-width:none}figure{border:none}}
"""


def ledger_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def natural(text: str) -> list:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]

    return sorted(rows, key=lambda r: (source_of(r), natural(r["claim"]), natural(r["case"]), r["device"]))


def machine_items(machine: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the run's machine info worth printing (not the CPU flags)."""
    items = [(k, machine[k]) for k in ("node", "system", "release", "machine", "python_version") if machine.get(k)]
    cpu = machine.get("cpu") or {}
    items += [(f"cpu {k}", cpu[k]) for k in ("brand_raw", "count") if cpu.get(k) is not None]
    items += [(f"precision_kit {k}", v) for k, v in (machine.get("precision_kit") or {}).items()]
    return [(k, "—" if v is None else str(v)) for k, v in items]


def verdict_counts(rows) -> Counter:
    return Counter(r["verdict"] for r in rows)


def _cells(r: dict[str, Any]) -> list[str]:
    measured = r["line"] + (f" — {r['note']}" if r.get("note") else "")
    if r.get("harness_broken"):
        measured += f" — HARNESS BROKEN: {r['harness_broken']}"
    source = r.get("source") or ""
    source = source[:3] if source[:3].isdigit() else source
    return [r["claim"], source, r.get("statement") or "", r["case"], r["device"],
            r["verdict"], measured]


# ---------------------------------------------------------------- markdown


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(_md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(meta: dict[str, Any], rows, machine, outcomes) -> str:
    counts = verdict_counts(rows)
    out = ["# precision_kit report", "", _intro(meta, counts), "", "## Ledger", ""]
    table, previous = [], None
    for r in ledger_rows(rows):
        cells = _cells(r)
        cells[5] = f"{BADGE.get(r['verdict'], '')} {r['verdict']}"
        if r["claim"] == previous:
            cells[1] = cells[2] = ""  # the claim's source and statement once, on its first case
        previous = r["claim"]
        table.append(cells)
    out += [md_table(LEDGER_COLUMNS, table), "", "## Machine", "", md_table(("", "value"), machine_items(machine))]
    out += ["", "## Figures", ""]
    for o in outcomes:
        out.append(f"### {o.heading}")
        out.append("")
        if o.skipped:
            out += [f"> **Skipped:** {o.skipped}", ""]
            continue
        out += [f"![{o.heading}]({o.path.name})", "", f"*{o.note}*" if o.note else ""]
        for t in o.tables:
            out += ["", f"`{t.title}`", "", md_table(t.headers, t.rows)]
        out.append("")
    skipped = [o for o in outcomes if o.skipped]
    if skipped:
        out += ["## Skipped figures", ""] + [f"- **{o.name}**: {o.skipped}" for o in skipped] + [""]
    return "\n".join(out)


def _intro(meta, counts: Counter | None = None, code: str = "`{}`", bold: str = "**{}**") -> str:
    parts = [f"Run {code.format(meta['run'])}", f"profile {bold.format(meta['profile'] or 'mixed')}",
             f"devices {', '.join(sorted(meta['devices']))}"]
    if counts is not None:
        parts.append(f"{sum(counts.values())} judged cases: " + ", ".join(
            f"{BADGE[v]} {counts[v]} {v}" for v in BADGE if counts[v]))
    text = " · ".join(parts) + "."
    if meta.get("figure_device") and len(meta["devices"]) > 1:
        text += f" Figures are drawn from the {meta['figure_device']} rows."
    if meta.get("other"):
        text += f" Compared with {code.format(meta['other'])}."
    return text


# ---------------------------------------------------------------- html


def _e(text: Any) -> str:
    return html.escape(str(text))


def html_table(headers, rows, cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def badge(verdict: str) -> str:
    return f'<span class="badge {_e(verdict)}">{SYMBOL.get(verdict, "")} {_e(verdict)}</span>'


def _html_ledger(rows) -> str:
    """The ledger with each claim's ID, source and statement once, spanning its cases."""
    spans = Counter(r["claim"] for r in rows)
    body, previous = [], None
    for r in rows:
        cells = [_e(c) for c in _cells(r)]
        first = ""
        if r["claim"] != previous:
            first = (f'<td rowspan="{spans[r["claim"]]}" class="claim"><b>{cells[0]}</b> '
                     f'<span class="src">({cells[1] or "—"})</span><br>{cells[2]}</td>')
        previous = r["claim"]
        body.append(f'<tr class="{_e(r["verdict"])}-row">{first}<td class="case">{cells[3]}</td><td>{cells[4]}</td>'
                    f"<td>{badge(r['verdict'])}</td><td>{cells[6]}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in HTML_LEDGER_COLUMNS)
    return f'<table class="ledger"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def html_page(meta: dict[str, Any], rows, machine, outcomes) -> str:
    counts = verdict_counts(rows)
    safe = {k: _e(v) if isinstance(v, str) else v for k, v in meta.items()}
    intro = _intro(safe, None, "<code>{}</code>", "<b>{}</b>")
    parts = [f"<h1>precision_kit report</h1><p>{intro}</p>",
             '<p class="counts">' + "".join(f"{badge(v)}×{counts[v]} " for v in BADGE if counts[v]) + "</p>"]
    parts += ["<h2>Ledger</h2>", _html_ledger(ledger_rows(rows))]
    items = [(f"<b>{_e(k)}</b>", _e(v)) for k, v in machine_items(machine)]
    half = -(-len(items) // 2)
    pairs = [[*items[i], *(items[i + half] if i + half < len(items) else ("", ""))] for i in range(half)]
    parts += ["<h2>Machine</h2>", html_table(("", "value", "", "value"), pairs, "machine")]
    parts.append("<h2>Figures</h2><ul class=\"toc\">" + "".join(
        f'<li><a href="#{_e(o.name)}">{_e(o.heading)}</a>{" (skipped)" if o.skipped else ""}</li>' for o in outcomes)
        + "</ul>")
    for o in outcomes:
        if o.skipped:
            parts.append(f'<section class="skipped" id="{_e(o.name)}"><h3>{_e(o.heading)}</h3>'
                         f"<p><b>Skipped:</b> {_e(o.skipped)}</p></section>")
            continue
        data = base64.b64encode(o.path.read_bytes()).decode("ascii")
        tables = "".join(f'<details><summary class="mono">{_e(t.title)} (as text)</summary>'
                         + html_table(t.headers, [[_e(c) for c in row] for row in t.rows], "numbers") + "</details>"
                         for t in o.tables)
        parts.append(f'<figure id="{_e(o.name)}"><h3>{_e(o.heading)}</h3>'
                     f'<img src="data:image/png;base64,{data}" alt="{_e(o.heading)}" data-file="{_e(o.path.name)}">'
                     f"<figcaption>{_e(o.note)}</figcaption>{tables}</figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>precision_kit report · {_e(meta['run'])}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")

