"""precision_kit's pytest plugin: any test suite can judge claims, print and write the claims
ledger, hold verdicts to expected ones and gate a run against a baseline.

Installed with the package (the `pytest11` entry point `precision_kit.pytest_plugin`); from
a checkout that is not installed, a `conftest.py` with
`pytest_plugins = ["precision_kit.pytest_plugin"]` loads it.

- fixtures: `judge(claim_id, device, **params)` (run a registered claim, time what it is
  about, add its row to the ledger), `pk_profile`, `data_root`;
- markers `cpu`, `cuda` (skips with a reason without CUDA), `slow`;
- options: `--pk-profile quick|paper`, `--pk-gate BASELINE` (+ `--pk-only-run-cases`; a
  timing regression is measured again in a fresh process before it fails, `plugin.confirm`,
  unless `--pk-no-confirm`),
  `--pk-ledger-dir DIR`, `--pk-expected FILE`, `--pk-first NAMES`, `--pk-shard i/n`,
  `--pk-time-budget SECONDS` (no case starts after it; the gate reports those it left out),
  `--data-root DIR`;
- under pytest-xdist (`-n N`): workers train and judge side by side, every timed
  measurement runs alone (`plugin.turns`), the controller merges the rows into one ledger and
  writes the pytest-benchmark file pytest-benchmark itself does not write under xdist;
- while a case trains, a progress line (`plugin.terminal`).

Its state lives in `config.stash`. Nothing heavy is imported until a claim is judged, so the
plugin costs other test suites nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import nullcontext
from typing import Any

import pytest

from .plugin import autosave, budget, expected, gating, notes, options, run_ledger, shard, terminal, workers
from .plugin.cases import claim_cases  # noqa: F401  (for test modules: @claim_cases("ID"))
from .plugin.state import STATE, RunState
from .plugin.turns import Turns

PROFILES = ("quick", "paper")
ROUNDS = 5  # alternating rounds of reference and case per timed case, after one warm-up
WARMUP = 1
MARKERS = (
    "cpu: runs on the CPU",
    "cuda: needs a CUDA GPU (skips with a reason without one)",
    "slow: long-running case",
)
_TURNS = "precision_kit_turns"  # the workerinput entry: the folder of the timing turns


def pytest_addoption(parser):
    options.add(parser, PROFILES)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    state = config.stash[STATE] = RunState()
    if config.getoption("--pk-shard"):
        shard.parse(config.getoption("--pk-shard"))
    budget.parse(config.getoption("--pk-time-budget"))
    threads = config.getoption("--pk-worker-threads")
    if threads is not None and threads < 1:
        raise pytest.UsageError(f"--pk-worker-threads={threads}: expected a number of threads ≥ 1")
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        if worker.get(_TURNS):
            state.turns = Turns(worker[_TURNS])
        workers.one_gpu_per_worker(worker)
    elif _parallel(config):
        state.turns_dir = tempfile.mkdtemp(prefix="precision_kit_turns_")


def pytest_unconfigure(config):
    state = config.stash.get(STATE, None)
    if state is not None and state.turns_dir:
        shutil.rmtree(state.turns_dir, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist (controller): give each worker the folder of the timing turns."""
    node.workerinput[_TURNS] = node.config.stash[STATE].turns_dir


