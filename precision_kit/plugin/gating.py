"""`--pk-gate` at the end of a session: the judged rows against the baseline, the cases
--pk-time-budget left out excused with the reason, a timing regression measured again before
it fails (`confirm`), and the exit status set on a regression."""

from __future__ import annotations

from . import confirm, run_ledger
from .state import RunState


def gate_session(session, config, state: RunState) -> None:
    from .. import gate, results
    from ..machine import this_machine

    rows = {results.key(r): r for r in state.final or []}
    current = results.Results("this run", run_ledger.machine(config) or this_machine(), rows)
    spent = f"--pk-time-budget={config.getoption('--pk-time-budget') or 0:g} s was spent before it started"
    state.report = gate.gate(state.baseline, current, only_run_cases=config.getoption("--pk-only-run-cases"),
                             not_run=dict.fromkeys(state.out_of_time, spent))
    if confirm.wanted(config, session.exitstatus):
        confirm.run(config, config.pluginmanager.get_plugin("terminalreporter"))
    if state.report.regressions and session.exitstatus == 0:
        session.exitstatus = gate.EXIT_REGRESSION
