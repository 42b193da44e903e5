"""A claim's cases, declared once where the claim is: the values of each parameter (the cases
are their product, in declaration order), the values the quick profile judges (the rest are
judged in the paper profile only), the smoke case the unit tests run, and the label a case
carries in the ledger ("depth=2-amp-fp16"). The bench parametrizes from it, `run_claim`
checks a case against it, and Holm counts a claim's family from it.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]


@dataclass(frozen=True)
class Cases:
    """The declared cases of one claim (build with `cases(...)`)."""

    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    quick: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    smoke: tuple[tuple[str, Any], ...] | None = None
    label_format: str | None = None  # str.format over the parameters; None: "name=value-…"

    def __post_init__(self) -> None:
        values = dict(self.grid)
        for name, vals in self.grid:
            if not vals:
                raise ValueError(f"parameter {name!r} declares no values; give at least one")
        for name, subset in self.quick:
            if name not in values:
                raise ValueError(f"quick names {name!r}, which is not a parameter ({', '.join(values) or 'none'})")
            extra = [v for v in subset if v not in values[name]]
            if extra or not subset:
                raise ValueError(f"quick {name}={list(subset)} must be a non-empty subset of {list(values[name])}")
        if self.smoke is not None and self.explain_unknown(dict(self.smoke)):
            raise ValueError(f"smoke case {dict(self.smoke)}: {self.explain_unknown(dict(self.smoke))}")
        if self.label_format is not None:
            fields = {f for _, f, _, _ in string.Formatter().parse(self.label_format) if f}
            if not fields <= set(values):
                raise ValueError(f"label {self.label_format!r} names {sorted(fields - set(values))}, "
                                 f"which are not parameters ({', '.join(values) or 'none'})")

    @property
    def declared(self) -> bool:
        """Whether the claim declares its cases (parameters or a fixed label) at all."""
        return bool(self.grid or self.label_format)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.grid)

    def all(self) -> list[Params]:
        """Every declared case, in declaration order (one empty case for a claim without parameters)."""
        names = self.names
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in self.grid))]

    def of_profile(self, profile: str) -> list[Params]:
        return [p for p in self.all() if self.not_in_profile(p, profile) is None]

    def not_in_profile(self, params: Mapping[str, Any], profile: str) -> str | None:
        """Why `params` is judged in the paper profile only, or None when `profile` judges it."""
        if profile != "quick":
            return None
        for name, subset in self.quick:
            if name in params and params[name] not in subset:
                return (f"{name}={params[name]!r} is judged in the paper profile only (quick runs "
                        f"{list(subset)}); run with --pk-profile paper")
        return None

    def explain_unknown(self, params: Mapping[str, Any]) -> str | None:
        """Why `params` is not a case of this claim (a parameter it does not declare), or None."""
        if not self.grid:
            return None  # a claim that declares no cases takes whatever its judge takes
        unknown = sorted(set(params) - set(self.names))
        if unknown:
            return f"unknown parameter(s) {', '.join(unknown)}; this claim's parameters are {', '.join(self.names)}"
        return None

    def smoke_case(self) -> Params:
        """The case the unit tests judge at a smoke budget: the declared one, else the first of quick."""
        if self.smoke is not None:
            return dict(self.smoke)
        quick = self.of_profile("quick")
        return quick[0] if quick else {}

    def label(self, params: Mapping[str, Any]) -> str:
        """The case's name in the ledger, from its parameters."""
        if self.label_format is not None:
            try:
                return self.label_format.format(**params)
            except KeyError as err:
                raise ValueError(f"case {dict(params)} lacks {err} for the label {self.label_format!r}") from None
        return "-".join(f"{k}={v}" for k, v in params.items())


def cases(label: str | None = None, quick: Mapping[str, Sequence] | None = None,
          smoke: Mapping[str, Any] | None = None, **grid: Sequence) -> Cases:
    """Declare a claim's cases: `cases("depth={depth}-{precision}", depth=(2, 4), precision=("a", "b"),
    quick={"depth": (2,)}, smoke={"depth": 2, "precision": "a"})`."""
    return Cases(
        grid=tuple((name, tuple(values)) for name, values in grid.items()),
        quick=tuple((name, tuple(values)) for name, values in (quick or {}).items()),
        smoke=None if smoke is None else tuple(smoke.items()),
        label_format=label,
    )


def case_id(params: Mapping[str, Any]) -> str:
    """A pytest id for a case: numbers after their name ("depth2"), words as they are."""
    parts = [f"{k}{v}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
             for k, v in params.items()]
    return "-".join(parts) or "case"
