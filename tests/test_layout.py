"""Imports go one way: the library never imports the studies, the report or the CLI.

The test walks every module's syntax tree, imports inside functions included. ``diagnose/`` (the
stand-alone diagnostics) and ``runs/`` are checked by name, with the rest of the library.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "trainlab"
# the top of the stack: they may import the library, the library may not import them
TOP = ("trainlab.experiments", "trainlab.report", "trainlab.lab", "trainlab.cli", "trainlab.diag_cli",
       "trainlab.__main__")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names (``from a import b`` gives a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def _is_top(name: str) -> bool:
    return any(name == t or name.startswith(t + ".") for t in TOP)


LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if not _is_top(_module(p)))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: _module(p))
def test_library_never_imports_studies_report_or_cli(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if _is_top(n))
    assert not bad, f"{_module(path)} imports {bad}"


@pytest.mark.parametrize("package", ["diagnose", "runs"])
def test_diagnose_and_runs_are_checked(package: str) -> None:
    assert any(_module(p).startswith(f"trainlab.{package}.") for p in LIBRARY)


def test_diagnose_needs_little_of_the_library() -> None:
    """The diagnostics stand alone: beyond themselves, only errors and stats."""
    allowed = ("trainlab.diagnose", "trainlab.errors", "trainlab.stats")
    for path in (PACKAGE / "diagnose").glob("*.py"):
        used = {n for n in _imports(path) if n.startswith("trainlab")}
        bad = sorted(n for n in used if not any(n == a or n.startswith(a + ".") for a in allowed))
        assert not bad, f"{_module(path)} imports {bad}"
