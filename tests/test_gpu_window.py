"""tools/gpu_window.py's own logic (the whole window runs in .ci/run in its CPU form)."""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "tools" / "gpu_window.py"
_SPEC = importlib.util.spec_from_file_location("gpu_window", _PATH)
window = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(window)


@pytest.mark.parametrize("code", [int(pytest.ExitCode.INTERRUPTED), -int(signal.SIGINT)])
def test_a_run_the_budget_stopped_is_a_success_unless_a_case_failed(code):
    assert window.bench_status(code, stopped=True, failures=[]) == 0
    assert window.bench_status(code, stopped=True, failures=["FAILED bench/x.py::t"]) == code
    assert window.bench_status(code, stopped=False, failures=[]) == code  # not stopped by us: a real failure


def test_a_finished_run_keeps_pytests_status():
    assert window.bench_status(0, stopped=False, failures=[]) == 0
    assert window.bench_status(1, stopped=False, failures=["FAILED bench/x.py::t"]) == 1
    assert window.bench_status(1, stopped=True, failures=[]) == 1  # a failed case before the stop


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a shell without job control gives


@pytest.mark.parametrize("restore", [False, True])
def test_the_budgets_sigint_stops_a_benchmark_started_with_sigint_ignored(restore):
    """The window's child resets SIGINT (`_default_sigint`): inherited as ignored, the budget's
    signal did nothing and the run went on until it was killed."""
    import subprocess
    import sys

    def start() -> None:
        _ignoring_sigint()
        if restore:
            window._default_sigint()

    child = subprocess.Popen([sys.executable, "-c", "import sys, time; print('up', flush=True); time.sleep(20)"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=start)
    assert child.stdout.readline().strip() == "up"  # Python's handlers are in place
    child.send_signal(signal.SIGINT)
    try:
        code = child.wait(timeout=3)
    except subprocess.TimeoutExpired:
        child.kill()
        code = None
    child.communicate()
    assert (code == -signal.SIGINT) if restore else (code is None)
