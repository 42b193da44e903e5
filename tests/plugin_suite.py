"""Helpers of the plugin's tests (tests/test_pytest_plugin*.py; their `suite` fixture is in
conftest.py): the README's user-claim example, running pytest in the suite's folder and
reading its ledgers."""

from __future__ import annotations

import re
from pathlib import Path

from precision_kit import results

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def readme_example() -> str:
    """The user-claim example of the README (the python block after its marker)."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- example: test_my_claims\.py -->\s*```python\n(.*?)```", text, re.S)
    if found is None:
        raise AssertionError("README.md has no '<!-- example: test_my_claims.py -->' python block")
    return found.group(1)


def run(pytester, *args: str):
    # -p loads the plugin where the project is not installed (PYTHONPATH=., the GPU image);
    # installed, its entry point has the same name and it is registered once.
    return pytester.runpytest_subprocess("-p", "precision_kit.pytest_plugin", "-p", "no:cacheprovider",
                                         "-p", "no:randomly", f"--pk-ledger-dir={pytester.path / 'ledgers'}",
                                         f"--benchmark-storage=file://{pytester.path / 'storage'}", *args)


def ledgers(pytester) -> list[Path]:
    return sorted((pytester.path / "ledgers").rglob("[0-9][0-9][0-9][0-9]_*.json"))


def verdicts(path: Path) -> dict[str, str]:
    return {k: r["verdict"] for k, r in results.load(path).rows.items()}
