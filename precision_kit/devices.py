"""Device resolution: turn a user's device request into a `torch.device`, never falling back.

Asking for CUDA on a machine without a usable GPU raises `UnsupportedError`; the code never
silently runs on the CPU instead.
"""

from __future__ import annotations

import torch

from precision_kit.errors import UnsupportedError

_ACCEPTED = "'cpu', 'cuda', 'cuda:N' or a torch.device of type cpu/cuda"


def resolve_device(device: str | torch.device) -> torch.device:
    """Return the `torch.device` for `device` ("cpu", "cuda", "cuda:N" or a torch.device).

    "cuda" resolves to the current CUDA device with its index (e.g. ``cuda:0``) so that
    resolved devices compare equal to ``tensor.device``.

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
    return torch.device("cuda", index)
