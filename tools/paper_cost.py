"""What the paper profile would cost on this machine, claim by claim, without running it.

Runs `pytest bench --pk-profile paper` on one device with every training call cut short:
each epoch sees only the first STEPS batches of the train split (every epoch, evaluation
and checkpoint still happens, so the claims' code runs as in the paper profile), and the
training seconds are scaled to a whole epoch. Per benchmark case:

    estimate = dry-run wall time − training seconds measured + training seconds × (steps of a
               full epoch ÷ STEPS)

so evaluation, quantization, the cases' own timing rounds and everything else is counted
as measured. The verdicts of this run mean nothing (models are undertrained) and are not
kept: the model cache is a throw-away folder. Output: one JSON line per training call and
a table per case in --out (default: stdout).

    PYTHONPATH=. python tools/paper_cost.py --device cpu --out paper_cost.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

STEPS = 10  # batches per epoch actually trained


class CostPlugin:
    """Wraps `train` and `train_population` wherever the claims call them."""

    def __init__(self, steps: int, log: Path) -> None:
        self.steps = steps
        self.log = log
        self.case = "?"
        self.calls: dict[str, list[dict]] = {}
        self.walls: dict[str, float] = {}

    def pytest_configure(self, config) -> None:
        import precision_kit.claims  # noqa: F401  (registers every claim module)

        real_train = sys.modules["precision_kit.train"].train
        real_population = sys.modules["precision_kit.population"].train_population
        for name, module in list(sys.modules.items()):
            if not name.startswith("precision_kit"):
                continue
            if getattr(module, "train", None) is real_train:
                module.train = self._wrap(real_train, single=True)
            if getattr(module, "train_population", None) is real_population:
                module.train_population = self._wrap(real_population, single=False)

    def _short(self, data, batch_size: int):
        from precision_kit.data import Dataset, Split

        rows = min(len(data.train.labels), self.steps * batch_size)
        train = Split(data.train.images[:rows], data.train.labels[:rows])
        return Dataset(name=data.name, train=train, test=data.test, normalize=data.normalize), rows

    def _wrap(self, real, single: bool):
        def wrapped(models, data, configs, *args, **kwargs):
            config = configs if single else configs[0]
            full = len(data.train.labels)
            short, rows = self._short(data, config.batch_size)
            start = time.perf_counter()
            out = real(models, short, configs, *args, **kwargs)
            wall = time.perf_counter() - start
            results = [out] if single else out
            trained = max(sum(e.seconds for e in r.epochs) for r in results) * (1 if single else len(results))
            full_steps = -(-full // config.batch_size)
            short_steps = -(-rows // config.batch_size)
            scale = full_steps / short_steps
            if config.max_steps is not None:
                scale = min(scale, config.max_steps / short_steps)
            record = {
                "case": self.case, "engine": "sequential" if single else "population",
                "members": 1 if single else len(configs), "precision": config.precision,
                "batch_size": config.batch_size, "epochs": config.epochs, "max_steps": config.max_steps,
                "model": type(models).__name__ if single else f"{len(models)} MLPs",
                "wall_seconds": wall, "train_seconds": trained, "scale": max(scale, 1.0),
                "estimate_seconds": wall - trained + trained * max(scale, 1.0),
            }
            self.calls.setdefault(self.case, []).append(record)
            with self.log.open("a") as f:
                f.write(json.dumps(record) + "\n")
            return out

        return wrapped

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        self.case = item.nodeid.split("::")[-1]
        start = time.perf_counter()
        yield
        self.walls[self.case] = time.perf_counter() - start


def table(plugin: CostPlugin) -> str:
    rows, total = [], 0.0
    for case, wall in plugin.walls.items():
        calls = plugin.calls.get(case, [])
        trained = sum(c["train_seconds"] for c in calls)
        estimate = wall - trained + sum(c["train_seconds"] * c["scale"] for c in calls)
        total += estimate
        member_epochs = sum(c["members"] * c["epochs"] for c in calls)
        rows.append((estimate, case, len(calls), member_epochs, wall))
    rows.sort(reverse=True)
    lines = ["| case | est. seconds | training calls | member-epochs | dry run s |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {e:.0f} | {n} | {m} | {w:.1f} |" for e, c, n, m, w in rows]
    lines.append(f"| **total** | **{total:.0f} s = {total / 3600:.2f} h** | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--steps", type=int, default=STEPS, help="batches per epoch actually trained")
    parser.add_argument("--out", help="write the table here (markdown)")
    parser.add_argument("-k", dest="keyword", default="not engine and not wide and not EN_",
                        help="pytest -k expression (default: the claims, not the engine cases)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="pk-paper-cost-"))
    os.environ["PRECISION_KIT_CACHE"] = str(scratch / "models")  # nothing of this run is kept
    plugin = CostPlugin(args.steps, scratch / "calls.jsonl")
    pytest.main(["bench", "--pk-profile", "paper", "-m", args.device, "-k", args.keyword, "-q",
                 "-p", "no:cacheprovider", "--benchmark-disable", "--pk-ledger-dir", str(scratch / "ledgers"),
                 "-W", "ignore"], plugins=[plugin])
    text = table(plugin)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(f"training calls: {scratch / 'calls.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
