"""Unit tests of source 003's helpers (precision_kit.claims.chasing_99 and _arch): epoch
reads, seed pairing, the stated-number verdict and the width steps, on synthetic run
records: no dataset, no training."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from precision_kit.claims import REGISTRY
from precision_kit.claims.chasing_99 import (
    accuracy_at,
    arm,
    paired_at,
    reached,
    train_accuracies,
    versus_stated,
)
from precision_kit.claims.chasing_99_arch import width_step
from precision_kit.errors import PrecisionKitError
from precision_kit.train import EpochRecord
from precision_kit.verdicts import Verdict


def fake_run(seed: int, test_acc, epochs: int | None = None, train_acc=None):
    """A stand-in for a Trained record: one EpochRecord per finished epoch."""
    epochs = epochs or len(test_acc)
    train_acc = train_acc or [a + 1.0 for a in test_acc]
    records = tuple(
        EpochRecord(epoch=i + 1, train_loss=0.1, train_accuracy=tr, seconds=1.0, test_accuracy=te)
        for i, (te, tr) in enumerate(zip(test_acc, train_acc, strict=True))
    )
    diverged = len(records) < epochs
    return SimpleNamespace(
        seed=seed,
        epochs=records,
        arm=SimpleNamespace(config=SimpleNamespace(epochs=epochs)),
        diverged=diverged,
        status=f"DIVERGED at step {len(records) * 10 + 3}" if diverged else "OK",
    )


def test_all_six_claims_register():
    assert {f"CH-{i}" for i in range(1, 7)} <= set(REGISTRY)


def test_arm_is_the_source_setup():
    a = arm(1e-4, 50)
    assert a.model.width == 50 and a.model.depth == 2 and a.model.init == "default"
    assert a.config.batch_size == 50 and a.config.optimizer == "adam"
    assert a.normalize == "standardize" and a.config.evaluation == "epoch"


def test_accuracy_at_reads_the_epoch_record():
    run = fake_run(0, [90.0, 95.0, 97.0])
    assert accuracy_at(run, 1) == 90.0
    assert accuracy_at(run, 3) == 97.0
    with pytest.raises(PrecisionKitError, match="outside"):
        accuracy_at(run, 4)
    with pytest.raises(PrecisionKitError, match="outside"):
        accuracy_at(run, 0)


def test_a_diverged_run_keeps_its_epochs_before_divergence():
    run = fake_run(1, [90.0, 95.0], epochs=5)
    assert reached(run, 2) and not reached(run, 3)
    assert accuracy_at(run, 2) == 95.0
    with pytest.raises(PrecisionKitError, match="DIVERGED"):
        accuracy_at(run, 3)


def test_paired_at_pairs_by_seed_and_drops_diverged_seeds():
    a = [fake_run(0, [90.0, 91.0]), fake_run(1, [92.0, 93.0]), fake_run(2, [94.0, 95.0])]
    b = [fake_run(0, [96.0, 97.0]), fake_run(1, [98.0], epochs=2), fake_run(2, [96.5, 97.5])]
    acc_a, acc_b, note = paired_at(a, b, 2, 2)
    assert acc_a == [91.0, 95.0] and acc_b == [97.0, 97.5]
    assert "seed 1" in note and "DIVERGED" in note
    acc_a, acc_b, note = paired_at(a, b, 1, 1)  # at epoch 1 seed 1 had not diverged yet
    assert acc_a == [90.0, 92.0, 94.0] and acc_b == [96.0, 98.0, 96.5] and note == ""


def test_paired_at_refuses_unpaired_seeds():
    with pytest.raises(ValueError, match="not paired"):
        paired_at([fake_run(0, [90.0])], [fake_run(1, [91.0])], 1, 1)


def test_train_accuracies_per_seed_that_reached_the_epoch():
    runs = [fake_run(0, [90.0, 95.0], train_acc=[92.0, 99.0]), fake_run(1, [90.0], epochs=2)]
    assert train_accuracies(runs, 2) == [99.0]


def test_versus_stated_holds_inside_and_above_fails_below():
    inside = versus_stated([97.1, 97.3, 97.2, 97.4, 97.25], 97.24)
    assert inside.verdict == Verdict.HOLDS and inside.interval.contains(0.0)
    above = versus_stated([97.6, 97.7, 97.65, 97.8, 97.7], 97.24)
    assert above.verdict == Verdict.HOLDS and above.interval.low > 0
    below = versus_stated([97.0, 97.1, 97.05, 97.1, 97.0], 97.5)
    assert below.verdict == Verdict.FAILS and below.interval.high < 0
    assert below.mean == pytest.approx(97.05)
    line = below.line()
    assert "stated 97.5%" in line and "95% CI" in line and "5 seeds" in line and line.endswith("FAILS")


def test_versus_stated_needs_two_seeds():
    with pytest.raises(ValueError, match="at least 2"):
        versus_stated([97.0], 97.5)


def test_width_steps_are_adjacent_pairs():
    assert width_step(10) == (10, 50)
    assert width_step(100) == (50, 100)
    assert width_step(1000) == (100, 1000)
    with pytest.raises(ValueError, match="not a case"):
        width_step(50)
