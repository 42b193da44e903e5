"""What a case leaves for the end of the session: its ledger row, or that it was skipped as
unsupported on this machine or for --pk-time-budget. In one process a note is filed in the
RunState at once; in an xdist worker it rides on the test report (`user_properties`) and the
controller files it as the report arrives (`receive`), so the controller's RunState holds
every worker's rows and skips."""

from __future__ import annotations

from typing import Any

from . import run_ledger
from .state import STATE

ROW = "precision_kit.row"  # {"row": ledger row, "nodeid": str, "record": timed rounds for autosave (xdist)}
UNSUPPORTED = "precision_kit.unsupported"  # [claim, device, case] this machine cannot run
OUT_OF_TIME = "precision_kit.out_of_time"  # results.key of a case --pk-time-budget skipped
KINDS = (ROW, UNSUPPORTED, OUT_OF_TIME)


def in_worker(config) -> bool:
    return hasattr(config, "workerinput")


def leave(request, kind: str, value: Any) -> None:
    """File the note now, or, in an xdist worker, hand it to the controller with the report."""
    if kind not in KINDS:
        raise ValueError(f"unknown note kind {kind!r}: expected one of {KINDS}")
    if in_worker(request.config):
        request.node.user_properties.append((kind, value))
    else:
        _file(request.config, kind, value)


def receive(report) -> None:
    """xdist (controller): file the notes a worker's test report carries."""
    if report.when != "call" or getattr(report, "node", None) is None:
        return
    for kind, value in report.user_properties:
        if kind in KINDS:
            _file(report.node.config, kind, value)


def _file(config, kind: str, value: Any) -> None:
    state = config.stash[STATE]
    if kind == ROW:
        from ..results import key

        state.rows.append(value["row"])
        state.nodeids[key(value["row"])] = value["nodeid"]
        if value.get("record") is not None:
            state.records.append(value["record"])
        run_ledger.save(config)
    elif kind == UNSUPPORTED:
        state.unsupported.add(tuple(value))
    else:
        state.out_of_time.add(value)
