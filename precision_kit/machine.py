"""What decides a timing, recorded with every run: library versions, threads, determinism
flags, the CPU and the GPU; and the machine *class* two runs must share to be gated.

The class is what makes normalized timings comparable: operating system, architecture,
logical CPU count, the CPU instruction set torch dispatches to, and the GPU model (None
without CUDA). The CPU's model string, torch version and driver are recorded and shown
but not part of the class: the reference GEMM absorbs a different clock, and a library
upgrade is exactly the kind of change the gate exists to measure.
"""

from __future__ import annotations

import os
import platform
from typing import Any

CLASS_KEYS = ("system", "machine", "cpu_count", "cpu_capability", "gpu")


def precision_kit_info() -> dict[str, Any]:
    """The precision_kit part of a run's machine info (pytest-benchmark's `machine_info`).

    The determinism flags (`devices.determinism_flags`: cuDNN deterministic/benchmark, the
    cuBLAS workspace, both TF32 switches) are read when the info is taken (pytest-benchmark
    takes it when it saves, at the end of the session): after a CUDA run they show what
    `devices.cuda_determinism` set; the TF32 switches show the process defaults, which
    `precision.matmul_mode` sets per precision during training and restores after.
    """
    import torch

    from .devices import determinism_flags

    info: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "cpu_id": cpu_id(),
        **determinism_flags(),
        "flush_denormal": "set by precision_kit.precision.configure_cpu on CPU runs",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "gpu": None,
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = props.name
        info["gpu_memory_bytes"] = props.total_memory
        info["gpu_capability"] = f"{props.major}.{props.minor}"
        info["cuda_driver"] = _nvidia_driver()
    return info


def machine_class(machine: dict[str, Any]) -> dict[str, Any]:
    """The class of a run's machine info (pytest-benchmark's dict with our `precision_kit` part)."""
    pk = machine.get("precision_kit") or {}
    return {
        "system": machine.get("system"),
        "machine": machine.get("machine"),
        "cpu_count": pk.get("cpu_count"),
        "cpu_capability": pk.get("cpu_capability"),
        "gpu": pk.get("gpu"),
    }


def this_machine() -> dict[str, Any]:
    """This process's machine info in the same shape pytest-benchmark records."""
    return {"system": platform.system(), "machine": platform.machine(), "precision_kit": precision_kit_info()}


def cpu_id() -> str | None:
    """The CPU's vendor, family and model numbers ("AuthenticAMD family 25 model 17"): what
    tells two microarchitectures apart where a hypervisor shows both as the same model name
    (a Zen 4 and a Zen 5 EPYC both read "AMD EPYC" in these VMs). None where /proc/cpuinfo
    does not say."""
    fields = _cpuinfo()
    return format_cpu_id(fields.get("vendor_id"), fields.get("cpu family"), fields.get("model"))


def format_cpu_id(vendor: object, family: object, model: object) -> str | None:
    """One spelling for the CPU id, from /proc/cpuinfo here or py-cpuinfo's fields in a stored run."""
    if vendor is None or family is None or model is None:
        return None
    return f"{vendor} family {family} model {model}"


def _cpu_model() -> str | None:
    return _cpuinfo().get("model name") or platform.processor() or None


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ({} where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if not sep:
                    if fields:
                        break  # the first processor's block is enough
                    continue
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _nvidia_driver() -> str | None:
    path = "/proc/driver/nvidia/version"
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return fh.readline().strip()
