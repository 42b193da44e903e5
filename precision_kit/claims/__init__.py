"""The claims ledger in code: every claim of CLAIMS.md, keyed by ID, with its judge.

Importing this package registers every claim: it imports each claim module (the modules
with `@claim` judges) below. Claim modules import only downward (their source's `*_setup`
module, pure helpers, `base`, `report_data` and the library), never one another, so adding a
claim module means adding it here.
"""

from . import (  # noqa: F401  (register)
    amp_speed,
    chasing_99,
    chasing_99_arch,
    chasing_99_confusions,
    chasing_99_dynamics,
    chasing_99_epochs,
    chasing_99_throughput,
    clipping_claims,
    clipping_time_stability,
    depth_convergence,
    depth_precision,
    engine_loop,
    engine_speed,
    int8_speed,
    kfold_protocol,
    parameter_precision,
    rounding_claims,
    rounding_values,
    training_dynamics,
    training_dynamics_deeper,
    training_dynamics_layers,
    training_dynamics_repr,
)
from .base import PROFILES, REGISTRY, Claim, ClaimResult, Context, NotInProfile, claim, run_claim

__all__ = ["PROFILES", "REGISTRY", "Claim", "ClaimResult", "Context", "NotInProfile", "claim", "run_claim"]
