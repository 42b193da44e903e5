"""The ledger table and files: every row shown, written atomically as strict JSON."""

from __future__ import annotations

import json

import pytest

from precision_kit import ledger
from precision_kit.claims import REGISTRY, ClaimResult
from precision_kit.claims.base import json_safe
from precision_kit.verdicts import Verdict

ROWS = [
    {"claim": "BI-1", "source": "000_x", "statement": "amp", "case": "depth=2", "device": "cpu",
     "line": "Δ=+0.04 pt, 90% CI [−0.01, +0.09], 5 paired seeds, margin ±0.2 → HOLDS", "verdict": "HOLDS",
     "note": "", "params": {"depth": 2}, "accuracies": {"fp32": [97.1, 97.2]}, "sizes": {}},
    {"claim": "SZ-2", "source": "001_x", "statement": "times", "case": "fp16", "device": "cpu",
     "line": "ratio 9.1×", "verdict": "FAILS", "note": "no fp16 units", "params": {"precision": "fp16"},
     "accuracies": {}, "sizes": {}},
]


def test_table_lists_every_row_with_its_verdict():
    text = ledger.table(ROWS)
    assert "BI-1" in text and "SZ-2" in text and "FAILS" in text and "no fp16 units" in text
    assert ledger.summary(ROWS) == "1 HOLDS, 1 FAILS"


def test_write_is_strict_json_and_markdown(tmp_path):
    json_path, md_path = ledger.write(ROWS, tmp_path / "out", {"cpu": "test"})
    doc = json.loads(json_path.read_text())
    assert doc["rows"] == ROWS and doc["machine"] == {"cpu": "test"}
    assert "| BI-1" in md_path.read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["claims.json", "claims.md"]


def test_each_run_gets_a_ledger_of_its_own_and_never_replaces_one(tmp_path):
    first, _ = ledger.write_run(ROWS, tmp_path, {}, "abc123_20261130_010203")
    taken = tmp_path / "0005_other.json"  # e.g. written by a concurrent run
    taken.write_text("{}")
    second, md = ledger.write_run(ROWS[:1], tmp_path, {}, "def456_20261130_020304")
    assert (first.name, second.name) == ("0001_abc123_20261130_010203.json", "0006_def456_20261130_020304.json")
    assert md.name == "0006_def456_20261130_020304.md" and taken.read_text() == "{}"
    assert json.loads(first.read_text())["rows"] == ROWS and json.loads(second.read_text())["tag"].startswith("def")
    assert ledger.newest(tmp_path) == second and ledger.newest(tmp_path / "none") is None
    with pytest.raises(ValueError, match="letters, digits"):
        ledger.write_run(ROWS, tmp_path, {}, "../escape")


def test_a_run_ledger_is_rewritten_in_place_as_cases_finish(tmp_path):
    run = ledger.RunLedger(tmp_path, {"cpu": "x"}, "tag")
    first, _ = run.save(ROWS[:1])
    assert json.loads(first.read_text())["rows"] == ROWS[:1]
    again, md = run.save(ROWS)
    assert again == first and json.loads(first.read_text())["rows"] == ROWS and "SZ-2" in md.read_text()
    other, _ = ledger.RunLedger(tmp_path, {}, "tag").save(ROWS)  # another run never takes its name
    assert (first.name, other.name) == ("0001_tag.json", "0002_tag.json")


def test_results_are_json_safe():
    result = ClaimResult("BI-1", "depth=2", Verdict.HOLDS, "line", figures={"x": float("inf"), "y": (1, 2.5)})
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["figures"] == {"x": None, "y": [1, 2.5]} and data["source"] == REGISTRY["BI-1"].source
    assert json_safe({"a": float("nan")}) == {"a": None}


def test_every_claim_of_the_ledger_is_registered():
    ids = {f"BI-{i}" for i in range(1, 6)}
    assert ids <= set(REGISTRY)


