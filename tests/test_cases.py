"""A claim's cases declared once (`precision_kit.claims.cases`): the product of its values,
the quick profile's share, the ledger label, and what `run_claim` and the bench do with them."""

from __future__ import annotations

import pytest

from precision_kit.claims import REGISTRY, Context, NotInProfile, run_claim
from precision_kit.claims.base import family_size
from precision_kit.claims.cases import Cases, case_id, cases
from precision_kit.plugin.cases import claim_cases


def test_the_cases_are_the_product_in_declaration_order_and_quick_is_a_subset():
    declared = cases("depth={depth}-{precision}", depth=(2, 4, 8), precision=("a", "b"), quick={"depth": (2, 8)})
    assert [declared.label(p) for p in declared.all()] == [
        "depth=2-a", "depth=2-b", "depth=4-a", "depth=4-b", "depth=8-a", "depth=8-b"]
    assert [p["depth"] for p in declared.of_profile("quick")] == [2, 2, 8, 8]
    assert len(declared.of_profile("paper")) == 6
    assert "paper profile only" in declared.not_in_profile({"depth": 4, "precision": "a"}, "quick")
    assert declared.smoke_case() == {"depth": 2, "precision": "a"}
    assert Cases().all() == [{}] and cases("fixed").label({}) == "fixed"
    assert not Cases().declared and cases("fixed").declared and declared.declared
    assert cases(margin=(1.0,)).label({"margin": 1.0}) == "margin=1.0"  # no format: name=value
    assert case_id({"depth": 2, "backend": "torch.ao"}) == "depth2-torch.ao" and case_id({}) == "case"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"depth": ()}, "declares no values"),
    ({"depth": (2,), "quick": {"width": (2,)}}, "not a parameter"),
    ({"depth": (2,), "quick": {"depth": (3,)}}, "subset"),
    ({"depth": (2,), "smoke": {"width": 1}}, "unknown parameter"),
    ({"label": "w={width}", "depth": (2,)}, "not parameters"),
])
def test_a_bad_declaration_says_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cases(**kwargs)


def test_run_claim_checks_a_case_against_the_declaration():
    with pytest.raises(ValueError, match="unknown parameter.*depth, backend"):
        run_claim("BI-2", Context(), depth=2, width=3)
    with pytest.raises(NotInProfile, match="depth=6 is judged in the paper profile only"):
        run_claim("BI-2", Context(profile="quick"), depth=6, backend="torch.ao")


def test_every_declared_quick_case_is_a_case_of_the_stored_baseline():
    """Labels come from the declarations: renaming one would orphan the stored baseline's rows
    (a claim added since the baseline was recorded is declared and not stored yet)."""
    import json
    from pathlib import Path

    rows = json.loads((Path(__file__).parents[1] / "baselines" / "quick-cpu" / "claims.json").read_text())["rows"]
    stored = {(r["claim"], r["case"]) for r in rows}
    declared = {(c.id, c.cases.label(p)) for c in REGISTRY.values() for p in c.cases.of_profile("quick")}
    assert stored <= declared


def test_the_bench_parametrizes_from_the_declaration_and_holm_counts_it():
    mark = claim_cases("BI-3")
    assert mark.args[0] == "case" and len(mark.args[1]) == 10 and mark.kwargs["ids"][0] == "depth2-torch.ao"
    assert family_size(("BI-3", "cpu", "quick")) == 8 and family_size(("BI-3", "cpu", "paper")) == 10
    assert family_size(("BI-3", "cpu", "quick"), {("BI-3", "cpu"): 4}) == 4  # torchao missing here
    assert family_size(("ZZ-1", "cpu", "quick")) is None  # a claim that declares nothing
    with pytest.raises(ValueError, match="unknown claim 'ZZ-9'"):
        claim_cases("ZZ-9")


def test_a_case_that_leaves_out_a_declared_parameter_takes_the_judges_default():
    from precision_kit.claims import base

    seen = []

    @base.claim("ZZ-7", "test", "s", "a claim with a default", "t", cases=cases("depth={depth}", depth=(2, 4)))
    def judge(ctx, depth: int = 2):
        seen.append(depth)
        return base.ClaimResult("ZZ-7", ctx.case, base.Verdict.HOLDS, "line")

    try:
        result = run_claim("ZZ-7", Context())
        assert seen == [2] and result.case == "depth=2" and result.params == {"depth": 2}
        assert base.case_label("ZZ-7", {}) == "depth=2"  # what the plugin names a skipped case
    finally:
        del base.REGISTRY["ZZ-7"]
