"""The import structure of precision_kit.claims: no cycles between its modules, no
registration imports at the bottom of a module, and importing the package registers every
claim. Read from the source with `ast` (nothing here trains or imports a claim module,
except the one fresh import in a subprocess)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import precision_kit.claims

CLAIMS_DIR = Path(precision_kit.claims.__file__).parent
MODULES = sorted(p.stem for p in CLAIMS_DIR.glob("*.py") if p.stem != "__init__")

# Every claim ID registered when this test was written; a claim may be added, none may go missing.
REGISTERED = {
    "BI-1", "BI-2", "BI-3", "BI-4", "BI-5", "BI-7", "CTRL-1",
    "CH-1", "CH-2", "CH-3", "CH-4", "CH-5", "CH-6", "CH-9", "CH-10",
    "EN-1", "EN-2", "EN-3", "EN-4",
    "SZ-1", "SZ-2", "SZ-3", "SZ-4", "SZ-5", "SZ-6", "SZ-7", "SZ-10",
    "TD-1", "TD-2", "TD-3", "TD-4", "TD-5",
}


def parse(module: str) -> ast.Module:
    return ast.parse((CLAIMS_DIR / f"{module}.py").read_text(encoding="utf-8"), filename=f"{module}.py")


def sibling_imports(node: ast.AST) -> list[str]:
    """The sibling modules of precision_kit.claims that an import statement names:
    `from .x import ...` → x, `from . import x, y` → those of x, y that are modules."""
    if not isinstance(node, ast.ImportFrom) or node.level != 1:
        return []
    if node.module:
        return [node.module.split(".")[0]]
    return [alias.name for alias in node.names if alias.name in MODULES]


def imports_of(module: str) -> set[str]:
    """Every sibling a module imports, at the top level or inside a function."""
    return {name for node in ast.walk(parse(module)) for name in sibling_imports(node)}


def registers_claims(module: str) -> bool:
    """Whether the module defines a judge with `@claim(...)`."""
    return any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "claim"
        for node in parse(module).body if isinstance(node, ast.FunctionDef)
        for d in node.decorator_list
    )


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of `graph` as a path [a, b, …, a], or None (depth-first, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_claims_modules_import_one_another_without_a_cycle():
    graph = {m: imports_of(m) for m in MODULES}
    assert find_cycle(graph) is None, f"import cycle in precision_kit.claims: {' → '.join(find_cycle(graph))}"


@pytest.mark.parametrize("module", [*MODULES, "__init__"])
def test_no_module_imports_a_sibling_after_its_first_statement(module):
    """Sibling imports sit at the top of the module (registration is `__init__`'s job)."""
    body = parse(module).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    first = next((i for i, node in enumerate(body) if not isinstance(node, ast.Import | ast.ImportFrom)), len(body))
    late = [f"line {node.lineno}: {', '.join(sibling_imports(node))}"
            for node in body[first:] if sibling_imports(node)]
    assert not late, f"{module}.py imports siblings after its first statement ({'; '.join(late)})"


def test_claim_modules_import_no_other_claim_module():
    """A module with `@claim` judges imports its source's setup module and helpers, never
    another module that registers claims."""
    claim_modules = {m for m in MODULES if registers_claims(m)}
    wrong = {m: sorted(imports_of(m) & claim_modules) for m in sorted(claim_modules) if imports_of(m) & claim_modules}
    assert not wrong, f"claim modules importing claim modules (move what they share to a setup module): {wrong}"


def test_the_package_imports_every_claim_module():
    missing = {m for m in MODULES if registers_claims(m)} - imports_of("__init__")
    assert not missing, f"claims/__init__.py does not import {sorted(missing)}: their claims never register"


def test_importing_the_package_registers_every_claim():
    """In a fresh interpreter (this process may have imported claim modules directly)."""
    out = subprocess.run(
        [sys.executable, "-c", "import precision_kit.claims as c; print(' '.join(sorted(c.REGISTRY)))"],
        capture_output=True, text=True, check=True, timeout=300, cwd=CLAIMS_DIR.parents[1],
    ).stdout.split()
    assert REGISTERED <= set(out), f"not registered: {sorted(REGISTERED - set(out))}"
    assert REGISTERED <= set(precision_kit.claims.REGISTRY)
