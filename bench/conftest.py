"""Fixtures of the benchmark suite: the real MNIST, the `judge` fixture every claim case
uses, and the ledger printed at the end of the session and written, one per run, to
`.precision_kit/ledgers/<machine id>/NNNN_<tag>.json` (`--pk-ledger-dir`)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import torch
from pytest_benchmark.utils import get_machine_id, get_tag

from precision_kit import gate, ledger, multiplicity, results
from precision_kit.claims import Context, NotInProfile, run_claim
from precision_kit.data import load_dataset
from precision_kit.errors import UnsupportedError
from precision_kit.locate import ENV_DATA
from precision_kit.machine import this_machine
from precision_kit.precision import configure_cpu
from precision_kit.timing import AlternatingTimer
from precision_kit.verdicts import Verdict, expectation

EXPECTED = Path(__file__).resolve().parent.parent / "baselines" / "expected_verdicts.json"

_BASELINE = pytest.StashKey[results.Results]()
_REPORT = pytest.StashKey[gate.GateReport]()
_LEDGER = pytest.StashKey[ledger.RunLedger]()
_CHANGED = pytest.StashKey[list]()
_FINAL = pytest.StashKey[list]()
ROUNDS = 5  # alternating rounds of reference and case per timed case, after one warm-up
_ROWS: list[dict] = []


@pytest.fixture(scope="session", autouse=True)
def _cpu_settings():
    configure_cpu()


@pytest.fixture(scope="session")
def mnist_loader(data_root):
    """`mnist_loader(device, normalize)` -> the real MNIST as tensors on `device`, cached."""
    cache = {}

    def load(device: str = "cpu", normalize: str = "unit"):
        key = (device, normalize)
        if key not in cache:
            cache[key] = load_dataset("mnist", root=data_root, device=device, normalize=normalize)
        return cache[key]

    return load


def _expected(config) -> tuple[Path, dict]:
    """The expected-verdicts file (`--pk-expected`, default EXPECTED) and its mapping."""
    path = Path(config.getoption("--pk-expected") or EXPECTED)
    if not path.exists():
        if config.getoption("--pk-expected"):
            raise pytest.UsageError(f"--pk-expected={path}: no such file; expected a JSON file of expected verdicts")
        return path, {}
    try:
        return path, json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise pytest.UsageError(f"{path}: not JSON ({err}); expected {{profile: {{device: {{'ID[case]': verdict}}}}}}"
                                ) from None


@pytest.fixture
def judge(request, benchmark, pk_profile, data_root):
    """`judge(claim_id, device, **params)`: run the claim, time what it is about against the
    reference GEMM in alternating rounds, record every figure in extra_info and add it to the
    ledger. At the end of the session, after Holm across each claim's cases, every verdict is
    compared with the expected one in baselines/expected_verdicts.json (`_check_expected`)."""

    def run(claim_id: str, device: str, rounds: int = ROUNDS, **params):
        if device == "cuda" and not torch.cuda.is_available():
            pytest.skip("needs CUDA: torch.cuda.is_available() is False on this machine")
        ctx = Context(device=device, profile=pk_profile, root=data_root)
        try:
            result = run_claim(claim_id, ctx, **params)
        except (NotInProfile, UnsupportedError) as err:
            pytest.skip(str(err))
        timing = None
        if result.timed and not benchmark.disabled:  # disabled: e.g. under xdist, which times nothing
            # alternating rounds: the reference GEMM (pytest-benchmark's untimed setup), then the case
            timer = AlternatingTimer(getattr(result, "timed_device", None) or device)  # where the work runs
            benchmark.pedantic(timer.wrap(result.timed), setup=timer.before_round, rounds=rounds, warmup_rounds=1)
            timing = timer.result(warmup=1).to_dict()
        else:
            benchmark.pedantic(lambda: None, rounds=1, iterations=1)
        info = result.to_dict()
        benchmark.extra_info.update(info, device=device, profile=pk_profile, timing=timing)
        _ROWS.append(ledger.row(info, device, pk_profile, timing))
        _save_ledger(request.config)
        print(f"\n{claim_id} [{result.case}] {device}: {result.line}" + (f" — {result.note}" if result.note else ""))
        if result.harness_broken:
            pytest.fail(f"HARNESS BROKEN in {claim_id} [{result.case}]: {result.harness_broken}")
        return result

    return run


def pytest_sessionstart(session):
    """Before any case runs: a data root given but missing is a usage error (with every
    model cached it would otherwise pass unnoticed); with --pk-gate, load and check the
    baseline (an unusable one is an infrastructure error, not a regression)."""
    _check_data_root(session.config.getoption("--data-root"))
    path = session.config.getoption("--pk-gate")
    if not path:
        return
    try:
        baseline = results.load(path)
        gate.check_machine(baseline, results.Results("this machine", this_machine(), {}))
    except results.ResultsError as err:
        raise pytest.UsageError(f"--pk-gate: infrastructure error: {err}") from None
    session.config.stash[_BASELINE] = baseline


def _final_rows() -> list[dict]:
    """The judged rows with Holm applied across each claim's cases (`multiplicity.adjust`)."""
    return multiplicity.adjust(_ROWS)


