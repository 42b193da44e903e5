"""Two runs side by side (e.g. the same suite on CPU and on CUDA): for every case both
judged, the timed seconds, how many times faster A is than B (B's seconds ÷ A's: above 1
means A is faster), the normalized times, the mean test accuracy of
the case's first arm (its typed `accuracies`), and both verdicts.

Cases are matched by claim, case and device; when each run holds a single device (a CPU
run against a CUDA run), they are matched by claim and case, so a GPU is compared with a
CPU. A case only one run has is listed at the end, not dropped.
"""

from __future__ import annotations

import statistics

from tabulate import tabulate

from .results import Results, timing

HEADERS = ("case", "device A", "device B", "A s", "B s", "A faster ×", "A / ref", "B / ref",
           "A acc %", "B acc %", "verdict A", "verdict B")


def _match_key(row: dict, by_device: bool) -> str:
    return f"{row['claim']}[{row['case']}]" + (f"@{row['device']}" if by_device else "")


def _mean_accuracy(row: dict) -> float | None:
    lists = row.get("accuracies") or {}
    if not lists:
        return None
    values = [v for v in next(iter(lists.values())) if v is not None]
    return statistics.fmean(values) if values else None


def _fmt(x: float | None, spec: str) -> str:
    return "" if x is None else format(x, spec)


def speedup_of_a(seconds_a: float, seconds_b: float) -> float:
    """How many times faster A is than B: B's time ÷ A's time (12.0 when A takes 1/12 of B's time)."""
    return seconds_b / seconds_a


def pairs(a: Results, b: Results) -> tuple[list[tuple[dict, dict]], list[str], list[str]]:
    """Matched (row A, row B) pairs, and the keys only A or only B has."""
    by_device = not (len(a.devices) == 1 and len(b.devices) == 1)
    rows_a = {_match_key(r, by_device): r for r in a.rows.values()}
    rows_b = {_match_key(r, by_device): r for r in b.rows.values()}
    common = sorted(rows_a.keys() & rows_b.keys())
    return [(rows_a[k], rows_b[k]) for k in common], sorted(rows_a.keys() - rows_b.keys()), sorted(
        rows_b.keys() - rows_a.keys()
    )


def table(a: Results, b: Results, fmt: str = "simple") -> str:
    matched, only_a, only_b = pairs(a, b)
    body = []
    for ra, rb in matched:
        ta, tb = timing(ra), timing(rb)
        speedup = speedup_of_a(ta.median_seconds, tb.median_seconds) if ta and tb else None
        body.append((
            f"{ra['claim']}[{ra['case']}]",
            ra["device"],
            rb["device"],
            _fmt(ta and ta.median_seconds, ".4g"),
            _fmt(tb and tb.median_seconds, ".4g"),
            _fmt(speedup, ".2f"),
            _fmt(ta and ta.normalized, ".3g"),
            _fmt(tb and tb.normalized, ".3g"),
            _fmt(_mean_accuracy(ra), ".2f"),
            _fmt(_mean_accuracy(rb), ".2f"),
            ra["verdict"],
            rb["verdict"] + (" (changed)" if rb["verdict"] != ra["verdict"] else ""),
        ))
    out = [
        f"A = {a.path}\nB = {b.path}\n",
        tabulate(body, headers=HEADERS, tablefmt=fmt, disable_numparse=True),
        "\ns: median seconds of the timed call; A faster ×: B's seconds ÷ A's (above 1, A is faster; 12 means "
        "12 times as fast); / ref: the same in units of the run's reference GEMM; "
        "acc %: mean over seeds of the case's first per-seed test-accuracy figure",
    ]
    if only_a or only_b:
        out.append(f"\nonly in A: {', '.join(only_a) or '-'}\nonly in B: {', '.join(only_b) or '-'}")
    return "\n".join(out)