def test_expected_verdicts_merge_and_cli(tmp_path):
    from precision_kit.cli import main

    rows = [dict(r, profile="quick") for r in ROWS]
    json_path, _ = ledger.write(rows, tmp_path)
    out = tmp_path / "expected.json"
    out.write_text(json.dumps({"paper": {"cuda": {"BI-1[depth=2]": "HOLDS"}}}))
    assert main(["expect", str(json_path), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {
        "paper": {"cuda": {"BI-1[depth=2]": "HOLDS"}},
        "quick": {"cpu": {"BI-1[depth=2]": "HOLDS", "SZ-2[fp16]": "FAILS"}},
    }


def test_cli_rejects_a_file_that_is_not_a_ledger(tmp_path, capsys):
    from precision_kit.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    assert main(["expect", str(bad), "--out", str(tmp_path / "e.json")]) == 2
    err = capsys.readouterr().err
    assert "schema 'other'" in err and f"reads {ledger.SCHEMA!r}" in err
    assert not (tmp_path / "e.json").exists()


def test_atomic_writer_leaves_nothing_behind_on_failure(tmp_path):
    import pytest

    from precision_kit.files import atomic_writer

    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="rejected"):
        with atomic_writer(target) as fh:
            fh.write(b"partial")
            raise RuntimeError("rejected")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_a_case_says_whether_it_ran_at_the_sources_budget():
    from precision_kit.claims import Context

    quick = Context(profile="quick")
    assert quick.pick(2, 100, "epochs") == 2 and quick.pick(5, 5, "batch size") == 5
    quick.seeds()
    quick.pick(3, 10)  # not a budget figure (e.g. timing rounds): not recorded
    assert quick.budget() == {"at_source_budget": False, "reduced": ["epochs 2 of 100", "seeds 5 of 10"],
                              "untested_by": ["epochs 2 of 100"], "independent_of_budget": [],
                              "seed_stage": [1, 2], "seeds": [5]}
    paper = Context(profile="paper")
    paper.pick(2, 100, "epochs"), paper.seeds()
    assert paper.budget() == {"at_source_budget": True, "reduced": [], "untested_by": [], "independent_of_budget": [],
                              "seed_stage": [1, 2], "seeds": [10]}
    rows = [
        ledger.row({"claim": "X-1", "case": "a", "verdict": "HOLDS", "line": "l", "budget": quick.budget()}, "cpu",
                   "quick"),
        ledger.row({"claim": "X-2", "case": "b", "verdict": "HOLDS", "line": "l", "budget": paper.budget()}, "cpu",
                   "paper"),
        ledger.row({"claim": "X-3", "case": "c", "verdict": "HOLDS", "line": "l"}, "cpu", "quick"),
    ]
    text = ledger.table(rows)
    assert "reduced:" in text and "seeds 5 of 10" in text and "source" in text and "—" in text


def test_run_claim_attaches_the_budget_of_the_case(monkeypatch):
    from precision_kit.claims import base

    def judge(ctx, **params):
        ctx.pick(1, 20, "epochs")
        return base.ClaimResult("ZZ-1", "", base.Verdict.HOLDS, "line")

    monkeypatch.setitem(base.REGISTRY, "ZZ-1", base.Claim("ZZ-1", "s", "1", "st", "t", judge))
    result = base.run_claim("ZZ-1", base.Context(profile="quick"))
    assert result.budget["reduced"] == ["epochs 1 of 20"] and result.budget["at_source_budget"] is False
    assert result.to_dict()["budget"] == result.budget
    assert base.run_claim("ZZ-1", base.Context(profile="paper")).budget["at_source_budget"] is True


def _register(monkeypatch, judge, verdict="HOLDS"):
    from precision_kit.claims import base

    def wrapped(ctx, **params):
        judge(ctx)
        return base.ClaimResult("ZZ-2", "", base.Verdict(verdict), "Δ=+0.10 pt → " + verdict, figures={"a": [1.0]})

    monkeypatch.setitem(base.REGISTRY, "ZZ-2", base.Claim("ZZ-2", "s", "1", "st", "t", wrapped))
    return base


def test_a_case_below_the_claims_regime_is_untested_never_fails(monkeypatch):
    """1 of the source's 20 epochs cannot reach a "after 20 epochs" claim: neither its FAILS
    nor its HOLDS is a verdict on the claim; the measured figures and the would-be verdict stay."""
    for measured in ("FAILS", "HOLDS", "INCONCLUSIVE"):
        base = _register(monkeypatch, lambda ctx: ctx.pick(1, 20, "epochs"), measured)
        result = base.run_claim("ZZ-2", base.Context(profile="quick"))
        assert result.verdict == base.Verdict.UNTESTED
        assert result.line.startswith("UNTESTED: epochs 1 of 20") and measured in result.line
        assert result.figures["verdict_at_this_budget"] == measured and result.figures["a"] == [1.0]
        assert result.budget["untested_by"] == ["epochs 1 of 20"]
        # the same judge at the source's budget keeps its verdict
        assert base.run_claim("ZZ-2", base.Context(profile="paper")).verdict == base.Verdict(measured)


def test_fewer_seeds_or_timing_rounds_do_not_make_a_case_untested(monkeypatch):
    base = _register(monkeypatch, lambda ctx: (ctx.seeds(), ctx.pick(3, 5, "rounds", regime=False)), "FAILS")
    result = base.run_claim("ZZ-2", base.Context(profile="quick"))
    assert result.verdict == base.Verdict.FAILS and result.budget["reduced"] == ["seeds 5 of 10", "rounds 3 of 5"]


def test_a_judge_can_state_why_its_figure_does_not_depend_on_the_budget(monkeypatch):
    def judge(ctx):
        ctx.pick(1, 10, "epochs")
        ctx.independent_of_budget("a file's size does not depend on how long the model trained")

    base = _register(monkeypatch, judge, "HOLDS")
    result = base.run_claim("ZZ-2", base.Context(profile="quick"))
    assert result.verdict == base.Verdict.HOLDS and result.budget["independent_of_budget"]


def test_a_judge_can_declare_a_case_untested_itself(monkeypatch):
    base = _register(monkeypatch, lambda ctx: ctx.untested("a stand-in setup"), "HOLDS")
    result = base.run_claim("ZZ-2", base.Context(profile="quick"))
    assert result.verdict == base.Verdict.UNTESTED and "a stand-in setup" in result.line
