"""precision_kit's pytest plugin in a suite of its own (pytester, each run a real pytest in a
subprocess): a user's claim judged into the ledger, the expected-verdict check and the gate's
exit codes, pytest-xdist giving the serial run's ledger with every case timed, and shards
merged into the serial run's ledger. The claims here train a linear classifier on
synthetic data in well under a second per seed, so no MNIST is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_suite import ledgers, readme_example, run, verdicts

from precision_kit import cli, gate, results

pytest_plugins = ["pytester"]
# One worker runs this module (`make test` passes --dist loadgroup): its runs share a model cache.
pytestmark = pytest.mark.xdist_group("pytest-plugin")

# A second user file: two claims (two test functions, so two shards), one case timed.
CLAIMS = '''
import torch
from precision_kit import stats
from precision_kit.claims import ClaimResult, claim
from precision_kit.own_runs import runs


def train(seed: int, width: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1000, 10, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()  # XOR of two signs: two hidden units cannot learn it
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(10, width), torch.nn.ReLU(), torch.nn.Linear(width, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(x[:800]), y[:800])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"accuracy": 100 * (model(x[800:]).argmax(1) == y[800:]).float().mean().item()}


@claim("PT-1", source="plugin test", section="width", statement="width 32 is as good as width 16",
       test="equivalence ±{margin} pt, 90% CI, paired seeds")
def widths_agree(ctx, margin: float):
    seeds = ctx.seeds(quick=5, paper=10)
    a = [r["accuracy"] for r in runs("pt", train, seeds, width=16)]
    b = [r["accuracy"] for r in runs("pt", train, seeds, width=32)]
    j = stats.equivalence(a, b, margin)
    x = torch.randn(256, 256)
    return ClaimResult("PT-1", f"margin={margin}", j.verdict, j.line(),
                       figures={"judgement": j, "threads": torch.get_num_threads()}, timed=lambda: x @ x)


@claim("PT-2", source="plugin test", section="width", statement="width 2 beats width 64 (it does not)",
       test="superiority, 95% bound, paired seeds")
def narrower_is_better(ctx):
    seeds = ctx.seeds(quick=5, paper=10)
    a = [r["accuracy"] for r in runs("pt", train, seeds, width=64)]
    b = [r["accuracy"] for r in runs("pt", train, seeds, width=2)]
    j = stats.superiority(a, b)
    return ClaimResult("PT-2", "2 vs 64", j.verdict, j.line(), figures={"judgement": j})


import pytest


@pytest.mark.parametrize("margin", [5.0, 0.001])
def test_widths_agree(judge, margin):
    judge("PT-1", "cpu", margin=margin)


def test_narrower_is_better(judge):
    judge("PT-2", "cpu")
'''


def test_the_readme_example_judges_a_users_claim_into_the_ledger(suite):
    suite.makepyfile(test_my_claims=readme_example())
    out = run(suite)
    out.assert_outcomes(passed=1)
    out.stdout.fnmatch_lines(["*claims ledger (1 HOLDS)*", "*MY-1*margin=1.0*HOLDS*"])
    (path,) = ledgers(suite)
    assert verdicts(path) == {"MY-1[margin=1.0]@cpu": "HOLDS"}


def _deltas(path: Path) -> dict[str, float]:
    return {k: r["figures"]["judgement"]["delta"] for k, r in results.load(path).rows.items()}


def _newest(pytester, before: set[Path]) -> Path:
    (path,) = set(ledgers(pytester)) - before
    return path


def test_xdist_workers_give_the_serial_verdicts_with_every_case_timed(suite):
    suite.makepyfile(test_plugin_claims=CLAIMS)
    run(suite, "--benchmark-autosave").assert_outcomes(passed=3)
    (serial,) = ledgers(suite)
    threads = results.load(serial).rows["PT-1[margin=5.0]@cpu"]["figures"]["threads"]

    # by default each of the 2 workers judges with half of torch's threads: other models,
    # the same verdicts
    before = set(ledgers(suite))
    parallel = run(suite, "-n", "2", "--benchmark-autosave")
    parallel.assert_outcomes(passed=3)
    parallel.stdout.fnmatch_lines(["*claims ledger (*)*", "*precision_kit timed 2 case(s) alone*"])
    split = _newest(suite, before)
    assert verdicts(split) == verdicts(serial)
    assert verdicts(split)["PT-1[margin=5.0]@cpu"] == "HOLDS" and verdicts(split)["PT-2[2 vs 64]@cpu"] == "FAILS"
    assert {r["figures"]["threads"] for r in results.load(split).rows.values() if r["claim"] == "PT-1"} == {
        max(1, threads // 2)}

    saved = sorted((suite.path / "storage").rglob("*.json"))
    assert len(saved) == 2  # the serial run's (pytest-benchmark) and the parallel run's (the plugin)
    doc = json.loads(saved[-1].read_text())
    cases = {b["name"]: b for b in doc["benchmarks"]}
    assert set(cases) == {"test_widths_agree[5.0]", "test_widths_agree[0.001]", "test_narrower_is_better"}
    timed = cases["test_widths_agree[5.0]"]
    assert timed["stats"]["rounds"] == 5 and timed["extra_info"]["timing"]["seconds"]
    assert results.load(saved[-1]).rows.keys() == results.load(serial).rows.keys()

    # with torch's own thread count the workers train the serial run's models: equal accuracies
    before = set(ledgers(suite))
    run(suite, "-n", "2", f"--pk-worker-threads={threads}").assert_outcomes(passed=3)
    same = _newest(suite, before)
    assert verdicts(same) == verdicts(serial) and _deltas(same) == _deltas(serial)

    out = run(suite, "--pk-worker-threads=0")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--pk-worker-threads=0: expected a number of threads ≥ 1*"])


def test_shards_merge_into_the_serial_ledger(suite, capsys):
    suite.makepyfile(test_plugin_claims=CLAIMS)
    run(suite).assert_outcomes(passed=3)
    (serial,) = ledgers(suite)
    shards = []
    for i in (1, 2):
        before = set(ledgers(suite))
        out = run(suite, f"--pk-shard={i}/2")
        assert out.ret == 0, out.stdout.str()
        (new,) = set(ledgers(suite)) - before
        shards.append(new)
    assert all(results.load(s).rows.keys() < results.load(serial).rows.keys() for s in shards)
    merged = suite.path / "merged" / "claims.json"
    assert cli.main(["merge", *map(str, shards), "--out", str(merged)]) == 0
    assert verdicts(merged) == verdicts(serial)
    assert cli.main(["merge", str(shards[0]), str(shards[0]), "--out", str(merged)]) == gate.EXIT_INFRA
    assert "is in both" in capsys.readouterr().err


def test_a_bad_shard_is_a_usage_error(suite):
    suite.makepyfile(test_plugin_claims=CLAIMS)
    out = run(suite, "--pk-shard=3/2")
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    out.stderr.fnmatch_lines(["*--pk-shard='3/2': expected i/n with 1 ≤ i ≤ n*"])


def test_the_options_are_there_for_any_suite(suite):
    out = run(suite, "--help")
    out.stdout.fnmatch_lines(["*--pk-profile*", "*--pk-gate*", "*--pk-expected*", "*--pk-shard*"])


# A timed case whose rounds are interrupted, as the GPU window's budget SIGINT (or Ctrl-C)
# does: the KeyboardInterrupt is raised where the signal lands, inside the timed call.
INTERRUPTED = '''
import torch
from precision_kit.claims import ClaimResult, claim


@claim("IN-1", source="plugin test", section="interrupt", statement="a case that finishes", test="none")
def finishes(ctx):
    x = torch.randn(64, 64)
    return ClaimResult("IN-1", "a", "HOLDS", "finished", timed=lambda: x @ x)


@claim("IN-2", source="plugin test", section="interrupt", statement="a case interrupted in its rounds",
       test="none")
def interrupted(ctx):
    def timed():
        raise KeyboardInterrupt
    return ClaimResult("IN-2", "b", "HOLDS", "never timed", timed=timed)


def test_finishes(judge):
    judge("IN-1", "cpu")


def test_interrupted(judge):
    judge("IN-2", "cpu")
'''


def test_an_interrupt_in_the_timed_rounds_keeps_the_finished_cases(suite):
    """pytest-benchmark registers a case's statistics before its first round; interrupted
    there, the autosave at the session's end failed on the empty statistics (exit 1, no JSON)
    and the GPU window took the run for a failure. The run now stops as interrupted (exit 2)
    with the finished case in both the ledger and the autosave file."""
    suite.makepyfile(test_interrupted=INTERRUPTED)
    out = run(suite, "--benchmark-autosave")
    assert out.ret == pytest.ExitCode.INTERRUPTED, out.stdout.str()[-3000:]
    assert "empty sequence" not in out.stdout.str() + out.stderr.str()
    (path,) = ledgers(suite)
    assert verdicts(path) == {"IN-1[a]@cpu": "HOLDS"}
    (saved,) = (suite.path / "storage").rglob("*.json")
    names = [b["name"] for b in json.loads(saved.read_text())["benchmarks"]]
    assert names == ["test_finishes"]
