"""Timing turns across pytest-xdist workers: training and judging run side by side, a timed
measurement runs alone.

A readers-writer lock over two lock files in a folder the controller makes for the session:
a worker judging a case holds `room` shared; a worker timing one holds it exclusively, so it
starts only when no other worker is judging, and no other starts until it is done. The
`door` gives the timing worker priority: it holds the door while it waits for the room, and
a worker must pass the door to enter, so a stream of judging never starves a measurement.

The locks are `fcntl.flock` locks, released by the kernel when a worker dies. Where there is
no `fcntl` (Windows) the turns are not available: a parallel run there refuses to time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class Turns:
    """Shared turns (`judging`) and exclusive turns (`timing`) over the lock files in `folder`."""

    def __init__(self, folder: str | Path) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            raise OSError("timing under pytest-xdist needs fcntl locks (POSIX); run without -n on this platform")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _open(self, name: str):
        return open(self.folder / name, "a")

    @contextmanager
    def judging(self) -> Iterator[None]:
        """Work that may run beside other workers' work (training, judging)."""
        with self._open("door") as door, self._open("room") as room:
            with _held(door, fcntl.LOCK_EX):  # waits while a measurement waits or runs
                fcntl.flock(room, fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(room, fcntl.LOCK_UN)

    @contextmanager
    def timing(self) -> Iterator[None]:
        """A measurement: starts when no other worker is judging; nothing else starts meanwhile."""
        with self._open("door") as door, self._open("room") as room:
            with _held(door, fcntl.LOCK_EX), _held(room, fcntl.LOCK_EX):
                yield


@contextmanager
def _held(fh, mode: int) -> Iterator[None]:
    fcntl.flock(fh, mode)
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
