#!/usr/bin/env python3
"""One short GPU window, prepared on the CPU: everything worth knowing from a GPU lent for a
few minutes, in one command that needs no install (it runs from the checkout with
PYTHONPATH; the GPU image has no network and `pip install -e .` fails there).

    python tools/gpu_window.py --out "$OUT"                         # on the GPU: cuda, 7 minutes
    python tools/gpu_window.py --device cpu --budget 120 --out DIR  # the same on a CPU (CI runs this)

In order, each step inside the wall-clock budget:
  1. machine info (machine.json);
  2. a smoke of every precision mode the device runs: a small MLP trained for an epoch on
     synthetic data and evaluated, and the CNN in fp32 and both amp modes (in the log);
  3. the unit tests that touch CUDA (`pytest tests -m cuda`, junit XML: unit-cuda.xml);
  4. the benchmark cases of the device (quick profile by default), most informative first
     (BI-5, SZ-2, CH-11, then the rest). At the budget's end the run gets SIGINT and stops
     cleanly; its ledger is written after every case, so whatever finished is kept even if
     the machine is taken away. Then: claims.json and claims.md (the run's ledger),
     autosave.json (pytest-benchmark's JSON of the run) and compare.md (the run beside the
     committed CPU baseline, `precision-kit compare`).
Everything printed also goes to window.log. At most 7 files are written to --out.
Exit status: 0 when the smoke, the unit tests and the benchmark run (finished, or stopped by
the budget) all went through and the ledger holds at least one case; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIRST = "BI_5,SZ_2,CH_11"  # the claims a GPU answers best: amp speed, dtype times, batch-1 throughput
GRACE = 30.0  # seconds a stopped benchmark run gets to write its ledger and autosave file
RESERVE = 15.0  # seconds kept at the end for writing the outputs


class Window:
    """The budget clock and the log (stdout and window.log)."""

    def __init__(self, out: Path, budget: float) -> None:
        self.out, self.budget, self.start = out, budget, time.monotonic()
        out.mkdir(parents=True, exist_ok=True)
        self.log_file = open(out / "window.log", "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.start)

    def log(self, text: str) -> None:
        stamp = f"[{time.monotonic() - self.start:7.1f} s] "
        for line in str(text).splitlines() or [""]:
            print(stamp + line, flush=True)
            self.log_file.write(stamp + line + "\n")
        self.log_file.flush()

    def close(self) -> None:
        self.log_file.close()


def child_env(data: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["PRECISION_KIT_OFFLINE"] = "1"
    if data is not None:
        env["PRECISION_KIT_DATA"] = str(data)
    return env


def find_data(given: str | None) -> Path | None:
    """The folder holding mnist/: --data, $PRECISION_KIT_DATA, the carried .device-data/, ../shared/data."""
    env = os.environ.get("PRECISION_KIT_DATA")
    for candidate in (given, env, ROOT / ".device-data", ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate).resolve()
    return None


def machine_info(win: Window, device: str) -> bool:
    import torch

    from precision_kit.devices import resolve_device
    from precision_kit.machine import precision_kit_info

    info = {"device": device, "python": sys.version.split()[0], **precision_kit_info()}
    try:
        resolve_device(device)
    except Exception as err:  # noqa: BLE001 (reported, and the window stops: nothing else can run)
        win.log(f"device {device!r} is not usable here: {err}")
        return False
    if device == "cuda":
        info["cuda_device"] = torch.cuda.get_device_name(0)
        info["cuda_capability"] = list(torch.cuda.get_device_capability(0))
        info["cuda_memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
    (win.out / "machine.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
    win.log("machine: " + json.dumps(info, default=str))
    return True


def synthetic_data(device: str):
    """A learnable stand-in for MNIST (class prototypes plus noise), made in memory."""
    import torch

    from precision_kit.data import Dataset, Split

    prototypes = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(1234))

    def split(n: int, seed: int) -> Split:
        gen = torch.Generator().manual_seed(seed)
        labels = torch.randint(0, 10, (n,), generator=gen)
        images = (prototypes[labels] + 0.6 * torch.randn(n, 1, 28, 28, generator=gen)).clamp(0, 1)
        return Split(images.to(device), labels.to(device))

    return Dataset("mnist", split(2048, 1), split(512, 2), "unit")


def smoke(win: Window, device: str) -> bool:
    """Train and evaluate in every precision mode the device runs; True if none crashed."""
    import torch

    import precision_kit as pk
    from precision_kit.errors import UnsupportedError
    from precision_kit.precision import PRECISIONS, configure_cpu

    if device == "cpu":
        configure_cpu()
    data = synthetic_data(device)
    ok = True
    runs = [("mlp", name) for name in PRECISIONS] + [("cnn", name) for name in ("fp32", "amp-fp16", "amp-bf16")]
    for kind, name in runs:
        if win.left() < RESERVE:
            win.log("smoke: out of time, the rest skipped")
            break
        model = pk.mlp(1, 64, seed=0) if kind == "mlp" else pk.cnn(0.5, seed=0)
        config = pk.TrainConfig(epochs=1, batch_size=128, precision=name, seed=0, device=device,
                                max_steps=None if kind == "mlp" else 8)
        start = time.perf_counter()
        try:
            result = pk.train(model, data, config)
            evaluated = pk.evaluate(result.model, data, "test", name)
            line = (f"{result.status}, test accuracy {evaluated.accuracy:.1f}%, {result.steps} steps, "
                    f"{time.perf_counter() - start:.2f} s, peak {result.peak_memory_bytes} B")
        except UnsupportedError as err:
            line = f"unsupported here: {err}"
        except Exception:  # noqa: BLE001 (a smoke reports every failure and goes on)
            ok = False
            line = "FAILED\n" + traceback.format_exc()
        win.log(f"smoke {kind} {name} on {device}: {line}")
    if device == "cuda":
        torch.cuda.synchronize()
    return ok


def unit_tests(win: Window, env: dict[str, str]) -> bool:
    timeout = max(30.0, min(180.0, win.left() / 4))
    command = [sys.executable, "-m", "pytest", "tests", "-m", "cuda", "-q", "-p", "no:cacheprovider",
               f"--junitxml={win.out / 'unit-cuda.xml'}"]
    win.log("unit tests: " + " ".join(command[1:]) + f" (at most {timeout:.0f} s)")
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        win.log("unit tests: out of time")
        return False
    win.log(proc.stdout[-4000:] + proc.stderr[-2000:])
    return proc.returncode in (0, 5)  # 5: nothing selected


def bench(win: Window, env: dict[str, str], device: str, profile: str, work: Path) -> int | None:
    """The device's benchmark cases until the budget says stop; pytest's exit status."""
    command = [sys.executable, "-m", "pytest", "bench", "-m", device, "-p", "no:cacheprovider", "-rfE",
               f"--pk-profile={profile}", f"--pk-first={FIRST}", "--benchmark-autosave",
               f"--benchmark-storage=file://{work / 'storage'}", f"--pk-ledger-dir={win.out / 'run'}"]
    deadline = win.left() - RESERVE - GRACE
    if deadline < 10:
        win.log(f"benchmark: no time left ({win.left():.0f} s)")
        return None
    win.log(f"benchmark: {' '.join(command[1:])} (SIGINT after {deadline:.0f} s)")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    failures: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            win.log(line.rstrip("\n"))
            if line.startswith(("FAILED ", "ERROR ")):
                failures.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped = False
    try:
        code = proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        win.log("benchmark: the budget is spent; SIGINT (the ledger keeps every finished case)")
        proc.send_signal(signal.SIGINT)
        stopped = True
        try:
            code = proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            win.log("benchmark: still running after SIGINT; killed")
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
    reader.join(timeout=5)
    win.log(f"benchmark: pytest exited with {code}" + (" (stopped by the budget)" if stopped else ""))
    return bench_status(code, stopped, failures)


def _default_sigint() -> None:
    """In the benchmark's process: SIGINT raises KeyboardInterrupt again. A process started in
    the background of a shell without job control (`cmd &`, nohup) inherits SIGINT ignored,
    and Python then leaves it ignored: the budget's SIGINT would do nothing and the run be
    killed after the grace period, its autosave file unwritten."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def bench_status(code: int, stopped: bool, failures: list[str]) -> int:
    """The benchmark step's status: pytest's, except that a run the budget stopped with SIGINT
    is a success when no case had failed. Such a run exits with pytest's INTERRUPTED (2) when
    the signal lands in a case, or with -SIGINT when it lands after pytest's session ended
    (seen in CI: the last case finished just before the budget did)."""
    import pytest

    if stopped and code in (int(pytest.ExitCode.INTERRUPTED), -int(signal.SIGINT)) and not failures:
        return 0
    return code


