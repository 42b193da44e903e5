"""Which cases run, in what order. `--pk-shard i/n`: a deterministic share of the benchmark
cases, for one of n machines; `--pk-first NAMES`: the named cases first.

Cases are grouped by test function (every parameter of one function in one group, so a
claim's cases, which share trained arms and one Holm family, stay together); the groups,
sorted by name, are dealt out in turn. `precision-kit merge` combines the shards' ledgers."""

from __future__ import annotations

import re

import pytest

_SPEC = re.compile(r"^(\d+)/(\d+)$")


def parse(text: str) -> tuple[int, int]:
    """"2/3" → (2, 3): the second of three shards."""
    m = _SPEC.match(text.strip())
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise pytest.UsageError(f"--pk-shard={text!r}: expected i/n with 1 ≤ i ≤ n, e.g. --pk-shard 1/2")
    return int(m.group(1)), int(m.group(2))


def group(nodeid: str) -> str:
    """The test function a case belongs to (its node id without the parameters)."""
    return nodeid.split("[", 1)[0]


def select(items: list, index: int, count: int) -> tuple[list, list]:
    """(kept, deselected) for shard `index` of `count`."""
    groups = sorted({group(item.nodeid) for item in items})
    mine = {g for k, g in enumerate(groups) if k % count == index - 1}
    kept = [item for item in items if group(item.nodeid) in mine]
    return kept, [item for item in items if group(item.nodeid) not in mine]


def first_in_order(items: list, names: list[str]) -> list:
    """`items` with those whose name contains names[0] first, then names[1] …, the rest after;
    a stable sort, so each group keeps its collection order."""

    def rank(item) -> int:
        return next((i for i, name in enumerate(names) if name in item.name), len(names))

    return sorted(items, key=rank)
