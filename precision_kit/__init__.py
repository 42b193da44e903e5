"""precision_kit: measure, judge and gate published claims about numerical precision in
neural-network training, on the real MNIST with real torch kernels.

The flow is one way: data → model → train(precision) → quantize / round / cast →
evaluate → claim verdict → report / baselines. Importing the package has no side effects.
"""

from .data import Dataset, Split, load_dataset
from .errors import DataError, PrecisionKitError, UnsupportedError
from .evaluate import EvalResult, evaluate
from .models import cnn, mlp
from .packing import pack_rounded, unpack_rounded
from .precision import PRECISIONS, Precision, cast_for_inference, get_precision
from .quantize import INT8_BACKENDS, quantize_int8, round_weights
from .size import SizeReport, model_size
from .train import TrainConfig, TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Dataset",
    "EvalResult",
    "INT8_BACKENDS",
    "PRECISIONS",
    "Precision",
    "PrecisionKitError",
    "SizeReport",
    "Split",
    "TrainConfig",
    "TrainResult",
    "UnsupportedError",
    "cast_for_inference",
    "cnn",
    "evaluate",
    "get_precision",
    "load_dataset",
    "mlp",
    "model_size",
    "pack_rounded",
    "quantize_int8",
    "round_weights",
    "train",
    "unpack_rounded",
]
