"""The parts of the pytest plugin on their own: the progress events and line, the timing
turns across processes, shard selection, the merge of shard ledgers and the cached runs of a
user's own training function, and the notes a worker leaves for the controller."""

from __future__ import annotations

import json
import multiprocessing
import time
import warnings

import pytest

from precision_kit import cache, merge, multiplicity, own_runs, progress
from precision_kit.plugin import notes, shard, terminal
from precision_kit.plugin.state import STATE, RunState
from precision_kit.plugin.turns import Turns
from precision_kit.results import Results, ResultsError

# --- progress -----------------------------------------------------------------------------


def test_a_task_reports_start_each_epoch_and_end_to_the_listener():
    events = []
    with progress.listen(events.append), progress.task("arm", runs=2, epochs=3):
        for _ in range(6):
            progress.epoch_done()
    assert [e.kind for e in events] == ["start"] + ["epoch"] * 6 + ["end"]
    assert [e.epochs_done for e in events[1:-1]] == [1, 2, 3, 4, 5, 6]
    assert all(e.epochs_total == 6 for e in events)
    assert events[0].eta_s is None and events[-1].eta_s == 0.0


def test_without_a_listener_training_reports_nothing_and_costs_nothing():
    with progress.task("arm", runs=1, epochs=2):
        progress.epoch_done()  # no sink: no task object, nothing recorded
    progress.epoch_done()


def test_the_time_left_is_the_pace_so_far():
    event = progress.Event("epoch", "arm", epochs_done=2, epochs_total=10, elapsed_s=4.0)
    assert event.eta_s == pytest.approx(16.0)
    assert progress.duration(3725) == "1 h 02 min" and progress.duration(65) == "1 min 05 s"
    assert progress.duration(None) == "?"


class Terminal:
    """pytest's terminal reporter as the progress line uses it (its public methods)."""

    def __init__(self, isatty: bool):
        self.isatty, self.calls = isatty, []

    def ensure_newline(self):
        self.calls.append(("newline",))

    def rewrite(self, line, erase=False):
        self.calls.append(("rewrite", line))

    def write(self, text):
        self.calls.append(("write", text))

    def write_line(self, text):
        self.calls.append(("line", text))


def _train(sink, epochs=4):
    with progress.listen(sink), progress.task("mlp fp32, 5 seeds, 1 population", runs=1, epochs=epochs):
        for _ in range(epochs):
            progress.epoch_done()


def test_on_a_terminal_the_line_is_rewritten_in_place_and_the_finished_arm_stays():
    tr = Terminal(isatty=True)
    line = terminal.ProgressLine(tr, "BI-1 [cpu-depth2]")
    line.last = -1e9
    _train(line)
    rewrites = [c[1] for c in tr.calls if c[0] == "rewrite"]
    assert "epoch" in rewrites[0] and "left" in rewrites[0]
    assert rewrites[-1].startswith("BI-1 [cpu-depth2] · mlp fp32") and "4/4 epochs in" in rewrites[-1]
    assert tr.calls[0] == ("newline",) and tr.calls[-1] == ("write", "\n")


def test_in_a_log_each_finished_arm_gets_one_line():
    tr = Terminal(isatty=False)
    _train(terminal.ProgressLine(tr, "SZ-1 [cpu-fp16]"))
    lines = [c[1] for c in tr.calls if c[0] == "line"]
    assert len(lines) == 1 and "4/4 epochs in" in lines[0]
    assert not [c for c in tr.calls if c[0] == "rewrite"]


@pytest.mark.parametrize("isatty", [True, False])
def test_a_note_about_the_case_gets_a_line_of_its_own_on_a_terminal_and_in_a_log(isatty):
    tr = Terminal(isatty=isatty)
    with progress.listen(terminal.ProgressLine(tr, "TD-7 [cpu]")):
        progress.note("INCONCLUSIVE at 10 seeds (l); escalating to 20 seeds")
    assert tr.calls == [("newline",), ("line", "TD-7 [cpu] · INCONCLUSIVE at 10 seeds (l); escalating to 20 seeds")]
    progress.note("nobody listens: nothing happens")


