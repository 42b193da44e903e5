"""Shared parametrization of the benchmark cases: every claim runs on cpu and cuda."""

import pytest

DEVICES = [pytest.param("cpu", marks=pytest.mark.cpu), pytest.param("cuda", marks=pytest.mark.cuda)]
