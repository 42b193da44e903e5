"""The expected verdicts a run is held to: `{profile: {device: {"ID[case]": verdict}}}`,
read from `--pk-expected FILE` or, by default, `<rootdir>/baselines/expected_verdicts.json`
when that file exists. A suite without the file checks nothing and warns about nothing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from ..verdicts import Verdict, expectation

DEFAULT = Path("baselines") / "expected_verdicts.json"


def path_of(config) -> tuple[Path, bool]:
    """The expected-verdicts file of this session and whether it was given explicitly."""
    given = config.getoption("--pk-expected")
    return (Path(given), True) if given else (config.rootpath / DEFAULT, False)


def load(config) -> tuple[Path, dict | None]:
    """(path, mapping); mapping None when no file is used (the default one is absent)."""
    path, given = path_of(config)
    if not path.exists():
        if given:
            raise pytest.UsageError(f"--pk-expected={path}: no such file; expected a JSON file of expected verdicts "
                                    "{profile: {device: {'ID[case]': verdict}}} (see `precision-kit expect`)")
        return path, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise pytest.UsageError(f"{path}: not JSON ({err}); expected {{profile: {{device: {{'ID[case]': verdict}}}}}}"
                                ) from None
    if not isinstance(doc, dict):
        raise pytest.UsageError(f"{path}: expected a JSON object {{profile: {{device: {{'ID[case]': verdict}}}}}}, "
                                f"found {type(doc).__name__}")
    return path, doc


def check(config, rows: list[dict[str, Any]]) -> list[str]:
    """Each final verdict against the expected one (`compare`): the changed ones, as lines.
    It runs after the session because Holm needs every case of a claim."""
    path, expected = load(config)
    if expected is None:
        return []
    changed, notes = compare(expected, config.getoption("--pk-profile"), rows, path.name)
    for note in notes:
        warnings.warn(note, stacklevel=1)
    return changed


def compare(expected: dict, profile: str, rows: list[dict[str, Any]], name: str) -> tuple[list[str], list[str]]:
    """(changed, notes): each row's verdict against `expected[profile][device]["ID[case]"]`
    (`verdicts.expectation`: an expected HOLDS/FAILS/UNTESTED accepts only itself, an expected
    INCONCLUSIVE accepts a firmer verdict with a note). A speed claim is not held to an
    expected verdict even where the file has one: its verdict is a ratio of times and belongs
    to a CPU model (SZ-2's bf16/fp32 inference measured ×0.36 on a Zen 5 EPYC, ×0.52–0.66 on
    a Zen 4, against a band of [×0.8, ×1.25]); the gate holds it to a baseline of the same
    CPU model instead (`gate._verdict`)."""
    changed: list[str] = []
    notes: list[str] = []
    for r in rows:
        key = f"{r['claim']}[{r['case']}]"
        want = expected.get(profile, {}).get(r["device"], {}).get(key)
        if r.get("speed_claim"):
            if want is not None:
                notes.append(f"{key} on {r['device']}: a speed claim; its expected verdict {want} in {name} is "
                             "ignored (its verdict belongs to a CPU model; the gate holds it to the baseline): "
                             "remove it, or rewrite the file with `precision-kit expect`")
            continue
        if want is None:
            notes.append(f"{key} on {r['device']}: no expected verdict recorded in {name}")
            continue
        ok, message = expectation(want, Verdict(r["verdict"]))
        if not ok:
            changed.append(f"{key} on {r['device']} ({profile}): {message}: {r['line']}")
        elif message:
            notes.append(f"{key} on {r['device']}: {message}: {r['line']}")
    return changed, notes
