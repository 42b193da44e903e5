"""A timing regression must repeat before it fails the session: the cases the gate found
slower (and nothing else wrong) are run once more in a fresh pytest process, serially, and
each slowdown is held to that second measurement (`gate_confirm.confirm`). Turned off by
`--pk-no-confirm`.

The second run re-judges its cases from the model cache (nothing trains again, unless the
first run was an xdist run whose workers trained at another thread count) and measures
their timing rounds again; its ledger goes to a temporary folder and its exit status is not
used: only its timings are."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .state import STATE


def wanted(config, exitstatus: int) -> bool:
    """Confirm when the gate's regressions are all timing ones and nothing else failed the
    session (otherwise it fails anyway, and a second measurement could change nothing)."""
    report = config.stash[STATE].report
    if report is None or not report.regressions or config.getoption("--pk-no-confirm"):
        return False
    return exitstatus == 0 and all(f.kind == "timing" for f in report.regressions)


def command(config, nodeids: list[str], ledger_dir: str) -> list[str]:
    """The second run's pytest command line: the flagged test ids, serially, this run's profile
    and data root, its ledger in `ledger_dir`, no autosave and no confirming of its own."""
    cmd = [sys.executable, "-m", "pytest", *nodeids, "-q", "-p", "precision_kit.pytest_plugin",
           "-p", "no:cacheprovider", f"--rootdir={config.rootpath}",
           f"--pk-profile={config.getoption('--pk-profile')}", f"--pk-ledger-dir={ledger_dir}", "--pk-no-confirm"]
    if config.inipath is not None:
        cmd.append(f"--config-file={config.inipath}")
    if config.pluginmanager.hasplugin("xdist"):
        cmd += ["-n", "0"]  # serial, whatever the suite's addopts say
    root = config.getoption("--data-root")
    if root:
        cmd.append(f"--data-root={(config.invocation_params.dir / Path(root).expanduser()).resolve()}")
    return cmd


def run(config, terminal=None) -> None:
    """Run the flagged cases again and replace the session's gate report by the confirmed one."""
    from .. import gate, gate_confirm, results

    state = config.stash[STATE]
    cases = [f.case for f in state.report.regressions]
    nodeids = sorted({state.nodeids[c] for c in cases if c in state.nodeids})
    if not nodeids:
        return
    if terminal is not None:
        terminal.write_line(f"\nprecision_kit: {len(cases)} timing regression(s); measuring "
                            f"{len(nodeids)} case(s) again in a fresh process to confirm them")
    with tempfile.TemporaryDirectory(prefix="precision_kit_confirm_") as folder:
        start = time.perf_counter()
        done = subprocess.run(command(config, nodeids, folder), cwd=config.rootpath,
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        try:
            again = results.load(folder)
        except results.ResultsError as err:
            tail = (done.stdout + done.stderr)[-2000:]
            why = f"the confirming run (exit {done.returncode}) left no ledger ({err}); its output ends:\n{tail}"
            state.report.findings.append(gate.Finding("timing", "*", why, False))
            return
    report = gate_confirm.confirm(state.report, state.baseline, again)
    how = (f"{len(nodeids)} flagged case(s) measured again in a fresh process ({seconds:.0f} s, exit "
           f"{done.returncode}): a timing regression fails only when it repeats (--pk-no-confirm: at once)")
    report.findings.append(gate.Finding("timing", "*", how, False))
    state.report = report