def collect(win: Window, work: Path, baseline: Path) -> bool:
    """Move the run's ledger to claims.json/.md, copy the autosave JSON, write compare.md."""
    from precision_kit import compare, ledger, results

    found = ledger.newest(win.out / "run") if (win.out / "run").exists() else None
    if found is None:
        win.log("no ledger: no case finished")
        return False
    shutil.move(found, win.out / "claims.json")
    md = found.with_suffix(".md")
    if md.exists():
        shutil.move(md, win.out / "claims.md")
    shutil.rmtree(win.out / "run", ignore_errors=True)
    autosaved = sorted((work / "storage").rglob("*.json"))
    if autosaved:
        shutil.copyfile(autosaved[-1], win.out / "autosave.json")
    run = results.load(win.out / "claims.json")
    win.log(f"ledger: {len(run.rows)} cases ({ledger.summary(list(run.rows.values()))})")
    if baseline.exists():
        table = compare.table(run, results.load(baseline), "github")
        name = f"{baseline.parent.name}/{baseline.name}"
        (win.out / "compare.md").write_text(f"# This run (A) beside {name} (B)\n\n{table}\n")
        win.log(table)
    return bool(run.rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--budget", type=float, default=420.0, help="wall-clock seconds for everything (default 7 min)")
    p.add_argument("--out", default=os.environ.get("OUT") or "window-out", help="folder for the outputs ($OUT)")
    p.add_argument("--data", help="folder holding mnist/ (default: $PRECISION_KIT_DATA, .device-data, ../shared/data)")
    p.add_argument("--profile", default="quick", choices=("quick", "paper"))
    p.add_argument("--baseline", default=str(ROOT / "baselines" / "quick-cpu" / "claims.json"),
                   help="the run to compare with (default: the committed CPU baseline)")
    args = p.parse_args(argv)
    win = Window(Path(args.out), args.budget)
    data = find_data(args.data)
    win.log(f"gpu window: device {args.device}, budget {args.budget:.0f} s, out {win.out}, data {data}")
    failed: list[str] = []  # the steps that went wrong, named in the last line (CI shows the tail)
    if not machine_info(win, args.device):
        failed.append("machine info")
    else:
        if not smoke(win, args.device):
            failed.append("smoke")
        if not unit_tests(win, child_env(data)):
            failed.append("unit tests")
        if data is None:
            win.log("no MNIST found (--data, $PRECISION_KIT_DATA, .device-data/, ../shared/data): no benchmark")
            failed.append("no MNIST")
        else:
            with tempfile.TemporaryDirectory() as work:
                code = bench(win, child_env(data), args.device, args.profile, Path(work))
                if not collect(win, Path(work), Path(args.baseline)):
                    failed.append("no ledger")
                if code != 0:
                    failed.append(f"benchmark status {code}")
    ok = not failed
    why = "" if ok else f" ({', '.join(failed)}; see {win.out / 'window.log'})"
    win.log(f"gpu window: {'done' if ok else 'FAILED'} in {args.budget - win.left():.0f} s{why}")
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
