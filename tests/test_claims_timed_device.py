"""`ClaimResult.timed_device`: the claims whose timed work runs on the CPU whatever the case's
device (BI-2 int8 quantization, BI-3 int8 inference, SZ-6 the range check of the cached state
dicts, TD-4 the weight statistics) say so, so the bench's judge normalizes them by the CPU
reference and not by the case device's. The judges run for real on a small synthetic MNIST:
the claims' arms are trained (few steps, a test cache of their own) through `run_seeds` with
the synthetic data in place of the real one (and, for TD-4, a small MLP in place of the CNN)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from synthetic import synthetic_dataset, train_on

from precision_kit import experiment
from precision_kit.claims import REGISTRY, depth_precision, parameter_precision_setup, training_dynamics_repr
from precision_kit.claims.base import ClaimResult, Context
from precision_kit.claims.training_dynamics_measures import WeightRecorder
from precision_kit.experiment import ModelSpec
from precision_kit.verdicts import Verdict

SMALL_MODEL = ModelSpec("mlp", depth=1, width=32)


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=256, n_test=200)


@pytest.fixture
def synthetic_mnist(module_cache, data, monkeypatch):
    """Every claim module used here trains and loads the synthetic data instead of MNIST (one
    cache for the module, so BI-2, BI-3 and BI-4 train the depth-2 arm once)."""
    run_seeds = train_on(data, monkeypatch, (depth_precision, parameter_precision_setup),
                         (depth_precision, training_dynamics_repr))

    def runs(ctx, arm, data=None):
        """TD-4's runs with a small MLP for the CNN: its weight statistics (KDE per layer and
        checkpoint) over the CNN's 225,000 weights would take most of this module's time.
        `data` (the shuffled-label control) replaces the synthetic data when given."""
        small = dataclasses.replace(arm, model=dataclasses.replace(SMALL_MODEL, init=arm.model.init))
        if data is None:
            return run_seeds(small, ctx.seeds(3, 5), ctx.device, ctx.root, recorder=WeightRecorder())
        return experiment.run_seeds(small, ctx.seeds(3, 5), ctx.device, ctx.root, recorder=WeightRecorder(),
                                    data=data)

    monkeypatch.setattr(training_dynamics_repr, "runs", runs)
    return Context(device="cpu")


def test_timed_device_defaults_to_the_cases_device_and_is_in_the_dict():
    result = ClaimResult("BI-1", "depth=2", Verdict.HOLDS, "line")
    assert result.timed_device is None and result.to_dict()["timed_device"] is None
    on_cpu = ClaimResult("BI-3", "depth=2-torch.ao", Verdict.HOLDS, "line", timed_device="cpu")
    assert json.loads(json.dumps(on_cpu.to_dict()))["timed_device"] == "cpu"


@pytest.mark.parametrize(("claim_id", "params"), [
    ("BI-2", {"depth": 2}),
    ("BI-3", {"depth": 2}),
    ("SZ-6", {}),
    ("TD-4", {}),
])
def test_claims_timed_on_the_cpu_say_so(synthetic_mnist, claim_id, params):
    result = REGISTRY[claim_id].judge(synthetic_mnist, **params)
    assert result.claim_id == claim_id and result.verdict in tuple(Verdict)
    assert result.timed_device == "cpu" and result.to_dict()["timed_device"] == "cpu"
    result.timed()  # the timed work runs (on the CPU: everything here is)


def test_a_claim_timed_on_the_cases_device_leaves_it_unset(synthetic_mnist):
    result = depth_precision.bi4(synthetic_mnist, depth=2)  # inference on ctx.device
    assert result.timed_device is None and result.to_dict()["timed_device"] is None
