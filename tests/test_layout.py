"""The package's layout keeps its rules (issue 19).

- No name with a leading underscore is imported from another module of the package:
  what two modules share lives in a module whose functions have public names
  (``_arrays``, ``_checks``, ``_results``, ``_time``, ``_rows``, ...).
- A function with more than 80 lines of code (its docstring aside) says why at its top ("# Long because ...").
- The module names tell the story and never shadow a public function of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import c2c_analysis

PACKAGE = Path(c2c_analysis.__file__).resolve().parent
LONG = 80


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_private_name_is_imported_from_another_module():
    found = []
    for path, tree in _modules():
        here = _module_name(path)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if not node.module.startswith("c2c_analysis") or node.module == here:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {alias.name}")
    assert found == []


def test_long_functions_say_why():
    found = []
    for path, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body
            start = body[0].lineno
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                start = (body[0].end_lineno or start) + 1  # after the docstring
            if (node.end_lineno or start) - start + 1 <= LONG:  # code lines, not the docstring
                continue
            head = "\n".join(lines[node.lineno - 1 : start + 2])
            if "Long because" not in head:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert found == []


def test_no_module_shadows_a_public_function():
    modules = {p.stem if p.name != "__init__.py" else p.parent.name for p, _ in _modules()}
    modules |= {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    assert sorted(modules & set(c2c_analysis.__all__)) == []
