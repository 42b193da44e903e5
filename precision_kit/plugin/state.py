"""What one pytest session of precision_kit's plugin judged and decided, in `config.stash[STATE]`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from .turns import Turns


@dataclass
class RunState:
    """What one session judged and decided (in the controller of an xdist run: every worker's)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # an xdist run's timed rounds, for autosave
    nodeids: dict[str, str] = field(default_factory=dict)  # results.key(row) → the test that judged it
    ledger: Any = None  # ledger.RunLedger, made at the first save
    baseline: Any = None  # results.Results of --pk-gate
    report: Any = None  # gate.GateReport
    changed: list[str] = field(default_factory=list)
    final: list[dict[str, Any]] | None = None
    turns: Turns | None = None  # an xdist worker's timing turns
    turns_dir: str | None = None  # the controller's folder of the turns' lock files
    cpu_configured: bool = False
    machine: dict[str, Any] | None = None  # pytest-benchmark's machine info, asked for once
    # (claim, device, case) skipped as unsupported on this machine: not in the full run's Holm family
    unsupported: set[tuple[str, str, str]] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)  # for --pk-time-budget
    out_of_time: set[str] = field(default_factory=set)  # results.key of the cases --pk-time-budget skipped


STATE = pytest.StashKey[RunState]()
