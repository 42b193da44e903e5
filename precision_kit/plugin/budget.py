"""`--pk-time-budget SECONDS`: a wall-clock budget for the judging. A case that would start
after the budget is spent is skipped with the reason, and the gate reports it as not judged
(for the budget) instead of failing the run on it: a CI job with a hard time limit (a cold
model cache on a slow machine trains for an hour) still ends with the cases it judged gated.
A case that started in time runs to its end, so leave room for the longest one."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def parse(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise pytest.UsageError(f"--pk-time-budget={value:g}: expected a number of seconds ≥ 0")
    return value


def check(config, started: float, key: Callable[[], str], note: Callable[[str], None]) -> None:
    """Skip the case when the session's budget is spent; `note(key())` records it (results.key
    form) for the gate first. The key is made only then: a case of an unknown claim must reach
    `run_claim`, whose error says what is registered."""
    budget = config.getoption("--pk-time-budget")
    if budget is None:
        return
    spent = time.monotonic() - started
    if spent >= budget:
        note(key())
        pytest.skip(f"--pk-time-budget={budget:g} s was spent ({spent:.0f} s) before this case started: not judged, "
                    "and the gate reports it as not judged instead of failing on it")
