"""The progress line of a long run: while a case trains, which claim and arm, how many seeds,
epoch k of N and the time left, rewritten in place on a terminal; one line per finished arm
where the output is not a terminal (a CI log); nothing under `-q`."""

from __future__ import annotations

import time
from contextlib import nullcontext

from ..progress import END, EPOCH, NOTE, START, Event, duration

REFRESH_S = 0.5  # the in-place line is rewritten at most this often


class ProgressLine:
    """A `progress` sink for one judged case, writing through pytest's terminal reporter."""

    def __init__(self, terminal, label: str, capture=None) -> None:
        self.terminal, self.label, self.capture = terminal, label, capture
        self.tty = bool(getattr(terminal, "isatty", False))
        self.last = 0.0

    def __call__(self, event: Event) -> None:
        # pytest captures the test's output; like its live logging, the line goes past it
        with self.capture.global_and_fixture_disabled() if self.capture is not None else nullcontext():
            self._write(event)

    def _write(self, event: Event) -> None:
        tr = self.terminal
        if event.kind == START:
            tr.ensure_newline()  # pytest's own line (file name and dots) stays as it is
        text = f"{self.label} · {event.what}"
        if event.kind == NOTE:
            tr.ensure_newline()
            tr.write_line(text)
            return
        if event.kind == END:
            text += f" · {event.epochs_done}/{event.epochs_total} epochs in {duration(event.elapsed_s)}"
            if self.tty:
                tr.rewrite(text, erase=True)
                tr.write("\n")
            else:
                tr.write_line(text)
            return
        if not self.tty:
            return  # a log gets the line of the finished arm only
        now = time.monotonic()
        if event.kind == EPOCH and now - self.last < REFRESH_S:
            return
        self.last = now
        tr.rewrite(f"{text} · epoch {event.epochs_done}/{event.epochs_total} · "
                   f"{duration(event.eta_s)} left", erase=True)


def wanted(config) -> bool:
    """Progress is shown unless pytest runs quietly (-q) or in an xdist worker (its output is
    not a terminal the user sees)."""
    return config.get_verbosity() >= 0 and not hasattr(config, "workerinput")


def summary(tr, config, state) -> None:
    """The end of a session's output: the claims ledger (`state.final`, already written), where
    it was written, the cases timed alone under xdist, verdicts that differ from the expected
    ones, the gate's report (alone, when a gated run judged no case)."""
    from .. import ledger
    from . import autosave, expected

    if state.final:  # a gated run that judged no case has only the gate's report
        tr.write_sep("=", f"claims ledger ({ledger.summary(state.final)})")
        tr.write_line(ledger.table(state.final))
        tr.write_line(f"ledger of this run written to {state.ledger.json_path} and {state.ledger.md_path}")
    if state.records:
        timed = sum(1 for r in state.records if r["warmup"])
        tr.write_line(
            f"pytest-benchmark times nothing under xdist; precision_kit timed {timed} case(s) alone, each while no "
            "other worker was judging" + (" (written with --benchmark-autosave/-save/-json)" if autosave.wanted(config)
                                          else ""))
    if state.changed:
        name = expected.path_of(config)[0].name
        tr.write_sep("=", f"{len(state.changed)} verdict(s) differ from {name}", red=True, bold=True)
        for line in state.changed:
            tr.write_line(line)
    if state.report is not None:
        tr.write_sep("=", "regression gate (--pk-gate)", red=bool(state.report.regressions), bold=True)
        tr.write_line(state.report.text())
