"""The command-line options of precision_kit's pytest plugin (`pytest --help`, group precision_kit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..ledger import LEDGER_DIR
from . import expected


def add(parser, profiles: tuple[str, ...]) -> None:
    group = parser.getgroup("precision_kit")
    group.addoption("--pk-profile", default="quick", choices=profiles,
                    help="claim budget: quick (default, fits a 2-core CPU in CI) or paper (the source's setup)")
    group.addoption("--pk-gate", default=None, metavar="BASELINE",
                    help="gate this run against a stored baseline (claims.json of the same machine class); a "
                    "regression fails the session, an unusable baseline stops it before any case runs")
    group.addoption("--pk-only-run-cases", action="store_true",
                    help="with --pk-gate: gate only the cases this run judged (a deliberately narrowed run, e.g. "
                    "-k); without it a baseline case the run did not judge fails the gate")
    group.addoption("--pk-no-confirm", action="store_true",
                    help="with --pk-gate: fail on a timing regression at once, without measuring the flagged cases "
                    "again in a fresh process (by default a slowdown must repeat before it fails the session)")
    group.addoption("--pk-time-budget", type=float, default=None, metavar="SECONDS",
                    help="judge no case that would start after SECONDS of this session: it is skipped with the "
                    "reason, and --pk-gate reports it as not judged instead of failing on it (a CI job's time "
                    "limit; a case that started in time runs to its end)")
    group.addoption("--pk-ledger-dir", default=str(LEDGER_DIR), metavar="DIR",
                    help="where each run's claims ledger goes, as DIR/<machine id>/NNNN_<tag>.json and .md "
                    "(default: %(default)s)")
    group.addoption("--pk-expected", default=None, metavar="FILE",
                    help="the expected verdicts, {profile: {device: {'ID[case]': verdict}}}, checked at the end of "
                    "the session after Holm; a changed verdict fails it (default: "
                    f"<rootdir>/{expected.DEFAULT} when it exists)")
    group.addoption("--pk-first", default="", metavar="NAMES",
                    help="comma-separated parts of test names to run first, in that order (e.g. BI_5,SZ_2): the "
                    "most informative cases of a short time window; the rest keep their order")
    group.addoption("--pk-shard", default=None, metavar="I/N",
                    help="run shard I of N (a deterministic share: whole test functions dealt out in turn); "
                    "combine the shards' ledgers with `precision-kit merge`")
    group.addoption("--pk-worker-threads", type=int, default=None, metavar="K",
                    help="under -n: torch threads of each worker while it judges (default: torch's count ÷ "
                    "workers, at least 1, so the workers do not oversubscribe the cores). Below torch's count "
                    "the models are other models (the thread count enters the cache key): their verdicts "
                    "agree with a serial run's statistically; K = torch's count trains the serial run's "
                    "models, on oversubscribed cores. Timed work always runs with torch's own count")
    group.addoption("--data-root", default=None,
                    help="folder holding mnist/ (default: $PRECISION_KIT_DATA, then ~/.cache/precision_kit)")


def check_data_root(given: str | None) -> None:
    """A data root given (option or environment) that names no folder stops the session."""
    from ..locate import ENV_DATA

    root = given or os.environ.get(ENV_DATA)
    if root and not Path(root).expanduser().is_dir():
        where = "--data-root" if given else ENV_DATA
        raise pytest.UsageError(
            f"{where}={root}: no such folder. Expected the folder that holds mnist/ (e.g. ../shared/data); "
            f"fix the path, or unset {ENV_DATA} to use ~/.cache/precision_kit"
        )