class Config:
    def __init__(self, verbosity, worker=False):
        self.verbosity = verbosity
        if worker:
            self.workerinput = {}

    def get_verbosity(self):
        return self.verbosity


def test_progress_is_quiet_under_q_and_in_xdist_workers():
    assert terminal.wanted(Config(0)) and terminal.wanted(Config(1))
    assert not terminal.wanted(Config(-1))
    assert not terminal.wanted(Config(0, worker=True))


# --- timing turns -------------------------------------------------------------------------


def _judge(folder, log, hold, together):
    turns = Turns(folder)
    with turns.judging():
        log.put(("judging starts", time.monotonic()))
        together.wait(timeout=300)  # every judge is inside before any ends, however slow the spawn
        time.sleep(hold)
        log.put(("judging ends", time.monotonic()))


def _time(folder, log):
    with Turns(folder).timing():
        log.put(("timing starts", time.monotonic()))
        log.put(("timing ends", time.monotonic()))


def test_a_measurement_waits_for_the_judging_workers_and_runs_alone(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    log = ctx.Queue()
    together = ctx.Barrier(2)
    judging = [ctx.Process(target=_judge, args=(tmp_path, log, 1.0, together)) for _ in range(2)]
    for p in judging:
        p.start()
    starts = [log.get(timeout=60) for _ in judging]  # both judge side by side
    timing = ctx.Process(target=_time, args=(tmp_path, log))
    timing.start()
    # generous waits: a loaded machine (2 cores busy training) can take a minute to spawn and
    # import; only the order of the events is asserted
    for p in [*judging, timing]:
        p.join(timeout=300)
    events = starts + [log.get(timeout=60) for _ in range(4)]
    assert [e for e, _ in events[:2]] == ["judging starts"] * 2
    ends = [t for e, t in events if e == "judging ends"]
    (start,) = [t for e, t in events if e == "timing starts"]
    assert start >= max(ends)  # the measurement started only after every judging worker finished


# --- shards -------------------------------------------------------------------------------


class Item:
    def __init__(self, nodeid):
        self.nodeid = nodeid


def test_shards_deal_out_whole_test_functions_and_cover_every_case_once():
    ids = [f"bench/test_a.py::test_{f}[{p}]" for f in "abcde" for p in (1, 2)] + ["bench/test_b.py::test_z"]
    items = [Item(i) for i in ids]
    shares = [shard.select(items, i, 3)[0] for i in (1, 2, 3)]
    assert sorted(it.nodeid for share in shares for it in share) == sorted(ids)
    for share in shares:
        functions = {shard.group(it.nodeid) for it in share}
        assert all(shard.group(i) not in functions or Item(i) for i in ids)
        assert {it.nodeid for it in items if shard.group(it.nodeid) in functions} == {it.nodeid for it in share}
    assert shard.select(items, 2, 3)[0] == shares[1]  # deterministic
    assert shard.parse("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1-2", ""):
        with pytest.raises(pytest.UsageError, match="expected i/n"):
            shard.parse(bad)


# --- merge --------------------------------------------------------------------------------


def _row(case, verdict, p=None, alpha=0.05, claim="ZZ-1"):
    return {"claim": claim, "case": case, "device": "cpu", "profile": "quick", "verdict": verdict,
            "line": f"{case} → {verdict}", "p_fail": p, "fail_alpha": alpha, "speed_claim": False, "figures": {}}


MACHINE = {"machine": "x86_64", "cpu": {"brand_raw": "AMD EPYC"}, "precision_kit": {"pk_profile": "quick"}}


def _results(name, rows):
    return Results(name, MACHINE, {f"{r['claim']}[{r['case']}]@{r['device']}": r for r in rows})


def test_merging_shards_applies_holm_across_the_claims_merged_cases():
    # Alone, each shard's FAILS survives Holm (p = 0.03 < 0.05); merged, the claim has two
    # cases and Holm's first step needs p ≤ 0.025: both become INCONCLUSIVE.
    a = multiplicity.adjust([_row("depth=2", "FAILS", p=0.03)])
    b = multiplicity.adjust([_row("depth=4", "FAILS", p=0.04)])
    assert [r["verdict"] for r in a + b] == ["FAILS", "FAILS"]
    merged = merge.merge([_results("a", a), _results("b", b)])
    assert [r["verdict"] for r in merged] == ["INCONCLUSIVE", "INCONCLUSIVE"]
    assert all(r["figures"]["holm"]["m"] == 2 for r in merged)


def test_merged_shards_that_miss_declared_cases_are_held_to_the_declared_family():
    # BI-3 declares 8 quick cases; two shards judged 2 of them: Bonferroni over 8, not Holm over 2
    a = [_row("depth=2-torch.ao", "FAILS", p=0.004, claim="BI-3")]
    b = [_row("depth=4-torch.ao", "FAILS", p=0.02, claim="BI-3")]
    merged = merge.merge([_results("a", a), _results("b", b)])
    assert [r["verdict"] for r in merged] == ["FAILS", "INCONCLUSIVE"]
    assert all(r["figures"]["holm"] == {**r["figures"]["holm"], "m": 8, "not_judged": 6} for r in merged)


def test_a_row_goes_back_to_its_verdict_before_holm():
    (adjusted,) = [r for r in multiplicity.adjust([_row("d2", "FAILS", p=0.03), _row("d4", "FAILS", p=0.04)])
                   if r["case"] == "d4"]
    assert adjusted["verdict"] == "INCONCLUSIVE"
    back = merge.before_holm(adjusted)
    assert back["verdict"] == "FAILS" and back["line"] == "d4 → FAILS"
    assert "holm" not in back["figures"] and "verdict_before_holm" not in back["figures"]


def test_a_merge_refuses_a_case_twice_other_profiles_and_other_machine_classes():
    rows = [_row("d2", "HOLDS", p=0.9)]
    with pytest.raises(ResultsError, match="is in both"):
        merge.merge([_results("a", rows), _results("b", rows)])
    paper = [{**_row("d4", "HOLDS", p=0.9), "profile": "paper"}]
    with pytest.raises(ResultsError, match="different profiles"):
        merge.merge([_results("a", rows), _results("b", paper)])
    other = Results("b", {**MACHINE, "machine": "aarch64"}, {"BI-1[d4]@cpu": _row("d4", "HOLDS", p=0.9)})
    with pytest.raises(ResultsError, match="another machine class"):
        merge.merge([_results("a", rows), other])
    with pytest.raises(ResultsError, match="nothing to merge"):
        merge.merge([])


# --- own runs -----------------------------------------------------------------------------


def test_own_runs_train_each_seed_once_and_a_new_version_trains_again(cache_dir):
    calls = []

    def train(seed, lr):
        calls.append((seed, lr))
        return {"accuracy": 90.0 + seed + lr}

    first = own_runs.runs("m", train, range(3), lr=0.5)
    assert first == [{"accuracy": 90.5}, {"accuracy": 91.5}, {"accuracy": 92.5}]
    assert own_runs.runs("m", train, range(3), lr=0.5) == first and len(calls) == 3  # from the cache
    own_runs.runs("m", train, range(3), lr=0.1)  # other parameters: another arm
    own_runs.runs("m", train, range(3), version="2", lr=0.5)  # changed training code
    assert len(calls) == 9
    assert all(json.loads(p.read_text())["format"] == own_runs.FORMAT for p in (cache_dir / "runs").glob("*.json"))


def test_own_runs_explain_what_they_expected(cache_dir):
    with pytest.raises(TypeError, match="must return a non-empty mapping"):
        own_runs.runs("m", lambda seed: 97.0, [0])
    with pytest.raises(TypeError, match="is not a number"):
        own_runs.runs("m", lambda seed: {"accuracy": "high"}, [0])
    with pytest.raises(TypeError, match="must be JSON values"):
        own_runs.runs("m", lambda seed, f: {"a": 1.0}, [0], f=object())
    assert own_runs.runs("m", lambda seed: {"accuracy": float("nan")}, [0]) == [{"accuracy": None}]


def test_a_damaged_run_is_moved_aside_and_trained_again(cache_dir):
    own_runs.runs("m", lambda seed: {"accuracy": 1.0}, [0])
    (path,) = (cache_dir / "runs").glob("*.json")
    path.write_text('{"format": "precision_kit.own_run/1", "figures": ')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert own_runs.runs("m", lambda seed: {"accuracy": 2.0}, [0]) == [{"accuracy": 2.0}]
    assert any(issubclass(w.category, cache.CacheWarning) for w in caught)
    assert list((cache_dir / "runs" / cache.QUARANTINE).iterdir())


# --- one GPU per worker -------------------------------------------------------------------


def test_xdist_workers_are_dealt_out_over_the_gpus():
    from precision_kit.plugin.workers import gpu_for_worker

    assert [gpu_for_worker(f"gw{i}", 2) for i in range(4)] == [0, 1, 0, 1]
    assert gpu_for_worker("gw5", 4) == 1
    assert gpu_for_worker("gw1", 1) is None and gpu_for_worker("gw0", 0) is None  # nothing to choose
    assert gpu_for_worker("master", 2) is None


# --- notes from a worker to the controller -------------------------------------------------


class _Config:
    """The two things notes read of a pytest config: its stash, and workerinput in a worker."""

    def __init__(self, worker: bool):
        self.stash = pytest.Stash()
        self.stash[STATE] = RunState()
        if worker:
            self.workerinput = {}


class _Node:
    def __init__(self, config):
        self.config = config
        self.user_properties = []


class _Request:
    def __init__(self, config):
        self.config = config
        self.node = _Node(config)


class _Report:
    def __init__(self, node, when="call"):
        self.node, self.when, self.user_properties = node, when, list(node.user_properties)


def test_a_worker_hands_its_skips_to_the_controller_which_files_them():
    worker = _Request(_Config(worker=True))
    notes.leave(worker, notes.UNSUPPORTED, ["BI-3", "cpu", "fbgemm"])
    notes.leave(worker, notes.OUT_OF_TIME, "SZ-4[norm-0.5]@cpu")
    assert worker.config.stash[STATE].unsupported == set()  # nothing filed in the worker
    controller = _Config(worker=False)
    report = _Report(worker.node)
    report.node = _Node(controller)
    report.node.user_properties = worker.node.user_properties
    report.user_properties = worker.node.user_properties + [("someone.else", 1)]
    notes.receive(report)
    state = controller.stash[STATE]
    assert state.unsupported == {("BI-3", "cpu", "fbgemm")}
    assert state.out_of_time == {"SZ-4[norm-0.5]@cpu"}
    setup = _Report(report.node, when="setup")
    setup.user_properties = [(notes.OUT_OF_TIME, "other")]
    notes.receive(setup)
    assert state.out_of_time == {"SZ-4[norm-0.5]@cpu"}  # only the call report carries notes


def test_in_one_process_a_note_is_filed_at_once_and_an_unknown_kind_is_refused():
    request = _Request(_Config(worker=False))
    notes.leave(request, notes.OUT_OF_TIME, "CH-2[lr1e-4]@cpu")
    assert request.config.stash[STATE].out_of_time == {"CH-2[lr1e-4]@cpu"}
    assert request.node.user_properties == []
    with pytest.raises(ValueError, match="unknown note kind 'row'.*expected one of"):
        notes.leave(request, "row", {})