def _parallel(config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no"


def pytest_collection_modifyitems(config, items):
    spec = config.getoption("--pk-shard")
    if spec:
        kept, dropped = shard.select(items, *shard.parse(spec))
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    names = [n.strip() for n in config.getoption("--pk-first").split(",") if n.strip()]
    if names:
        items[:] = shard.first_in_order(items, names)
    cuda_items = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not cuda_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False on this machine")
    for item in cuda_items:
        item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def pk_profile(pytestconfig) -> str:
    return pytestconfig.getoption("--pk-profile")


@pytest.fixture(scope="session")
def data_root(pytestconfig):
    """The data root given on the command line, or None to use the library's resolution."""
    return pytestconfig.getoption("--data-root")


@pytest.fixture
def judge(request, benchmark, pk_profile, data_root):
    """`judge(claim_id, device, **params)`: judge one case of a registered claim (`run_claim`),
    time what it is about against the reference GEMM in alternating rounds, record every
    figure in the benchmark's extra_info and add the row to the ledger. Under xdist the case is
    judged beside the other workers and timed alone (a speed claim, which measures while it
    judges, is judged alone). At the end of the session, after Holm
    across each claim's cases, every verdict is held to the expected one (`plugin.expected`)."""
    config = request.config
    state = config.stash[STATE]

    def run(claim_id: str, device: str, rounds: int = ROUNDS, **params):
        import torch

        from . import ledger
        from .claims import Context, NotInProfile, run_claim
        from .errors import UnsupportedError

        if device == "cuda" and not torch.cuda.is_available():
            pytest.skip("needs CUDA: torch.cuda.is_available() is False on this machine")
        budget.check(config, state.started, lambda: f"{claim_id}[{_label(claim_id, params)}]@{device}",
                     lambda key: notes.leave(request, notes.OUT_OF_TIME, key))
        _configure_cpu(state)
        ctx = Context(device=device, profile=pk_profile, root=data_root)
        with workers.turn(config, state.turns, claim_id), _progress(request, claim_id, device):
            try:
                result = run_claim(claim_id, ctx, **params)
            except NotInProfile as err:
                pytest.skip(str(err))
            except UnsupportedError as err:
                notes.leave(request, notes.UNSUPPORTED, [claim_id, device, _label(claim_id, params)])
                pytest.skip(str(err))
        timing, seconds = workers.time_case(benchmark, state.turns, result, device, rounds, WARMUP)
        info = result.to_dict()
        benchmark.extra_info.update(info, device=device, profile=pk_profile, timing=timing)
        row = ledger.row(info, device, pk_profile, timing)
        record = None
        if notes.in_worker(config):  # the controller writes the merged pytest-benchmark file from these
            record = {"nodeid": request.node.nodeid, "name": request.node.name,
                      "param": getattr(getattr(request.node, "callspec", None), "id", None),
                      "params": _json_params(request.node), "extra_info": dict(benchmark.extra_info),
                      "seconds": seconds, "warmup": WARMUP if timing else 0}
        notes.leave(request, notes.ROW, {"row": row, "nodeid": request.node.nodeid, "record": record})
        print(f"\n{claim_id} [{result.case}] {device}: {result.line}" + (f" — {result.note}" if result.note else ""))
        if result.harness_broken:
            pytest.fail(f"HARNESS BROKEN in {claim_id} [{result.case}]: {result.harness_broken}")
        return result

    return run


def _label(claim_id: str, params: dict[str, Any]) -> str:
    from .claims.base import case_label

    return case_label(claim_id, params)


def _configure_cpu(state: RunState) -> None:
    if not state.cpu_configured:
        from .precision import configure_cpu

        configure_cpu()
        state.cpu_configured = True


def _progress(request, claim_id: str, device: str):
    """The progress line of this case's training, when the session shows one."""
    config = request.config
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or not terminal.wanted(config):
        return nullcontext()
    from . import progress

    case = getattr(getattr(request.node, "callspec", None), "id", "")
    label = f"{claim_id} [{case}]" if case else claim_id
    line = terminal.ProgressLine(tr, label, config.pluginmanager.get_plugin("capturemanager"))
    return progress.listen(line)


def _json_params(node) -> dict[str, Any]:
    params = getattr(getattr(node, "callspec", None), "params", {}) or {}
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in params.items()}


def pytest_sessionstart(session):
    """Before any case runs: a data root given but missing is a usage error (with every
    model cached it would otherwise pass unnoticed); with --pk-gate, load and check the
    baseline (an unusable one is an infrastructure error, not a regression)."""
    config = session.config
    options.check_data_root(config.getoption("--data-root"))
    path = config.getoption("--pk-gate")
    if not path or hasattr(config, "workerinput"):
        return
    from . import gate, results
    from .machine import this_machine

    try:
        baseline = results.load(path)
        gate.check_machine(baseline, results.Results("this machine", this_machine(), {}))
    except results.ResultsError as err:
        raise pytest.UsageError(f"--pk-gate: infrastructure error: {err}") from None
    config.stash[STATE].baseline = baseline


def pytest_runtest_logreport(report):
    """xdist (controller): file the rows and skips the workers note, as their cases finish."""
    notes.receive(report)


def pytest_sessionfinish(session, exitstatus):
    """Hold the final verdicts to the expected ones (a changed verdict fails the session);
    under xdist write the merged benchmark file; with --pk-gate, gate the judged cases (a
    regression fails the session; a gated run that judged nothing has every baseline case
    missing, unless --pk-time-budget or --pk-only-run-cases excuses them)."""
    config = session.config
    state = config.stash[STATE]
    if hasattr(config, "workerinput") or not (state.rows or state.baseline):
        return
    if state.rows:
        state.final = run_ledger.final_rows(state)
        run_ledger.save(config)
        state.changed = expected.check(config, state.final)
        if state.changed and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if state.records:
            autosave.write(config, state.records, config.pluginmanager.get_plugin("terminalreporter"))
    if state.baseline is not None:
        gating.gate_session(session, config, state)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(STATE, None)
    if state is None or not (state.rows or state.report) or hasattr(config, "workerinput"):
        return
    if state.rows and state.final is None:  # pytest_sessionfinish, which runs first, did not finish the ledger
        state.final = run_ledger.final_rows(state)
        run_ledger.save(config)
    terminal.summary(terminalreporter, config, state)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info):
    """Record what decides a timing (library versions, threads, determinism, CPU, GPU), the
    profile, and the schema of the rows the cases store in extra_info."""
    from .ledger import SCHEMA
    from .machine import precision_kit_info

    machine_info["precision_kit"] = {
        **precision_kit_info(),
        "pk_profile": config.getoption("--pk-profile"),
        "schema": SCHEMA,
    }
