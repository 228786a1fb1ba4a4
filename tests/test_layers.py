"""Imports go one way (docs/architecture.md): studies and the CLI use the library, ``report/`` reads
run folders, and nothing in the library imports from ``experiments/``, ``report/`` or the CLI.

Every module's syntax tree is walked, imports inside functions included (a lazy import is still a
dependency), relative imports resolved, and ``importlib.import_module("...")`` with a literal name
counted too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "trainlab"

# front ends: they may use everything below; play shows the studies' regimes, like the CLI shows results
CLI_SIDE = ("trainlab.cli", "trainlab.diag_cli", "trainlab.lab", "trainlab.__main__", "trainlab.play")
UPPER = ("trainlab.experiments", "trainlab.report") + CLI_SIDE
# (who, may not import): the layers from the bottom up
RULES = {
    "library": UPPER,
    "trainlab.diagnose": UPPER,  # diagnostics are library: a user's model, never a study
    "trainlab.report": ("trainlab.experiments",) + CLI_SIDE,  # the report reads run folders, not studies
    "trainlab.experiments": CLI_SIDE,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(name: str) -> str:
    for prefix in ("trainlab.diagnose", "trainlab.report", "trainlab.experiments"):
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return "cli" if any(name == c or name.startswith(c + ".") for c in CLI_SIDE) else "library"


def imports(source: str, name: str, is_package: bool) -> set[str]:
    """Every module ``source`` imports, at any depth; ``from a import b`` counts ``a`` and ``a.b``."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args):
            arg = node.args[0]
            if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                arg = arg.values[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value.rstrip("."))
    return found


def violations(name: str, imported: set[str]) -> list[str]:
    banned = RULES.get(layer(name), ())
    return sorted(m for m in imported for b in banned if m == b or m.startswith(b + "."))


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_imports_go_one_way(path: Path) -> None:
    name = module_name(path)
    found = violations(name, imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"))
    assert not found, f"{name} ({layer(name)}) imports {found}; see docs/architecture.md"


@pytest.mark.parametrize("source,name,bad", [
    ("def f():\n    from trainlab.experiments.shallow import STUDY\n", "trainlab.runner", True),
    ("def f():\n    if True:\n        import trainlab.report.html\n", "trainlab.diagnose.doctor", True),
    ("from ..report import html\n", "trainlab.diagnose.doctor", True),
    ("from trainlab import lab\n", "trainlab.env", True),
    ("import importlib\nimportlib.import_module(f'trainlab.experiments.{x}')\n", "trainlab.loop", True),
    ("from trainlab.experiments.shallow import STUDY\n", "trainlab.report.html", True),
    ("from trainlab.report.figures import Figure\n", "trainlab.experiments.deep.figures", False),
    ("from trainlab.runs.io import read_json\n", "trainlab.report.html", False),
    ("from trainlab.experiments import registry\n", "trainlab.cli", False),
])
def test_the_walk_finds_every_import(source: str, name: str, bad: bool) -> None:
    """The checker itself: nested, relative and dynamic imports are seen; allowed ones pass."""
    assert bool(violations(name, imports(source, name, False))) == bad


def test_diagnose_needs_little_of_the_library() -> None:
    """The diagnostics stand alone (a user's model, any training loop): beyond themselves, only
    ``errors`` and ``stats``."""
    allowed = ("trainlab.diagnose", "trainlab.errors", "trainlab.stats")
    for path in (PACKAGE / "diagnose").glob("*.py"):
        name = module_name(path)
        used = {m for m in imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
                if m.startswith("trainlab")}
        bad = sorted(m for m in used if not any(m == a or m.startswith(a + ".") for a in allowed))
        assert not bad, f"{name} imports {bad}"


@pytest.mark.parametrize("package", ["diagnose", "runs", "experiments", "report", "play"])
def test_every_package_is_walked(package: str) -> None:
    assert any(module_name(p).startswith(f"trainlab.{package}.") for p in MODULES)
