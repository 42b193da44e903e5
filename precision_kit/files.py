"""Atomic file writes: every file precision_kit writes goes through `atomic_writer`, so an
interrupted or failed write never leaves a partial file under the final name, and the file
gets the user's normal permissions (umask), not the temp file's 0600."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def file_mode(path: Path) -> int:
    """The permissions a written file gets: those of the file it replaces, else what a new
    file gets under the process's umask (0o666 minus the umask), as `open()` would."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike, mode: str = "wb", fsync: bool = False, replace: bool = True
) -> Iterator[IO]:
    """Open a temp file beside `path`; on a clean exit rename it to `path`, on any error
    (KeyboardInterrupt included) delete it and re-raise. The caller may raise inside the
    block to reject what it wrote (e.g. a checksum mismatch). With `replace=False` an
    existing `path` is never replaced: the temp file is hard-linked to the name, which
    raises FileExistsError if another writer got there first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode(path))  # mkstemp makes 0600; the file gets what open() would give it
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            Path(tmp).unlink()
    except BaseException:  # clean up, then re-raise: nothing is swallowed
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_writer(path, "w") as fh:
        fh.write(text)
    return Path(path)

