"""A model cache you can trust: reading an entry runs no code, a damaged or foreign entry is
moved aside and retrained (never a crash, never deleted), two writers leave one valid
entry, and the tensor file format round-trips every dtype a model holds."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import synthetic_dataset

from precision_kit import cache, tensorfile
from precision_kit.experiment import Arm, ModelSpec, run_arm
from precision_kit.files import atomic_write_text
from precision_kit.train import TrainConfig

ARM = Arm(ModelSpec("mlp", depth=1, width=16), TrainConfig(epochs=1, batch_size=100, lr=3e-3))


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n_train=600, n_test=200)


class _Planted:
    """A pickle that, when unpickled, creates the file `marker`: what an attacker plants."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _entry(cache_dir):
    [entry] = cache_dir.glob(f"*{cache.SUFFIX}")
    return entry


def _same_model(a, b) -> bool:
    same_weights = all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    return torch.equal(a.correct, b.correct) and same_weights


def _quarantined(cache_dir) -> list:
    folder = cache_dir / cache.QUARANTINE
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", ["new", "old"])
def test_a_planted_pickle_is_never_executed(cache_dir, data, tmp_path, name):
    first = run_arm(ARM, 0, data=data)
    entry = _entry(cache_dir)
    marker = tmp_path / "pwned"
    # under the entry's own name, or as an entry of the old torch.save (pickle) format
    target = entry if name == "new" else entry.with_suffix(".pt")
    target.write_bytes(pickle.dumps({"state_dict": _Planted(str(marker))}))
    assert pickle.loads(target.read_bytes()) and marker.exists()  # the premise: unpickling it runs code
    marker.unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = run_arm(ARM, 0, data=data)
    assert not marker.exists()
    assert _same_model(first, again)
    if name == "new":  # moved aside with a warning, retrained, and the entry is valid again
        assert not again.from_cache and any(issubclass(w.category, cache.CacheWarning) for w in caught)
        [moved] = _quarantined(cache_dir)
        assert moved.read_bytes() == pickle.dumps({"state_dict": _Planted(str(marker))})
        assert run_arm(ARM, 0, data=data).from_cache
    else:  # the old format is simply never read: the valid new entry is used
        assert again.from_cache and target.exists() and not _quarantined(cache_dir)


@pytest.mark.parametrize("cut", [0, 5, 60, -1])
def test_a_truncated_entry_is_moved_aside_and_retrained(cache_dir, data, cut):
    first = run_arm(ARM, 0, data=data)
    entry = _entry(cache_dir)
    blob = entry.read_bytes()
    entry.write_bytes(blob[:cut])
    with pytest.warns(cache.CacheWarning, match=r"(truncated|header|8-byte).*moved it to .*quarantine"):
        again = run_arm(ARM, 0, data=data)
    assert not again.from_cache and _same_model(first, again)
    [moved] = _quarantined(cache_dir)
    assert moved.read_bytes() == blob[:cut]  # nothing is lost
    assert run_arm(ARM, 0, data=data).from_cache  # retrained (the same model, above) and stored again


def _foreign(kind: str, key: str, blob: bytes) -> bytes:
    if kind == "no metadata":  # a valid tensor file that someone else wrote
        return tensorfile.encode({"weight": torch.ones(3)})
    if kind == "other key":  # a whole entry of ours, stored under another key's name
        return cache.encode_payload("0" * 32, cache.decode_payload(key, blob, "entry"))
    if kind == "other format":
        return tensorfile.encode({}, {"precision_kit": json.dumps({"format": "precision_kit.cache/9", "key": key})})
    if kind == "missing field":  # right format and key, but a payload of another shape
        payload = cache.decode_payload(key, blob, "entry")
        del payload["state_dict"]
        return cache.encode_payload(key, payload)
    if kind == "not json":
        return b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"\xff" * 16
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["no metadata", "other key", "other format", "missing field", "not json"])
def test_a_foreign_entry_is_moved_aside_and_retrained(cache_dir, data, kind):
    first = run_arm(ARM, 0, data=data)
    entry = _entry(cache_dir)
    key = entry.name.removesuffix(cache.SUFFIX)
    entry.write_bytes(_foreign(kind, key, entry.read_bytes()))
    with pytest.warns(cache.CacheWarning, match="moved it to"):
        again = run_arm(ARM, 0, data=data)
    assert not again.from_cache and _same_model(first, again)
    assert len(_quarantined(cache_dir)) == 1
    assert run_arm(ARM, 0, data=data).from_cache


