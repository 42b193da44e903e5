"""What an xdist worker of the pytest plugin does differently: its GPU on a machine with
several, the turn it judges a case in (beside the other workers, with its share of the
threads, or alone for a speed claim), and timing alone where pytest-benchmark is off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext

from .turns import Turns


def gpu_for_worker(worker_id: str, gpus: int) -> int | None:
    """The GPU an xdist worker ("gw3") uses on a machine with `gpus` of them: the workers
    dealt out over the GPUs in turn; None with fewer than two GPUs (nothing to choose)."""
    if gpus < 2 or not worker_id.startswith("gw") or not worker_id[2:].isdigit():
        return None
    return int(worker_id[2:]) % gpus


def one_gpu_per_worker(worker: dict) -> None:
    """On a machine with several GPUs, make "cuda" mean this worker's own GPU (a case's
    device "cuda" is the current device), so the workers judge on different GPUs."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None and "," not in os.environ["CUDA_VISIBLE_DEVICES"]:
        return  # pinned already
    import torch

    if not torch.cuda.is_available():
        return
    index = gpu_for_worker(str(worker.get("workerid", "")), torch.cuda.device_count())
    if index is not None:
        torch.cuda.set_device(index)


def turn(config, turns: Turns | None, claim_id: str):
    """The xdist turn a case is judged in: a speed claim measures while it judges, so it
    judges alone (`Turns.timing`) with torch's own thread count; any other beside the other
    workers (`Turns.judging`), with its share of the threads (`_judging_threads`)."""
    if turns is None:
        return nullcontext()
    from ..claims import REGISTRY

    entry = REGISTRY.get(claim_id)
    if entry is not None and entry.speed:
        return turns.timing()
    stack = ExitStack()
    stack.enter_context(turns.judging())
    stack.enter_context(_torch_threads(_judging_threads(config)))
    return stack


def _judging_threads(config) -> int:
    """Torch threads of an xdist worker while it judges: --pk-worker-threads, else torch's
    count ÷ workers. Workers that each train with torch's full count on the same cores stall
    one another: two 2-thread trainings on 2 cores ran 25× slower than one alone."""
    import torch

    given = config.getoption("--pk-worker-threads")
    if given:
        return given
    workers = int(config.workerinput.get("workercount", 1) or 1)
    return max(1, torch.get_num_threads() // workers)


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_case(benchmark, turns: Turns | None, result, device: str, rounds: int, warmup: int
              ) -> tuple[dict | None, list[float]]:
    """Time the case's work against the reference GEMM (alternating rounds after a warm-up):
    through pytest-benchmark in a serial run; alone (`Turns.timing`) in an xdist worker, where
    pytest-benchmark is off. Untimed or --benchmark-disable: no timing."""
    from ..timing import AlternatingTimer, measure

    where = getattr(result, "timed_device", None) or device  # where the work runs
    if result.timed and not benchmark.disabled:
        timer = AlternatingTimer(where)
        _pedantic(benchmark, timer.wrap(result.timed), setup=timer.before_round, rounds=rounds, warmup_rounds=warmup)
        timing = timer.result(warmup=warmup)
        return timing.to_dict(), list(timing.seconds)
    if result.timed and turns is not None:
        with turns.timing():
            timing = measure(result.timed, where, rounds=rounds, warmup=warmup)
        _pedantic(benchmark, lambda: None, rounds=1, iterations=1)  # pytest-benchmark (off) wants its fixture used
        return timing.to_dict(), list(timing.seconds)
    _pedantic(benchmark, lambda: None, rounds=1, iterations=1)
    return None, [0.0]


def _pedantic(benchmark, target, **kwargs) -> None:
    """pytest-benchmark's pedantic, with the case marked as errored when it is interrupted.
    The fixture registers its statistics before the first round and marks an error on
    `Exception` only, so a KeyboardInterrupt in the rounds (the GPU window's budget SIGINT,
    a user's Ctrl-C) left statistics without data, and the autosave at the session's end
    failed on them (`min() arg is an empty sequence`, exit status 1, no autosave file):
    the run's finished cases lost their JSON."""
    try:
        benchmark.pedantic(target, **kwargs)
    except BaseException:
        benchmark.has_error = True  # the autosave skips an errored benchmark
        raise
