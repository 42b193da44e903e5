"""Fixtures of the benchmark suite: the real MNIST, the `judge` fixture every claim case
uses, and the ledger printed and written at the end of the session."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import torch

from precision_kit import ledger
from precision_kit.claims import Context, NotInProfile, run_claim
from precision_kit.data import load_dataset
from precision_kit.errors import UnsupportedError
from precision_kit.precision import configure_cpu
from precision_kit.verdicts import Verdict

EXPECTED = Path(__file__).resolve().parent.parent / "baselines" / "expected_verdicts.json"

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


def _expected() -> dict:
    if not EXPECTED.exists():
        return {}
    return json.loads(EXPECTED.read_text())


def _sync(device: str):
    if device == "cuda":
        torch.cuda.synchronize()


@pytest.fixture
def judge(request, benchmark, pk_profile, data_root):
    """`judge(claim_id, device, **params)`: run the claim, time what it is about, record
    every figure in extra_info, add it to the ledger, and compare its verdict with the
    expected one in baselines/expected_verdicts.json (a changed verdict fails; INCONCLUSIVE
    only warns)."""

    def run(claim_id: str, device: str, rounds: int = 3, **params):
        if device == "cuda" and not torch.cuda.is_available():
            pytest.skip("needs CUDA: torch.cuda.is_available() is False on this machine")
        ctx = Context(device=device, profile=pk_profile, root=data_root)
        try:
            result = run_claim(claim_id, ctx, **params)
        except (NotInProfile, UnsupportedError) as err:
            pytest.skip(str(err))
        timed = result.timed or (lambda: None)

        def target():
            out = timed()
            _sync(device)
            return out

        benchmark.pedantic(target, rounds=rounds, iterations=1, warmup_rounds=1 if result.timed else 0)
        info = result.to_dict()
        benchmark.extra_info.update(info, device=device, profile=pk_profile)
        _ROWS.append(ledger.row(info, device, pk_profile))
        print(f"\n{claim_id} [{result.case}] {device}: {result.line}" + (f" — {result.note}" if result.note else ""))
        if result.harness_broken:
            pytest.fail(f"HARNESS BROKEN in {claim_id} [{result.case}]: {result.harness_broken}")
        key = f"{claim_id}[{result.case}]"
        expected = _expected().get(pk_profile, {}).get(device, {}).get(key)
        if result.verdict == Verdict.INCONCLUSIVE:
            warnings.warn(f"{key} on {device} is INCONCLUSIVE: {result.line}", stacklevel=1)
        elif expected is None:
            warnings.warn(f"{key} on {device}: no expected verdict recorded in {EXPECTED.name}", stacklevel=1)
        elif expected != str(result.verdict) and expected != "INCONCLUSIVE":
            pytest.fail(
                f"verdict of {key} on {device} ({pk_profile}) changed: expected {expected}, "
                f"measured {result.verdict}: {result.line}"
            )
        return result

    return run


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _ROWS:
        return
    terminalreporter.write_sep("=", f"claims ledger ({ledger.summary(_ROWS)})")
    terminalreporter.write_line(ledger.table(_ROWS))
    folder = _results_folder(config)
    json_path, md_path = ledger.write(_ROWS, folder, _machine(config))
    terminalreporter.write_line(f"ledger written to {json_path} and {md_path}")


def _results_folder(config) -> Path:
    """The folder --benchmark-autosave writes to (.benchmarks/<machine id>/), else .benchmarks/."""
    session = getattr(config, "_benchmarksession", None)
    storage = getattr(session, "storage", None)
    if storage is not None and hasattr(storage, "path"):
        machine_id = getattr(storage, "default_machine_id", None) or ""
        return Path(storage.path) / machine_id
    return Path(os.getcwd()) / ".benchmarks"


def _machine(config) -> dict:
    """pytest-benchmark's machine info, with precision_kit's additions (torch, threads…)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or not hasattr(session, "get_machine_info"):
        return {}
    return session.get_machine_info()
