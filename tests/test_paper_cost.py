"""tools/paper_cost.py: a training call is cut to STEPS batches per epoch, its training
seconds scaled to whole epochs, and the table adds up per case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from synthetic import synthetic_dataset

from precision_kit.models import mlp
from precision_kit.population import train_population
from precision_kit.train import TrainConfig, train

_PATH = Path(__file__).resolve().parent.parent / "tools" / "paper_cost.py"
_SPEC = importlib.util.spec_from_file_location("paper_cost", _PATH)
paper_cost = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(paper_cost)


def test_a_cut_training_call_is_scaled_to_whole_epochs(tmp_path):
    plugin = paper_cost.CostPlugin(steps=3, log=tmp_path / "calls.jsonl")
    plugin.case = "test_X_1[cpu]"
    data = synthetic_dataset(n_train=1000, n_test=100)  # 10 batches of 100 per epoch
    config = TrainConfig(epochs=2, batch_size=100, evaluation="epoch")
    result = plugin._wrap(train, single=True)(mlp(1, 8), data, config)
    assert len(result.epochs) == 2 and result.steps == 6  # every epoch ran, 3 batches each
    pop = plugin._wrap(train_population, single=False)([mlp(1, 8, seed=s) for s in range(2)], data,
                                                        [config.replace(seed=s) for s in range(2)])
    assert len(pop) == 2 and all(r.steps == 6 for r in pop)
    single, stacked = plugin.calls["test_X_1[cpu]"]
    assert single["scale"] == stacked["scale"] == 10 / 3
    assert single["members"] == 1 and stacked["members"] == 2 and stacked["engine"] == "population"
    for record in (single, stacked):
        trained = record["train_seconds"]
        assert record["estimate_seconds"] == pytest.approx(record["wall_seconds"] - trained + trained * 10 / 3)
    plugin.walls["test_X_1[cpu]"] = 5.0
    text = paper_cost.table(plugin)
    assert "test_X_1[cpu]" in text and "| 2 | 6 |" in text  # 2 calls, 1×2 + 2×2 member-epochs
    assert len((tmp_path / "calls.jsonl").read_text().splitlines()) == 2


def test_a_step_cap_below_the_epoch_caps_the_scale(tmp_path):
    plugin = paper_cost.CostPlugin(steps=2, log=tmp_path / "calls.jsonl")
    data = synthetic_dataset(n_train=1000, n_test=100)
    config = TrainConfig(epochs=1, batch_size=100, max_steps=4, evaluation="none")
    plugin._wrap(train, single=True)(mlp(1, 8), data, config)
    [record] = plugin.calls["?"]
    assert record["scale"] == 2.0  # 4 capped steps of the 10, 2 of them run
