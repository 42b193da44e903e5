"""Device resolution: turn a user's device request into a `torch.device`, never falling back.

Asking for CUDA on a machine without a usable GPU raises `UnsupportedError`; the code never
silently runs on the CPU instead.

The CUDA allocator's peak of one arm (`start_peak_memory`, `peak_memory`) lives here too.

Resolving a CUDA device also makes CUDA deterministic (`cuda_determinism`): every path that
puts work on a GPU (data, training, evaluation, the reference GEMM) resolves its device
first, so this is the one place that runs before the library's first cuBLAS or cuDNN call.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from precision_kit.errors import UnsupportedError

_ACCEPTED = "'cpu', 'cuda', 'cuda:N' or a torch.device of type cpu/cuda"
CUBLAS_WORKSPACE_ENV = "CUBLAS_WORKSPACE_CONFIG"
CUBLAS_WORKSPACE = ":4096:8"  # one of the two settings NVIDIA documents as deterministic


def determinism_flags() -> dict[str, Any]:
    """The settings that decide whether two CUDA runs of one arm compute the same numbers:
    cuDNN's algorithm choice, the cuBLAS workspace and the TF32 switches (recorded in the
    machine info and, for CUDA runs, in the model-cache key)."""
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cublas_workspace_config": os.environ.get(CUBLAS_WORKSPACE_ENV),
        "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
    }


def cuda_determinism() -> dict[str, Any]:
    """Make CUDA kernels deterministic when CUDA is available; return `determinism_flags()`.

    Without it cuDNN picks its backward algorithms by benchmark or heuristics, so two runs of
    one arm can differ in the last bits. Sets ``cudnn.deterministic = True`` and
    ``cudnn.benchmark = False``, and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` if the variable is
    unset (a value the user chose is kept). cuBLAS (and PyTorch's workspace pool) read that
    variable once, when a process first calls cuBLAS: set here it takes effect only if no
    matmul ran on the GPU before, which holds when the library's own paths are first, since
    they all call `resolve_device`. For a process that used cuBLAS earlier, export the
    variable before starting Python. TF32 is not touched: `precision.matmul_mode` sets it
    per precision. Without CUDA nothing is changed; idempotent.
    """
    if torch.cuda.is_available():
        os.environ.setdefault(CUBLAS_WORKSPACE_ENV, CUBLAS_WORKSPACE)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return determinism_flags()


def resolve_device(device: str | torch.device) -> torch.device:
    """Return the `torch.device` for `device` ("cpu", "cuda", "cuda:N" or a torch.device).

    "cuda" resolves to the current CUDA device with its index (e.g. ``cuda:0``) so that
    resolved devices compare equal to ``tensor.device``. Resolving a CUDA device switches
    CUDA to deterministic kernels (`cuda_determinism`).

    Raises:
        ValueError: `device` is not one of the accepted forms.
        UnsupportedError: CUDA requested but no GPU (or not that GPU index) is available.
    """
    if isinstance(device, str):
        try:
            resolved = torch.device(device)
        except RuntimeError as err:
            raise ValueError(
                f"expected device {_ACCEPTED}, found {device!r}; pass one of those."
            ) from err
    elif isinstance(device, torch.device):
        resolved = device
    else:
        raise TypeError(
            f"expected device {_ACCEPTED}, found an object of type {type(device).__name__}."
        )
    if resolved.type == "cpu":
        return torch.device("cpu")
    if resolved.type != "cuda":
        raise ValueError(f"expected device {_ACCEPTED}, found {device!r}; pass one of those.")
    if not torch.cuda.is_available():
        raise UnsupportedError(
            "CUDA requested but torch.cuda.is_available() is False on this machine; run with "
            f"device='cpu' or on a machine with a GPU (requested: {device!r})."
        )
    count = torch.cuda.device_count()
    index = torch.cuda.current_device() if resolved.index is None else resolved.index
    if index >= count:
        raise UnsupportedError(
            f"CUDA device {index} requested ({device!r}) but this machine has {count} GPU(s) "
            f"(indices 0..{count - 1}); pass a valid index or device='cuda'."
        )
    cuda_determinism()
    return torch.device("cuda", index)


def own_peak(peak: int, at_start: int) -> int:
    """The allocator peak an arm caused: `peak` (max allocated since the reset) minus `at_start`
    (allocated at the reset: the resident dataset and anything cached by earlier arms)."""
    if peak < at_start:
        raise ValueError(
            f"allocator peak {peak} bytes is below the {at_start} bytes allocated when it was reset; "
            "the peak must be read from the same device after the reset"
        )
    return peak - at_start


def start_peak_memory(device: torch.device) -> int | None:
    """Reset the CUDA allocator's peak and return the bytes allocated now (None on CPU, which
    has no allocator statistics)."""
    if device.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(device)
    return torch.cuda.memory_allocated(device)


def peak_memory(device: torch.device, at_start: int | None) -> int | None:
    """The arm's own allocator peak since `start_peak_memory` (None on CPU)."""
    if at_start is None:
        return None
    return own_peak(torch.cuda.max_memory_allocated(device), at_start)
