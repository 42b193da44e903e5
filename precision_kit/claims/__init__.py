"""The claims ledger in code: every claim of CLAIMS.md, keyed by ID, with its judge.

Importing this package registers every claim (one module per source document).
"""

from . import (  # noqa: F401  (register)
    amp_speed,
    chasing_99,
    chasing_99_dynamics,
    depth_precision,
    engine_loop,
    engine_speed,
    int8_speed,
    parameter_precision,
    training_dynamics,
)
from .base import PROFILES, REGISTRY, Claim, ClaimResult, Context, NotInProfile, claim, run_claim

__all__ = ["PROFILES", "REGISTRY", "Claim", "ClaimResult", "Context", "NotInProfile", "claim", "run_claim"]
