"""The benchmark suite's pytest wiring, run for real in a subprocess (a temp model cache,
ledger folder and benchmark storage): one ledger per run named like its autosave file and
kept out of pytest-benchmark's storage, a partial run that fails the gate unless narrowed
explicitly, and a data root that does not exist stopping the run before it starts.

A judged case needs the real MNIST (the bench checks its SHA-256): those two tests run one
cheap case (one small model, sizes only) where `PRECISION_KIT_DATA` or `../shared/data`
holds it, and skip with that reason elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from precision_kit import results

# One xdist worker runs this module (`make test` passes --dist loadgroup), so the module's
# model cache trains CASE's five models once, not once per worker.
pytestmark = pytest.mark.xdist_group("bench-wiring")
ROOT = Path(__file__).resolve().parent.parent
CASE = "BI_2 and depth2 and torch.ao"  # one cheap real case: trains one small model, measures sizes


def _pytest(tmp_path: Path, *args: str, data: Path | None = None, models: Path | None = None
            ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    # One torch thread: two of these runs may train at once (one per xdist worker), and 2-thread
    # trainings spinning on the same 2 cores stall each other (25× slower, README "In parallel").
    env.update(PRECISION_KIT_CACHE=str(models or tmp_path / "models"), PRECISION_KIT_OFFLINE="1",
               OMP_NUM_THREADS="1")
    env.pop("PRECISION_KIT_DATA", None)  # the data root is passed as --data-root
    command = [sys.executable, "-m", "pytest", "bench/", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               f"--pk-ledger-dir={tmp_path / 'ledgers'}", f"--benchmark-storage=file://{tmp_path / 'storage'}"]
    if data is not None:
        command.append(f"--data-root={data}")
    return subprocess.run([*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def data() -> Path:
    for root in (os.environ.get("PRECISION_KIT_DATA"), ROOT.parent / "shared" / "data"):
        if root and (Path(root) / "mnist").is_dir():
            return Path(root).resolve()
    pytest.skip("needs the real MNIST: set PRECISION_KIT_DATA to the folder that holds mnist/")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """One model cache for this module's runs of CASE: its five depth-2 models train once
    (5 seeds × 10 epochs of MNIST, the source's budget), not once per test."""
    return tmp_path_factory.mktemp("models")


def test_a_verdict_that_differs_from_the_expected_one_fails_the_session(tmp_path, data, models):
    """The expected verdicts are checked at the end of the session (after Holm across each
    claim's cases): a changed one fails the run and is listed, an unchanged one passes."""
    key = "BI-2[depth=2-torch.ao]"
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps({"quick": {"cpu": {key: "FAILS"}}}))
    proc = _pytest(tmp_path, "-k", CASE, f"--pk-expected={expected}", data=data, models=models)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 verdict(s) differ from expected.json" in proc.stdout and "expected FAILS, measured HOLDS" in proc.stdout
    expected.write_text(json.dumps({"quick": {"cpu": {key: "HOLDS"}}}))
    proc = _pytest(tmp_path, "-k", CASE, f"--pk-expected={expected}", data=data, models=models)
    assert proc.returncode == 0 and "differ from" not in proc.stdout, proc.stdout[-3000:]


