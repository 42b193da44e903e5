"""Does `torch.compile` pay for the population's stacked MLP step on this CPU? (issue 11)

Two identical populations of S members (784-50-50-10, fp32, Adam lr 1e-4, the suite's
`population_stack.ManualStep` and `population_optim.PopulationOptimizer`): one steps eagerly,
the other through `torch.compile` of the forward/backward step (the fused Adam step is one
kernel already and stays eager). Prints the compile time, whether the two populations are
still bit-identical after two steps, and the time per member-step of each in alternating
rounds in one process (medians).

    PYTHONPATH=. .venv/bin/python tools/compile_probe.py --batch 1 --batch 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from precision_kit.models import mlp
from precision_kit.population_optim import PopulationOptimizer
from precision_kit.population_stack import ManualStep, stack
from precision_kit.precision import check_supported
from precision_kit.train_types import TrainConfig


def population(size: int, batch: int):
    models = [mlp(2, 50, seed=s) for s in range(size)]
    configs = [TrainConfig(epochs=1, batch_size=batch, lr=1e-4, seed=s) for s in range(size)]
    cpu = torch.device("cpu")
    members = stack(models)
    optimizer = PopulationOptimizer(members, configs, check_supported("fp32", cpu), cpu)
    return members, ManualStep(members, size, batch), optimizer


def seconds_per_step(step, optimizer, x, y, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step(x, y)
        optimizer.step()
    return (time.perf_counter() - start) / n


def probe(size: int, batch: int, steps: int, rounds: int) -> str:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(size, batch, 784, generator=g), torch.randint(0, 10, (size, batch), generator=g)
    m_eager, eager, opt_eager = population(size, batch)
    m_comp, step, opt_comp = population(size, batch)
    start = time.perf_counter()
    compiled = torch.compile(step.__call__, dynamic=False)
    for _ in range(2):
        compiled(x, y)
        opt_comp.step()
    compile_s = time.perf_counter() - start
    for _ in range(2):
        eager(x, y)
        opt_eager.step()
    with torch.no_grad():
        same = all(torch.equal(a, b) for a, b in zip(m_eager.params, m_comp.params, strict=True))
        diff = max(float((a - b).abs().max()) for a, b in zip(m_eager.params, m_comp.params, strict=True))
    e, c = [], []
    for _ in range(rounds):
        e.append(seconds_per_step(eager, opt_eager, x, y, steps))
        c.append(seconds_per_step(compiled, opt_comp, x, y, steps))
    te, tc = statistics.median(e), statistics.median(c)
    return (f"batch {batch}, {size} members: compile {compile_s:.1f} s (incl. 2 steps); after 2 steps "
            f"bit-identical to eager: {same} (max |Δw| {diff:.3g}); eager {te / size * 1e6:.1f} µs per member-step, "
            f"compiled {tc / size * 1e6:.1f} µs ({te / tc:.2f}× eager; {rounds} alternating rounds of {steps} steps)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, action="append", help="batch size (repeatable; default 1 and 50)")
    p.add_argument("--members", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    torch.set_flush_denormal(True)
    for batch in args.batch or [1, 50]:
        print(probe(args.members, batch, steps=2000 if batch == 1 else 300, rounds=args.rounds), flush=True)


if __name__ == "__main__":
    main()
