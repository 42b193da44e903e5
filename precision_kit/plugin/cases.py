"""Benchmark cases parametrized from a claim's declared cases (`precision_kit.claims.cases`),
so a claim's case values live in one place: `@claim_cases("BI-1")` on a test that calls
`judge("BI-1", device, **case)`."""

from __future__ import annotations

import pytest


def claim_cases(claim_id: str, argname: str = "case"):
    """`pytest.mark.parametrize` over every declared case of `claim_id` (the paper profile's;
    a case the quick profile leaves out is skipped with the reason when it runs)."""
    from ..claims import REGISTRY
    from ..claims.cases import case_id

    try:
        declared = REGISTRY[claim_id].cases
    except KeyError:
        raise ValueError(f"unknown claim {claim_id!r}; registered: {', '.join(sorted(REGISTRY))} "
                         "(register it with @claim before the test module is collected)") from None
    params = declared.all()
    return pytest.mark.parametrize(argname, params, ids=[case_id(p) for p in params])
