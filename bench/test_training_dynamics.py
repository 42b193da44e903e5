"""Source 002 — training dynamics of a small CNN on MNIST: claims TD-1 … TD-5.

Each case is a thin wrapper: `judge` runs the claim from `precision_kit.claims` (training
through the model cache; the Adam + dropout arm is shared by all five claims), times what
the claim is about, stores every figure in `benchmark.extra_info` and checks the verdict
against baselines/expected_verdicts.json. Quick: 1 epoch, 5 seeds (every case UNTESTED:
one epoch of 20 cannot reach the claims' regime); paper: the source's 20 epochs, 10 seeds.
"""

from __future__ import annotations

import pytest
from _cases import DEVICES

from precision_kit.pytest_plugin import claim_cases


@pytest.mark.parametrize("device", DEVICES)
def test_TD_1_reaches_99_3(judge, device):
    """TD-1: the CNN (Adam + dropout) reaches 99.3% test accuracy. n = 5 seeds (quick,
    1 epoch) or 10 (paper, 20 epochs); HOLDS if the 95% CI upper bound of the mean ≥ 99.3.
    Timed: inference on the 10,000 test images."""
    judge("TD-1", device)


@claim_cases("TD-2")
@pytest.mark.parametrize("device", DEVICES)
def test_TD_2_adam_converges_faster(judge, device, case):
    """TD-2: Adam reaches 98% test accuracy in fewer epochs than `optimizer` (superiority,
    one-sided 95%) and the final accuracies are equivalent at ±0.3 pt (90% CI); paired
    seeds. Quick runs sgd only. Timed: one training step of `optimizer`."""
    judge("TD-2", device, **case)


@pytest.mark.parametrize("device", DEVICES)
def test_TD_3_dropout_generalizes(judge, device):
    """TD-3: dropout 0.5 beats no dropout in test accuracy, paired seeds with identical
    initial weights, superiority one-sided 95%. Timed: inference of the dropout model."""
    judge("TD-3", device)


@pytest.mark.parametrize("device", DEVICES)
def test_TD_4_weight_distributions(judge, device):
    """TD-4: per-layer weight distributions move away from the initial ones (W1 grows from
    the first to the last checkpoint) and become multimodal (KDE modes ≥ 2). Timed: the
    shape analysis of one trained model's weights."""
    judge("TD-4", device)


@pytest.mark.parametrize("device", DEVICES)
def test_TD_5_penultimate_separates_classes(judge, device):
    """TD-5: 5-NN leave-one-out accuracy on penultimate activations beats raw pixels on a
    fixed 2,000-image test subset (superiority over seeds); silhouette and a 2-D PCA
    embedding reported. Timed: activations + 5-NN of one model."""
    judge("TD-5", device)


@pytest.mark.parametrize("device", DEVICES)
def test_TD_6_later_layers_more_class_specific(judge, device):
    """TD-6: early layers learn general features, later layers digit-specific ones. Mean class
    selectivity (Morcos et al.) of conv1, conv2 and the FC layer of the Adam + dropout CNN on 2,000
    test images; Δ = SI(fc) − SI(conv1) > 0 over paired seeds, one-sided 95%; n = 5 (quick, 1
    epoch: UNTESTED) / 10. Timed: the selectivity of one model."""
    judge("TD-6", device)


@pytest.mark.parametrize("device", DEVICES)
def test_TD_7_dropout_helps_deeper_cnns_more(judge, device):
    """TD-7: dropout helps particularly for deeper architectures. Dropout gain (acc with 0.5 −
    without) per seed on the source's CNN (TD-3's arms) and on a deeper one (a third
    convolution); Δ = gain(deeper) − gain(source's) > 0, one-sided 95%; n = 5 (quick, 1 epoch:
    UNTESTED) / 10 (paper, 20 epochs)."""
    judge("TD-7", device)
