"""Fixtures shared by the unit tests."""

from __future__ import annotations

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

