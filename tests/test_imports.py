"""The dependency rule: the engine imports numpy, the standard library and itself, never viz."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tinygrad_rnn"
FRONT_DOOR = {"cli.py", "__main__.py"}  # the CLI may import viz and rich
ALLOWED = {"numpy", "tinygrad_rnn"} | set(sys.stdlib_module_names)
ENGINE_FILES = sorted(p for p in PACKAGE.rglob("*.py")
                      if not (p.parent == PACKAGE and p.name in FRONT_DOOR))


def imported_roots(path: pathlib.Path) -> list:
    """(line, top-level module) for every import in the file, relative ones as tinygrad_rnn."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            root = "tinygrad_rnn" if node.level else (node.module or "").split(".")[0]
            found.append((node.lineno, root))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            found.append((node.lineno, "__import__"))  # dynamic imports dodge the rule
        elif isinstance(node, ast.Attribute) and node.attr == "import_module":
            found.append((node.lineno, "importlib.import_module"))
    return found


def test_the_engine_has_modules_to_check():
    names = {p.name for p in ENGINE_FILES}
    assert {"tensor.py", "autograd.py", "ops.py"} <= names


@pytest.mark.parametrize("path", ENGINE_FILES, ids=[str(p.relative_to(PACKAGE))
                                                    for p in ENGINE_FILES])
def test_engine_module_imports_only_numpy_and_the_standard_library(path):
    bad = [(line, name) for line, name in imported_roots(path) if name not in ALLOWED]
    where = path.relative_to(PACKAGE.parent)
    assert not bad, f"{where} imports {', '.join(f'{n} (line {k})' for k, n in bad)}; the " \
                    f"engine may import only numpy, the standard library and tinygrad_rnn"


def test_the_scan_catches_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import numpy as np\nfrom viz import draw\nimport rich.console\n"
                      "from . import ops\n")
    roots = [name for _, name in imported_roots(sample)]
    assert [name for name in roots if name not in ALLOWED] == ["viz", "rich"]
