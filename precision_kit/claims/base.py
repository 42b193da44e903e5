"""The ledger's building blocks: a `Claim` (ID, source, statement, test, judge function),
the `Context` a judge runs in, and the `ClaimResult` it returns.

A judge is a plain function `judge(ctx, **params) -> ClaimResult` registered with
`@claim(...)`. It trains through `experiment.run_arm` (cached), measures, and judges with
`stats`; it never asserts. Benchmark cases call `run_claim` and nothing lower.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import progress
from ..errors import PrecisionKitError
from ..verdicts import Verdict, looks_scope, plan_looks
from .cases import Cases
from .evidence import fail_evidence, mark_untested

PROFILES = ("quick", "paper")
# Seeds escalate in stages (CLAIMS.md, Statistics): a case still INCONCLUSIVE with n seeds is
# judged again with 2n (5 → 10 in quick, 10 → 20 in paper). Every look of a staged judge draws
# its intervals at the nominal error split over the stages (Bonferroni over the looks), so
# the whole procedure keeps the stated error rate whichever stage it stops at.
SEED_STAGES = 2


class NotInProfile(PrecisionKitError):
    """This case is not part of the chosen profile (e.g. depth 6 in quick): a skip."""


@dataclass(frozen=True)
class Context:
    """Where and at what budget a claim is judged."""

    device: str = "cpu"
    profile: str = "quick"
    root: str | None = None  # data root; None = library resolution
    case: str = ""  # the case's label in the ledger, from the claim's declared cases (`run_claim`)
    # The training-budget figures this case ran below the paper profile's (the source's own
    # setup), e.g. "epochs 2 of 100"; filled by `pick(..., what=...)` as the judge runs.
    reductions: list[str] = field(default_factory=list, compare=False, repr=False)
    # The reductions among them that change the regime the claim is about (epochs, batch size,
    # steps): a case with any is UNTESTED unless the judge says why its figure does not depend
    # on them (`independent_of_budget`), or the judge declares it untested itself (`untested`).
    regime: list[str] = field(default_factory=list, compare=False, repr=False)
    independent: list[str] = field(default_factory=list, compare=False, repr=False)
    # The seed stage this judge runs at (0: the first n seeds; k: n·2^k) and the seed counts
    # it asked for (empty: the judge does not judge over seeds, so it never escalates).
    stage: int = 0
    seed_counts: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile={self.profile!r} is not supported; expected one of {', '.join(PROFILES)}")

    def pick(self, quick, paper, what: str | None = None, regime: bool = True):
        """The quick or the paper value of a figure. `what` names a training-budget figure
        (epochs, batch size, seeds, steps): a quick value below the paper's is recorded in
        `reductions`, so the case's ledger row says it ran at a reduced budget. A reduction of
        a figure that shapes the trained model (`regime=True`: epochs, batch size, steps, not
        seeds or timing rounds) leaves the case UNTESTED (see `run_claim`)."""
        if what is not None and self.profile == "quick" and quick != paper:
            entry = f"{what} {_budget_text(quick)} of {_budget_text(paper)}"
            if entry not in self.reductions:
                self.reductions.append(entry)
            if regime and entry not in self.regime:
                self.regime.append(entry)
        return quick if self.profile == "quick" else paper

    def seeds(self, quick: int = 5, paper: int = 10) -> range:
        """The paired seeds of a claim: `quick` of them in the quick profile, `paper` in paper,
        doubled at each escalation stage (fewer seeds widen the interval, they do not change
        what is tested). Asking for seeds declares the judge staged: its intervals are drawn
        at the error split over `SEED_STAGES` looks."""
        n = (quick if self.profile == "quick" else paper) * 2**self.stage
        if self.profile == "quick" and n < paper:
            self.pick(n, paper, "seeds", regime=False)
        plan_looks(SEED_STAGES)
        if n not in self.seed_counts:
            self.seed_counts.append(n)
        return range(n)

    def next_stage(self) -> Context:
        """The same case at the next seed stage, with its budget notes started afresh."""
        return dataclasses.replace(self, stage=self.stage + 1, reductions=[], regime=[], independent=[],
                                   seed_counts=[])

    def independent_of_budget(self, why: str) -> None:
        """The judged figure does not depend on the training budget (a file size, a latency of
        a fixed shape): a reduced budget still tests the claim; `why` is shown in the row."""
        if why not in self.independent:
            self.independent.append(why)

    def untested(self, why: str) -> None:
        """This case cannot reach the claim's regime in this profile, for a reason the
        budget figures do not show (e.g. a stand-in setup)."""
        if why not in self.regime:
            self.regime.append(why)

    @property
    def reaches_regime(self) -> bool:
        return not self.regime or bool(self.independent)

    def budget(self) -> dict[str, Any]:
        """What the ledger row says of the budget: at the source's own, or reduced (and how),
        and whether the reduced budget still tests the claim."""
        return {
            "at_source_budget": not self.reductions,
            "reduced": list(self.reductions),
            "untested_by": [] if self.reaches_regime else list(self.regime),
            "independent_of_budget": list(self.independent),
            # [stage reached (1-based), stages planned] for a judge over seeds, else None
            "seed_stage": [self.stage + 1, SEED_STAGES] if self.seed_counts else None,
            "seeds": list(self.seed_counts),
        }


def _budget_text(value) -> str:
    if value is None:
        return "all"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@dataclass
class ClaimResult:
    """One judged case of a claim: verdict, the formatted line and every measured figure."""

    claim_id: str
    case: str  # readable parameters, e.g. "depth=8"
    verdict: Verdict
    line: str  # "Δ=−0.04 pt, 90% CI [−0.11, +0.03], 5 paired seeds, margin ±0.2 → HOLDS"
    figures: dict[str, Any] = field(default_factory=dict)  # JSON-safe measured figures
    note: str = ""  # what a reader should know (e.g. "measured drop far smaller than claimed")
    timed: Callable[[], Any] | None = field(default=None, repr=False)  # what the benchmark times
    harness_broken: str | None = None  # set when a control pair fails
    # The device the timed work runs on, when it is not the case's device (e.g. "cpu" for
    # int8 inference in a cuda case): the judge normalizes by that device's reference.
    timed_device: str | None = None
    # {"at_source_budget": bool, "reduced": ["epochs 2 of 100", ...]}: set by `run_claim`.
    budget: dict[str, Any] | None = None
    # The one-sided p-value of the test that makes (or would make) this case FAILS and its
    # level (from the case's Judgements, set by `run_claim`): Holm across a claim's cases
    # (`precision_kit.multiplicity`) reads them.
    p_fail: float | None = None
    fail_alpha: float | None = None
    # The typed part of the result, which the gate and the report read (never figure names):
    # the case's parameters (set by `run_claim`); each arm's test accuracy in % per seed, the
    # list's index being the seed (None: that seed diverged); exact sizes in bytes by what
    # was measured (a serialized state_dict, packed weights), which must not change.
    params: dict[str, Any] = field(default_factory=dict)
    accuracies: dict[str, list[float | None]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        claim = REGISTRY.get(self.claim_id)
        return {
            "claim": self.claim_id,
            "source": claim.source if claim else None,
            "statement": claim.statement if claim else None,
            "speed_claim": bool(claim and claim.speed),
            "case": self.case,
            "params": json_safe(self.params),
            "verdict": str(self.verdict),
            "line": self.line,
            "note": self.note,
            "harness_broken": self.harness_broken,
            "timed_device": self.timed_device,
            "budget": self.budget,
            "p_fail": self.p_fail,
            "fail_alpha": self.fail_alpha,
            "accuracies": json_safe(self.accuracies),
            "sizes": dict(self.sizes),
            "figures": json_safe(self.figures),
        }


@dataclass(frozen=True)
class Claim:
    id: str
    source: str  # seed file name
    section: str
    statement: str  # the claim in a few words
    test: str  # how it is judged
    judge: Callable[..., ClaimResult] = field(repr=False)
    # A speed claim's verdict is a ratio of times on this machine: another CPU model (same
    # machine class) may rightly reach another verdict, so it is gated only against the same
    # CPU model and gets no machine-independent expected verdict.
    speed: bool = False
    cases: Cases = field(default_factory=Cases)  # its cases, declared once (`claims.cases`)


REGISTRY: dict[str, Claim] = {}


def claim(id: str, source: str, section: str, statement: str, test: str, speed: bool = False,
          cases: Cases | None = None):
    """Register the decorated judge function as the claim `id` (`speed`: see `Claim.speed`;
    `cases`: its declared cases, `claims.cases.cases(...)`)."""

    def register(judge: Callable[..., ClaimResult]) -> Callable[..., ClaimResult]:
        if id in REGISTRY:
            raise ValueError(f"claim {id} is registered twice")
        REGISTRY[id] = Claim(id, source, section, statement, test, judge, speed, cases or Cases())
        return judge

    return register


def run_claim(claim_id: str, ctx: Context, **params) -> ClaimResult:
    """Judge one case of `claim_id` in `ctx` with the case's parameters: a case judged over
    seeds that comes out INCONCLUSIVE is judged again at the next seed stage (`SEED_STAGES`),
    a case below the claim's regime becomes UNTESTED (`mark_untested`), and the result gets
    its budget and the evidence Holm needs (`fail_evidence`)."""
    try:
        entry = REGISTRY[claim_id]
    except KeyError:
        raise ValueError(f"unknown claim {claim_id!r}; known: {', '.join(sorted(REGISTRY))}") from None
    unknown = entry.cases.explain_unknown(params)
    if unknown:
        raise ValueError(f"{claim_id}: {unknown}")
    params = {**_declared_defaults(entry), **params}
    why = entry.cases.not_in_profile(params, ctx.profile)
    if why:
        raise NotInProfile(why)
    ctx = dataclasses.replace(ctx, case=entry.cases.label(params))
    earlier: list[dict[str, Any]] = []  # the looks before the last, as the ledger keeps them
    while True:
        with looks_scope():
            result = entry.judge(ctx, **params)
        result.budget = ctx.budget()
        if not ctx.reaches_regime:
            mark_untested(result, ctx.regime)
        escalate = (result.verdict == Verdict.INCONCLUSIVE and ctx.seed_counts and not entry.speed
                    and ctx.stage + 1 < SEED_STAGES)
        if not escalate:
            break
        look = {"seeds": max(ctx.seed_counts), "verdict": result.verdict.value, "line": result.line}
        earlier.append(look)
        # a paper-profile escalation can train for hours: say why, and what the first look saw
        progress.note(f"{look['verdict']} at {look['seeds']} seeds ({look['line']}); "
                      f"escalating to {2 * look['seeds']} seeds")
        ctx = ctx.next_stage()
    if earlier:
        result.budget["earlier_looks"] = earlier
    if entry.cases.declared or not result.case:
        result.case = ctx.case  # the declared label, whatever the judge wrote
    result.params = dict(params)
    result.p_fail, result.fail_alpha = fail_evidence(result)
    return result


def case_label(claim_id: str, params: Mapping[str, Any]) -> str:
    """The ledger label of a case of `claim_id` (the judge's defaults fill left-out parameters)."""
    entry = REGISTRY[claim_id]
    return entry.cases.label({**_declared_defaults(entry), **params})


def _declared_defaults(entry: Claim) -> dict[str, Any]:
    """The judge's defaults of the parameters the claim declares (a case that leaves one out
    is the case with that value, and is labelled so)."""
    signature = inspect.signature(entry.judge)
    return {name: signature.parameters[name].default for name in entry.cases.names
            if name in signature.parameters and signature.parameters[name].default is not inspect.Parameter.empty}


def family_size(key: tuple, unsupported: Mapping[tuple[str, str], int] | None = None) -> int | None:
    """How many cases the full run judges in the Holm family `key` = (claim, device, profile):
    the claim's declared cases in that profile, less the `unsupported` ones this machine
    skipped ({(claim, device): count}); None for a claim that declares no cases."""
    claim_id, device, profile = key
    entry = REGISTRY.get(claim_id)
    if entry is None or not entry.cases.declared or profile not in PROFILES:
        return None
    return len(entry.cases.of_profile(profile)) - (unsupported or {}).get((claim_id, device), 0)


def json_safe(value: Any) -> Any:
    """Figures as strict JSON: tensors to lists, non-finite floats to None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return value
