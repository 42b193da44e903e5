"""The pytest-benchmark file of a parallel run. pytest-benchmark switches itself off under
pytest-xdist and saves nothing, so the controller writes what `--benchmark-autosave` /
`--benchmark-save NAME` / `--benchmark-json PATH` would have: every case, with the rounds
the worker timed alone (`turns`) and the ledger row in `extra_info`, through
pytest-benchmark's own hooks, statistics and storage, so `pytest-benchmark compare` and
`precision-kit gate` read it like a serial run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_benchmark.stats import Stats
from pytest_benchmark.utils import get_machine_id, get_tag, load_storage


class Case:
    """One case as pytest-benchmark's `Metadata` presents it to the JSON hooks."""

    has_error = False

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.stats = Stats()
        for seconds in record["seconds"]:
            self.stats.update(seconds)

    def as_dict(self, include_data: bool = True, flat: bool = False, stats: bool = True, cprofile=None
                ) -> dict[str, Any]:
        r = self.record
        out = {"group": None, "name": r["name"], "fullname": r["nodeid"], "params": r["params"],
               "param": r["param"], "extra_info": r["extra_info"],
               "options": {"rounds": len(r["seconds"]), "warmup": r["warmup"], "timer": "perf_counter",
                           "mode": "precision_kit alternating rounds under pytest-xdist (timed alone)"}}
        if stats:
            out["stats"] = self.stats.as_dict()
            if include_data:
                out["stats"]["data"] = list(r["seconds"])
        return out


class _Log:
    def __init__(self, terminal) -> None:
        self.terminal = terminal

    def info(self, text: str, **_) -> None:
        if self.terminal is not None:
            self.terminal.ensure_newline()
            self.terminal.write_line(text)

    warning = error = info


def wanted(config) -> bool:
    return bool(config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", None)
                or config.getoption("benchmark_json", None))


def write(config, records: list[dict[str, Any]], terminal=None) -> list[str]:
    """Write the run's benchmark file(s) as pytest-benchmark would; the paths written."""
    if not records or not wanted(config):
        return []
    cases = [Case(r) for r in sorted(records, key=lambda r: r["nodeid"])]
    hook = config.hook
    machine = hook.pytest_benchmark_generate_machine_info(config=config)
    hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine)
    commit = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit)
    written = []
    json_file = config.getoption("benchmark_json", None)
    if json_file:
        doc = _document(config, cases, True, machine, commit)
        path = Path(getattr(json_file, "name", json_file))
        path.write_text(json.dumps(doc, indent=4, default=str), encoding="utf-8")
        written.append(str(path))
    save = config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", None)
    if save:
        storage = load_storage(config.getoption("benchmark_storage"), logger=_Log(terminal),
                               default_machine_id=get_machine_id(), netrc=config.getoption("benchmark_netrc", None))
        storage.save(_document(config, cases, bool(config.getoption("benchmark_save_data", False)), machine, commit),
                     save if isinstance(save, str) else get_tag())
        written.append(str(storage))
    return written


def _document(config, cases, include_data, machine, commit) -> dict[str, Any]:
    doc = config.hook.pytest_benchmark_generate_json(config=config, benchmarks=cases, include_data=include_data,
                                                     machine_info=machine, commit_info=commit)
    config.hook.pytest_benchmark_update_json(config=config, benchmarks=cases, output_json=doc)
    return doc