def _writer(folder: str, key: str, value: float, rounds: int) -> None:
    os.environ[cache.ENV_CACHE] = folder
    payload = {"value": value, "weights": torch.full((256, 64), value), "correct": torch.ones(1000, dtype=torch.bool)}
    for _ in range(rounds):
        cache.save(key, payload)


def test_two_concurrent_writers_leave_one_valid_entry(cache_dir):
    key = "k" * 32
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(cache_dir), key, v, 200)) for v in (1.0, 2.0)]
    for p in procs:
        p.start()
    seen = set()
    while any(p.is_alive() for p in procs):  # read while they write: a whole entry or none
        with warnings.catch_warnings():
            warnings.simplefilter("error", cache.CacheWarning)
            payload = cache.load(key)
        if payload is not None:
            assert torch.equal(payload["weights"], torch.full((256, 64), payload["value"]))
            seen.add(payload["value"])
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert sorted(p.name for p in cache_dir.iterdir()) == [f"{key}{cache.SUFFIX}"]  # no temp files left
    final = cache.load(key)
    assert final["value"] in (1.0, 2.0) and torch.equal(final["weights"], torch.full((256, 64), final["value"]))
    assert seen <= {1.0, 2.0}


TENSORS = {
    "f64": torch.randn(3, 4, dtype=torch.float64),
    "f32": torch.randn(5),
    "f16": torch.randn(2, 2).half(),
    "bf16": torch.randn(7).bfloat16(),
    "i64": torch.arange(-3, 3),
    "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5),
    "empty": torch.empty(0, 4),
    "strided": torch.randn(4, 6)[:, ::2],
}


def test_the_tensor_file_round_trips_every_dtype():
    tensors, meta = tensorfile.decode(tensorfile.encode(TENSORS, {"a": "b"}))
    assert meta == {"a": "b"} and list(tensors) == list(TENSORS)
    for name, t in TENSORS.items():
        assert tensors[name].dtype == t.dtype and torch.equal(tensors[name], t), name


def test_the_tensor_file_is_the_safetensors_layout(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    tensors = {k: v.contiguous() for k, v in TENSORS.items()}
    theirs = safetensors.load(tensorfile.encode(tensors))
    assert all(torch.equal(theirs[k], v) for k, v in tensors.items())
    ours, _ = tensorfile.decode(safetensors.save(tensors, {"x": "y"}))
    assert all(torch.equal(ours[k], v) for k, v in tensors.items())


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 10_000), byte=st.integers(0, 255))
def test_damaged_tensor_files_raise_one_clear_error(cut, flip, byte):
    blob = bytearray(tensorfile.encode(TENSORS, {"a": "b"}))
    if cut < len(blob):
        with pytest.raises(tensorfile.TensorFileError):
            tensorfile.decode(bytes(blob[:cut]))
    blob[flip % len(blob)] = byte
    try:  # a flipped byte may leave a well-formed file (in the data); anything else is a TensorFileError
        tensorfile.decode(bytes(blob))
    except tensorfile.TensorFileError:
        pass


def test_files_get_the_users_permissions_not_the_temp_files(tmp_path):
    old = os.umask(0o022)
    try:
        assert oct(atomic_write_text(tmp_path / "a.md", "x").stat().st_mode & 0o777) == oct(0o644)
        os.umask(0o002)
        assert oct(atomic_write_text(tmp_path / "b.md", "x").stat().st_mode & 0o777) == oct(0o664)
        (tmp_path / "a.md").chmod(0o640)  # a file that exists keeps its mode when replaced
        assert oct(atomic_write_text(tmp_path / "a.md", "y").stat().st_mode & 0o777) == oct(0o640)
    finally:
        os.umask(old)
