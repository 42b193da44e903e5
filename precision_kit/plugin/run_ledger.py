"""This run's claims ledger: the judged rows with Holm applied, written after every case
(`ledger.RunLedger`) under the name pytest-benchmark's autosave gives the run, with its
machine info."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .state import STATE, RunState


def final_rows(state: RunState) -> list[dict[str, Any]]:
    """The judged rows with Holm applied across each claim's cases (`multiplicity.adjust`); a
    family this run judged only in part (`-k`, a shard) is held to Bonferroni over its declared
    cases, less those this machine cannot run."""
    from collections import Counter

    from .. import multiplicity
    from ..claims.base import family_size

    skipped = Counter((claim_id, device) for claim_id, device, _ in state.unsupported)
    return multiplicity.adjust(state.rows, lambda key: family_size(key, skipped))


def save(config) -> tuple[Path, Path] | tuple[None, None]:
    """Write every case judged so far as this run's ledger (after each case, so a stopped
    run keeps what it finished). Never in an xdist worker: the controller writes the merged one."""
    if hasattr(config, "workerinput"):
        return None, None
    from pytest_benchmark.utils import get_machine_id

    from .. import ledger

    state = config.stash[STATE]
    if state.ledger is None:
        folder = Path(config.getoption("--pk-ledger-dir")) / get_machine_id()
        state.ledger = ledger.RunLedger(folder, None, tag(config))
    return state.ledger.save(final_rows(state), machine(config))


def tag(config) -> str:
    """The name --benchmark-autosave (or --benchmark-save NAME) gives this run's file, so a
    ledger and the autosave JSON of one run carry the same name; without either, the tag
    autosave would have used (commit id and time)."""
    from pytest_benchmark.utils import get_tag

    return config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", None) or get_tag()


def machine(config) -> dict:
    """pytest-benchmark's machine info, with precision_kit's additions (torch, threads…),
    through its public hooks; asked for once per session."""
    state = config.stash[STATE]
    if state.machine is None:
        hook = config.hook
        state.machine = {}
        if hasattr(hook, "pytest_benchmark_generate_machine_info"):
            state.machine = hook.pytest_benchmark_generate_machine_info(config=config)
            hook.pytest_benchmark_update_machine_info(config=config, machine_info=state.machine)
    return state.machine
