"""Where the dataset files are: data-root resolution, the search directories, and the
download from torchvision's mirrors (MD5-checked, atomic) when they are missing.

Data root, in order: the ``root`` argument, ``$PRECISION_KIT_DATA``, ``~/.cache/precision_kit``.
Inside it, ``mnist/`` (or ``fashion-mnist/``) holds the four IDX files, raw or ``.gz``;
Fashion-MNIST is also looked for in ``/usr/share/datasets/fashion-mnist/``. Missing files are
downloaded unless ``PRECISION_KIT_OFFLINE=1`` or ``download=False``; missing data offline is a
`DataError` naming the paths searched, the files and checksums expected, and what to set.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.request
from pathlib import Path
from typing import BinaryIO

from precision_kit.errors import DataError, UnsupportedError
from precision_kit.files import atomic_writer
from precision_kit.idx import MNIST_SHA256

DATASETS = ("mnist", "fashion-mnist")
ENV_DATA = "PRECISION_KIT_DATA"
ENV_OFFLINE = "PRECISION_KIT_OFFLINE"
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILE_NAMES = tuple(f for pair in SPLIT_FILES.values() for f in pair)
SYSTEM_DIRS = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}
_TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def _advice(name: str) -> str:
    return (
        f"Set {ENV_DATA}=/path/containing/{name} (the folder that holds {name}/, "
        f"e.g. {ENV_DATA}=../shared/data) or pass root=<that folder>."
    )


def check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"expected {what} to be one of {', '.join(valid)}; found {value!r}.")


def resolve_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: `root` if given, else ``$PRECISION_KIT_DATA``, else ~/.cache/precision_kit."""
    if root is not None:
        return Path(root).expanduser().absolute()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "precision_kit"


def search_dirs(name: str, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """The directories searched for dataset `name`, in order."""
    check_choice("name", name, DATASETS)
    return [resolve_root(root) / name, *SYSTEM_DIRS.get(name, ())]


def _present(directory: Path) -> dict[str, Path]:
    """The dataset files found in `directory` (raw preferred over .gz), by base name."""
    found = {}
    for base in FILE_NAMES:
        for candidate in (directory / base, directory / f"{base}.gz"):
            if candidate.is_file():
                found[base] = candidate
                break
    return found


def find_dataset_files(
    name: str, root: str | os.PathLike[str] | None = None
) -> dict[str, Path] | None:
    """Paths of the four IDX files from the first search directory holding all four, or None."""
    for directory in search_dirs(name, root):
        found = _present(directory)
        if len(found) == len(FILE_NAMES):
            return found
    return None


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def _missing_error(name: str, root: str | os.PathLike[str] | None, why: str) -> DataError:
    lines = [f"dataset {name!r} not found: expected these four files (each raw or .gz):"]
    for base in FILE_NAMES:
        note = f"  sha256 (uncompressed) {MNIST_SHA256[base]}" if name == "mnist" else ""
        lines.append(f"  {base}{note}")
    if name != "mnist":
        lines.append("  (no checksums known for Fashion-MNIST; structure is checked)")
    lines.append("looked in:")
    for directory in search_dirs(name, root):
        if not directory.is_dir():
            lines.append(f"  {directory}  (directory does not exist)")
        else:
            missing = [b for b in FILE_NAMES if b not in _present(directory)]
            lines.append(f"  {directory}  (missing: {', '.join(missing)})")
    base = resolve_root(root)
    if _present(base):
        lines.append(f"Note: {base} itself holds IDX files; the root must be their parent folder.")
    lines.append(why)
    lines.append(_advice(name))
    return DataError("\n".join(lines))


# ---------------------------------------------------------------- downloading


def _fetch(url: str, out: BinaryIO, timeout: float = 60.0) -> None:
    """Stream the body of `url` into `out` (tests replace this function)."""
    request = urllib.request.Request(url, headers={"User-Agent": "precision_kit"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        shutil.copyfileobj(response, out, 1 << 20)


def _download_file(url: str, dest: Path, md5: str) -> None:
    """Download `url` to `dest` atomically (temp file + rename), checking its MD5."""
    with atomic_writer(dest, "w+b", fsync=True) as out:
        _fetch(url, out)
        out.seek(0)
        found = hashlib.md5(out.read(), usedforsecurity=False).hexdigest()
        if found != md5:
            raise DataError(f"expected MD5 {md5}, found {found}")


def _mirrors(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    try:
        from torchvision import datasets
    except ImportError as err:
        raise UnsupportedError(
            "downloading needs torchvision (for its mirror URLs) but it is not installed; "
            f"install torchvision or place the files yourself. {_advice(name)}"
        ) from err
    cls = getattr(datasets, _TORCHVISION_CLASS[name])
    return list(cls.mirrors), list(cls.resources)


def download_dataset(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Download the missing files of `name` into ``<root>/<name>/``; return that directory.

    Each file is tried from every torchvision mirror in turn, MD5-checked and written
    atomically. Raises `DataError` listing the URLs tried if a file cannot be fetched.
    """
    check_choice("name", name, DATASETS)
    target = resolve_root(root) / name
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"expected a writable folder to download {name!r} into, found that {target} "
            f"cannot be created ({err}). {_advice(name)}"
        ) from err
    mirrors, resources = _mirrors(name)
    present = _present(target)
    for filename, md5 in resources:
        if filename.removesuffix(".gz") in present:
            continue
        failures = []
        for mirror in mirrors:
            url = f"{mirror}{filename}"
            try:
                _download_file(url, target / filename, md5)
                break
            except (OSError, http.client.HTTPException, DataError) as err:
                failures.append(f"  {url}: {type(err).__name__}: {err}")
        else:
            raise DataError(
                f"could not download {filename} of dataset {name!r} into {target}; "
                "URLs tried:\n" + "\n".join(failures) + "\n"
                "Without network access, place the files yourself. " + _advice(name)
            )
    return target


def locate_files(name: str, root: str | os.PathLike[str] | None, download: bool | None) -> dict[str, Path]:
    """The four IDX files of `name`, downloading missing ones if allowed (`download` None =
    unless ``PRECISION_KIT_OFFLINE=1``; False = never); else a `DataError` saying where it looked."""
    files = find_dataset_files(name, root)
    if files is not None:
        return files
    if download is False:
        raise _missing_error(name, root, "Downloading is disabled (download=False).")
    if _offline():
        raise _missing_error(
            name,
            root,
            f"Downloading is disabled ({ENV_OFFLINE}={os.environ[ENV_OFFLINE]}; unset it to allow downloading).",
        )
    download_dataset(name, root)
    files = find_dataset_files(name, root)
    if files is None:
        raise _missing_error(name, root, "The download finished but files are missing.")
    return files