def _check_expected(config, rows: list[dict]) -> list[str]:
    """Each final verdict against baselines/expected_verdicts.json (`verdicts.expectation`:
    an expected HOLDS/FAILS/UNTESTED accepts only itself, an expected INCONCLUSIVE accepts a
    firmer verdict with a warning): the changed ones, as lines. The check runs after the
    session because Holm needs every case of a claim."""
    (path, expected), profile, changed = _expected(config), config.getoption("--pk-profile"), []
    for r in rows:
        key = f"{r['claim']}[{r['case']}]"
        want = expected.get(profile, {}).get(r["device"], {}).get(key)
        if want is None:
            if not r.get("speed_claim"):
                warnings.warn(f"{key} on {r['device']}: no expected verdict recorded in {path.name}", stacklevel=1)
            continue
        ok, message = expectation(want, Verdict(r["verdict"]))
        if not ok:
            changed.append(f"{key} on {r['device']} ({profile}): {message}: {r['line']}")
        elif message:
            warnings.warn(f"{key} on {r['device']}: {message}: {r['line']}", stacklevel=1)
    return changed


def pytest_sessionfinish(session, exitstatus):
    """Check the final verdicts against the expected ones (a changed verdict fails the
    session); with --pk-gate, gate the judged cases (a regression fails the session)."""
    if not _ROWS:
        return
    final = session.config.stash[_FINAL] = _final_rows()
    changed = session.config.stash[_CHANGED] = _check_expected(session.config, final)
    if changed and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    baseline = session.config.stash.get(_BASELINE, None)
    if baseline is None:
        return
    rows = {results.key(r): r for r in final}
    current = results.Results("this run", _machine(session.config) or this_machine(), rows)
    report = gate.gate(baseline, current, only_run_cases=session.config.getoption("--pk-only-run-cases"))
    session.config.stash[_REPORT] = report
    if report.regressions and session.exitstatus == 0:
        session.exitstatus = gate.EXIT_REGRESSION


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _ROWS:
        return
    final = config.stash.get(_FINAL, None) or _final_rows()
    terminalreporter.write_sep("=", f"claims ledger ({ledger.summary(final)})")
    terminalreporter.write_line(ledger.table(final))
    json_path, md_path = _save_ledger(config)
    terminalreporter.write_line(f"ledger of this run written to {json_path} and {md_path}")
    changed = config.stash.get(_CHANGED, [])
    if changed:
        name = Path(config.getoption("--pk-expected") or EXPECTED).name
        terminalreporter.write_sep("=", f"{len(changed)} verdict(s) differ from {name}", red=True, bold=True)
        for line in changed:
            terminalreporter.write_line(line)
    report = config.stash.get(_REPORT, None)
    if report is not None:
        terminalreporter.write_sep("=", "regression gate (--pk-gate)", red=bool(report.regressions), bold=True)
        terminalreporter.write_line(report.text())


def _save_ledger(config) -> tuple[Path, Path] | tuple[None, None]:
    """Write every case judged so far as this run's ledger (after each case, so a stopped
    run keeps what it finished). Not in an xdist worker: each holds only its share."""
    if hasattr(config, "workerinput"):
        return None, None
    run = config.stash.get(_LEDGER, None)
    if run is None:
        folder = Path(config.getoption("--pk-ledger-dir")) / _machine_id(config)
        run = config.stash[_LEDGER] = ledger.RunLedger(folder, None, _tag(config))
    return run.save(_final_rows(), _machine(config))


def _check_data_root(given: str | None) -> None:
    root = given or os.environ.get(ENV_DATA)
    if root and not Path(root).expanduser().is_dir():
        where = "--data-root" if given else ENV_DATA
        raise pytest.UsageError(
            f"{where}={root}: no such folder. Expected the folder that holds mnist/ (e.g. ../shared/data); "
            f"fix the path, or unset {ENV_DATA} to use ~/.cache/precision_kit"
        )


def _machine_id(config) -> str:
    """pytest-benchmark's machine id (e.g. Linux-CPython-3.11-64bit): the autosave folder's name."""
    storage = getattr(getattr(config, "_benchmarksession", None), "storage", None)
    return getattr(storage, "default_machine_id", None) or get_machine_id()


def _tag(config) -> str:
    """The name --benchmark-autosave (or --benchmark-save NAME) gives this run's file, so a
    ledger and the autosave JSON of one run carry the same name; without either, the tag
    autosave would have used (commit id and time)."""
    return config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", None) or get_tag()


def _machine(config) -> dict:
    """pytest-benchmark's machine info, with precision_kit's additions (torch, threads…)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or not hasattr(session, "get_machine_info"):
        return {}
    return session.get_machine_info()
