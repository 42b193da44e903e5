"""pytest wiring shared by tests/ and bench/: options, markers, machine info.

- `--pk-profile quick|paper`: the claims' budget (quick is the default and fits CI).
- `--pk-gate BASELINE`: gate the run's results against a stored baseline (precision_kit.gate);
  `--pk-only-run-cases` gates a deliberately narrowed run (-k) on the cases it judged only.
- `--pk-ledger-dir DIR`: where each run's ledger goes (default .precision_kit/ledgers).
- `--pk-expected FILE`: the expected verdicts each case is held to (default
  baselines/expected_verdicts.json).
- `--pk-first BI_5,SZ_2`: run the cases whose names contain these first (a short GPU window).
- `--data-root DIR`: where `mnist/` lives (else PRECISION_KIT_DATA, else ~/.cache/precision_kit).
- `-m cpu` / `-m cuda`: device markers; cuda cases skip with a reason on a machine without CUDA.
- machine info for `--benchmark-autosave`: torch/CUDA/cuDNN versions, threads, determinism flags.
"""

from __future__ import annotations

import pytest

from precision_kit.ledger import LEDGER_DIR

PROFILES = ("quick", "paper")


def pytest_addoption(parser):
    group = parser.getgroup("precision_kit")
    group.addoption(
        "--pk-profile",
        default="quick",
        choices=PROFILES,
        help="claim budget: quick (default, fits a 2-core CPU in CI) or paper (the source's setup)",
    )
    group.addoption(
        "--pk-gate",
        default=None,
        metavar="BASELINE",
        help="gate this run against a stored baseline (claims.json of the same machine class); a regression "
        "fails the session, an unusable baseline stops it before any case runs",
    )
    group.addoption(
        "--pk-only-run-cases",
        action="store_true",
        help="with --pk-gate: gate only the cases this run judged (a deliberately narrowed run, e.g. -k); "
        "without it a baseline case the run did not judge fails the gate",
    )
    group.addoption(
        "--pk-ledger-dir",
        default=str(LEDGER_DIR),
        metavar="DIR",
        help="where each run's claims ledger goes, as DIR/<machine id>/NNNN_<tag>.json and .md "
        "(default: %(default)s)",
    )
    group.addoption(
        "--pk-expected",
        default=None,
        metavar="FILE",
        help="the expected verdicts, {profile: {device: {'ID[case]': verdict}}}, checked at the end of the "
        "session after Holm; a changed verdict fails it (default: baselines/expected_verdicts.json)",
    )
    group.addoption(
        "--pk-first",
        default="",
        metavar="NAMES",
        help="comma-separated parts of test names to run first, in that order (e.g. BI_5,SZ_2): "
        "the most informative cases of a short time window; the rest keep their order",
    )
    group.addoption(
        "--data-root",
        default=None,
        help="folder holding mnist/ (default: $PRECISION_KIT_DATA, then ~/.cache/precision_kit)",
    )


def first_in_order(items: list, names: list[str]) -> list:
    """`items` with those whose name contains names[0] first, then names[1] …, the rest after;
    a stable sort, so each group keeps its collection order."""

    def rank(item) -> int:
        return next((i for i, name in enumerate(names) if name in item.name), len(names))

    return sorted(items, key=rank)


def pytest_collection_modifyitems(config, items):
    import torch

    names = [n.strip() for n in config.getoption("--pk-first").split(",") if n.strip()]
    if names:
        items[:] = first_in_order(items, names)
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False on this machine")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def pk_profile(pytestconfig) -> str:
    return pytestconfig.getoption("--pk-profile")


@pytest.fixture(scope="session")
def data_root(pytestconfig):
    """The data root given on the command line, or None to use the library's resolution."""
    return pytestconfig.getoption("--data-root")


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record what decides a timing (library versions, threads, determinism, CPU, GPU), the
    profile, and the schema of the rows the cases store in extra_info."""
    from precision_kit.ledger import SCHEMA
    from precision_kit.machine import precision_kit_info

    machine_info["precision_kit"] = {
        **precision_kit_info(),
        "pk_profile": config.getoption("--pk-profile"),
        "schema": SCHEMA,
    }
