"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from precision_kit import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """An empty model cache of the test's own (`$PRECISION_KIT_CACHE`)."""
    monkeypatch.setenv(cache.ENV_CACHE, str(tmp_path / "models"))
    return tmp_path / "models"


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One model cache for a test module, so its claims share the trained arms as in a bench run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(cache.ENV_CACHE, str(tmp_path_factory.mktemp("models")))
        yield


@pytest.fixture
def suite(pytester, tmp_path_factory, monkeypatch):
    """A pytester folder whose runs share one model cache (the test module's), for the plugin's
    tests (tests/test_pytest_plugin*.py, which load pytester)."""
    monkeypatch.setenv("PRECISION_KIT_CACHE", str(tmp_path_factory.getbasetemp() / "plugin-models"))
    monkeypatch.setenv("PRECISION_KIT_OFFLINE", "1")
    for name in [n for n in os.environ if n.startswith("PYTEST_XDIST")]:
        monkeypatch.delenv(name)  # this test's own xdist worker: the runs are not workers of it
    # this checkout first, for a run where the project is not installed (PYTHONPATH=.)
    checkout = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")])))
    return pytester


def pytest_configure(config):
    """Under `make test` (-n 2) each xdist worker takes its share of the cores: two workers
    training with torch's full thread count on the same cores stall each other's spinning
    OpenMP threads (README, "In parallel"). The unit tests use their own model caches, so the
    thread count (part of a cache key) changes nothing they check."""
    if hasattr(config, "workerinput"):
        import torch

        workers = int(config.workerinput.get("workercount", 1) or 1)
        torch.set_num_threads(max(1, torch.get_num_threads() // workers))
