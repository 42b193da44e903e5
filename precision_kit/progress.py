"""Progress of long training runs, for whoever listens (the pytest plugin's terminal line).

The orchestrator opens a `task` for each arm it trains (what, how many members or seeds,
how many epochs each); the training loops call `epoch_done` after every finished epoch.
With no listener both cost one context-variable lookup: they never touch the computation,
so they change neither results nor timings.

A listener is a callable taking an `Event`; `listen(sink)` installs it for the current
context (the pytest plugin installs one for the session).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

START, EPOCH, END, NOTE = "start", "epoch", "end", "note"


@dataclass(frozen=True)
class Event:
    """One step of a training task (it started, finished an epoch, or ended), or a NOTE: a
    line about the case between its tasks (e.g. why it trains more seeds)."""

    kind: str  # START, EPOCH, END or NOTE
    what: str  # e.g. "mlp 784-128-128-10 fp16, 5 seeds (population)"
    epochs_done: int  # epochs finished so far, over all runs of the task
    epochs_total: int  # runs × epochs per run
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first epoch)."""
        if self.epochs_done <= 0 or self.epochs_done >= self.epochs_total:
            return None if self.epochs_done <= 0 else 0.0
        return self.elapsed_s / self.epochs_done * (self.epochs_total - self.epochs_done)


Sink = Callable[[Event], None]
_SINK: ContextVar[Sink | None] = ContextVar("precision_kit_progress_sink", default=None)
_TASK: ContextVar[_Task | None] = ContextVar("precision_kit_progress_task", default=None)


class _Task:
    def __init__(self, sink: Sink, what: str, runs: int, epochs: int) -> None:
        self.sink, self.what = sink, what
        self.total, self.done, self.start = runs * epochs, 0, time.perf_counter()

    def emit(self, kind: str) -> None:
        self.sink(Event(kind, self.what, self.done, self.total, time.perf_counter() - self.start))

    def epoch(self) -> None:
        self.done = min(self.total, self.done + 1)
        self.emit(EPOCH)


@contextmanager
def listen(sink: Sink) -> Iterator[None]:
    """Send the events of every task opened in this context to `sink`."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


@contextmanager
def task(what: str, runs: int, epochs: int) -> Iterator[None]:
    """A training task of `runs` runs of `epochs` epochs each, trained one after the other
    (the sequential engine: one run per seed; a population is one run of all its members)."""
    sink = _SINK.get()
    if sink is None:
        yield
        return
    current = _Task(sink, what, runs, epochs)
    token = _TASK.set(current)
    current.emit(START)
    try:
        yield
    finally:
        _TASK.reset(token)
        current.emit(END)


def note(text: str) -> None:
    """Tell the listener, if any, something about the case being judged (its `what`)."""
    sink = _SINK.get()
    if sink is not None:
        sink(Event(NOTE, text, 0, 0, 0.0))


def epoch_done() -> None:
    """Called by the training loops after each finished epoch (once per epoch of a population)."""
    current = _TASK.get()
    if current is not None:
        current.epoch()


def duration(seconds: float | None) -> str:
    """"1 h 02 min", "3 min 05 s", "42 s" or "?"."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"
