"""pytest wiring shared by tests/ and bench/: options, markers, machine info.

- `--pk-profile quick|paper`: the claims' budget (quick is the default and fits CI).
- `--data-root DIR`: where `mnist/` lives (else PRECISION_KIT_DATA, else ~/.cache/precision_kit).
- `-m cpu` / `-m cuda`: device markers; cuda cases skip with a reason on a machine without CUDA.
- machine info for `--benchmark-autosave`: torch/CUDA/cuDNN versions, threads, determinism flags.
"""

from __future__ import annotations

import os
import platform

import pytest

PROFILES = ("quick", "paper")


def pytest_addoption(parser):
    group = parser.getgroup("precision_kit")
    group.addoption(
        "--pk-profile",
        default="quick",
        choices=PROFILES,
        help="claim budget: quick (default, fits a 2-core CPU in CI) or paper (the source's setup)",
    )
    group.addoption(
        "--data-root",
        default=None,
        help="folder holding mnist/ (default: $PRECISION_KIT_DATA, then ~/.cache/precision_kit)",
    )


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs CUDA: torch.cuda.is_available() is False on this machine")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def pk_profile(pytestconfig) -> str:
    return pytestconfig.getoption("--pk-profile")


@pytest.fixture(scope="session")
def data_root(pytestconfig):
    """The data root given on the command line, or None to use the library's resolution."""
    return pytestconfig.getoption("--data-root")


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record what decides a timing: library versions, threads, determinism, the GPU."""
    import torch

    info = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "flush_denormal": "set by precision_kit.precision.configure_cpu on CPU runs",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "pk_profile": config.getoption("--pk-profile"),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = props.name
        info["gpu_memory_bytes"] = props.total_memory
        info["gpu_capability"] = f"{props.major}.{props.minor}"
        info["cuda_driver"] = _nvidia_driver()
    machine_info["precision_kit"] = info


def _nvidia_driver() -> str | None:
    path = "/proc/driver/nvidia/version"
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return fh.readline().strip()
