"""Source 001, claim SZ-10: rounding trained weights to 1 decimal leaves at most 19 distinct
values (section 6). Counted exactly on the fp32 models SZ-5 and SZ-6 train
(`parameter_precision_setup.fp32_runs`).
"""

from __future__ import annotations

from ..verdicts import Verdict
from .base import ClaimResult, Context, claim
from .cases import cases
from .parameter_precision_setup import SOURCE, fp32_runs
from .report_data import rounded_value_counts

DISTINCT_BOUND = 19  # k/10 for k = −9 … 9: every weight inside (−0.95, 0.95)
DISTINCT_DECIMALS = (1, 2, 3, 4)


def distinct_rounded(state_dict, decimals: int) -> int:
    """How many distinct values every floating tensor of `state_dict` takes together once
    rounded to `decimals` places as `round_weights` does (exact: counts integers k = w·10^d,
    so −0.0 and 0.0 are one value)."""
    per_layer = rounded_value_counts([state_dict], (decimals,))[str(decimals)]
    return len(set().union(*(layer["units"] for layer in per_layer.values())))


def distinct_verdict(counts, bound: int = DISTINCT_BOUND) -> Verdict:
    """HOLDS if every seed's model has at most `bound` distinct values, FAILS otherwise."""
    if not counts:
        raise ValueError("expected the distinct-value count of at least one model; found none")
    return Verdict.HOLDS if max(counts) <= bound else Verdict.FAILS


@claim(
    "SZ-10",
    SOURCE,
    "6, Effect of Decimal Rounding",
    "rounding to 1 decimal leaves at most 19 distinct weight values",
    "exact count of distinct values of every seed's rounded fp32 model (weights and biases); holds if d = 1 "
    "gives ≤ 19 in every seed; d = 2, 3, 4 reported",
    cases=cases("decimals=1"),
)
def sz10(ctx: Context) -> ClaimResult:
    """The fp32 model of each of n = 5 seeds (quick; 10 paper) rounded to d decimals: the
    distinct values of all its weights and biases together, counted exactly per seed for d = 1,
    2, 3, 4. Judged: d = 1 only (HOLDS if every seed has ≤ 19, FAILS otherwise; no statistics,
    the count is exact). Timed: the d = 1 count over every seed's model."""
    runs = fp32_runs(ctx)
    states = [r.state_dict for r in runs]
    counts = {d: [distinct_rounded(s, d) for s in states] for d in DISTINCT_DECIMALS}
    weights_only = [distinct_rounded({n: t for n, t in s.items() if n.endswith("weight")}, 1) for s in states]
    verdict = distinct_verdict(counts[1])
    max_abs = max(float(t.abs().max()) for s in states for t in s.values() if t.is_floating_point())
    line = (f"d=1: {counts[1]} distinct values per seed (max {max(counts[1])}), {len(runs)} seeds, "
            f"bound ≤ {DISTINCT_BOUND} (exact count, no statistics) → {verdict}")
    note = "; ".join(f"d={d}: {counts[d]}" for d in DISTINCT_DECIMALS[1:])
    note += (f"; weights and biases counted together (weights alone at d=1: {weights_only}); "
             f"max |w| = {max_abs:.3f} (19 values need every |w| < 0.95)")
    return ClaimResult(
        "SZ-10", ctx.case, verdict, line,
        figures={"distinct_values": {str(d): c for d, c in counts.items()}, "seeds": [r.seed for r in runs],
                 "weights_only_d1": weights_only, "bound": DISTINCT_BOUND, "max_abs": max_abs},
        note=note,
        timed=lambda: [distinct_rounded(s, 1) for s in states],
        timed_device="cpu",  # the cached state dicts live on the CPU whatever the case's device
    )