def test_each_run_writes_its_own_ledger_outside_the_benchmark_storage(tmp_path, data, models):
    for _ in range(2):
        proc = _pytest(tmp_path, "-k", CASE, "--benchmark-autosave", data=data, models=models)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [machine_dir] = (tmp_path / "ledgers").iterdir()
    ledgers = sorted(p.name for p in machine_dir.glob("*.json"))
    autosaved = sorted(p.name for p in (tmp_path / "storage").rglob("*.json"))
    assert [name[:5] for name in ledgers] == ["0001_", "0002_"] and len(autosaved) == 2
    assert sorted(p.name for p in machine_dir.glob("*.md")) == [n.replace(".json", ".md") for n in ledgers]
    # named like the run's autosave file (same commit id and time tag)
    assert [name[5:] for name in ledgers] == [name[5:] for name in autosaved]
    assert machine_dir.name == (tmp_path / "storage").joinpath(machine_dir.name).name
    assert all(json.loads((machine_dir / n).read_text())["rows"] for n in ledgers)
    # pytest-benchmark's own tools see only its runs and read them all
    listed = subprocess.run([sys.executable, "-m", "pytest_benchmark", "--storage",
                             f"file://{tmp_path / 'storage'}", "list"], capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0 and "claims" not in listed.stdout and "ledger" not in listed.stdout
    assert len([line for line in listed.stdout.splitlines() if line.strip().endswith(".json")]) == 2
    compared = subprocess.run([sys.executable, "-m", "pytest_benchmark", "--storage",
                               f"file://{tmp_path / 'storage'}", "compare"], capture_output=True, text=True,
                              cwd=tmp_path)
    assert compared.returncode == 0 and "Failed to load" not in compared.stdout + compared.stderr
    # a run without --benchmark-autosave still gets a ledger of its own and overwrites none
    assert _pytest(tmp_path, "-k", CASE, data=data, models=models).returncode == 0
    assert len(list(machine_dir.glob("*.json"))) == 3
    assert results.load(tmp_path / "ledgers").path.endswith(".json")  # a folder means its newest ledger


def test_a_narrowed_run_fails_the_gate_unless_gated_on_its_own_cases(tmp_path, data, models):
    assert _pytest(tmp_path, "-k", CASE, data=data, models=models).returncode == 0
    [ledger] = (tmp_path / "ledgers").rglob("*.json")
    doc = json.loads(ledger.read_text())
    other = dict(doc["rows"][0], case="depth=4, backend=torch.ao")  # a baseline case this run will not judge
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({**doc, "rows": [*doc["rows"], other]}))
    proc = _pytest(tmp_path, "-k", CASE, f"--pk-gate={baseline}", data=data, models=models)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "REGRESSION missing  BI-2[depth=4, backend=torch.ao]@cpu" in proc.stdout
    narrowed = _pytest(tmp_path, "-k", CASE, f"--pk-gate={baseline}", "--pk-only-run-cases", data=data,
                       models=models)
    assert narrowed.returncode == 0, narrowed.stdout[-3000:]
    assert "1 baseline case(s) missing from this run, reported" in narrowed.stdout


def test_a_killed_run_keeps_every_case_it_finished(tmp_path, data, models):
    """The ledger is written after each judged case: SIGKILL after the first case leaves a
    whole, valid ledger of what finished (a GPU window that runs out of time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env.update(PRECISION_KIT_CACHE=str(models), PRECISION_KIT_OFFLINE="1", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "pytest", "bench/", "-q", "-p", "no:cacheprovider", "-k", "BI_2 and depth2",
               f"--pk-ledger-dir={tmp_path / 'ledgers'}", f"--data-root={data}"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list((tmp_path / "ledgers").rglob("*.json")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no ledger after 300 s"
            time.sleep(0.05)
        proc.kill()  # no clean shutdown: nothing runs after this
    finally:
        proc.kill()
        proc.wait()
    [ledger] = (tmp_path / "ledgers").rglob("*.json")
    run = results.load(ledger)
    assert len(run.rows) >= 1 and all(k.startswith("BI-2[depth=2") for k in run.rows)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_data_root_that_does_not_exist_stops_the_run_before_it_starts(tmp_path, how):
    missing = tmp_path / "nonexistent"
    if how == "option":
        proc = _pytest(tmp_path, "--collect-only", data=missing)
    else:
        env = {**os.environ, "PRECISION_KIT_DATA": str(missing)}
        proc = subprocess.run([sys.executable, "-m", "pytest", "bench/", "--collect-only", "-q",
                               "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert f"{missing}: no such folder" in proc.stderr and "mnist/" in proc.stderr
