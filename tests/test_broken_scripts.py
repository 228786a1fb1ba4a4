"""The evidence suite: every deliberately broken script yields its expected finding code within
its first 200 steps, and every healthy control yields no warning or error.

Each script in examples/broken and examples/healthy exposes ``run(steps=200, seed=0)`` and
``EXPECTED`` (any one of these codes must be found; empty for healthy controls).
"""
from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest
import torch

from trainlab.findings import codes_of

ROOT = Path(__file__).resolve().parents[1]
BROKEN = sorted(p for p in (ROOT / "examples" / "broken").glob("*.py") if not p.name.startswith(("_", "run_all")))
HEALTHY = sorted((ROOT / "examples" / "healthy").glob("*.py"))


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_suite_is_big_enough() -> None:
    assert len(BROKEN) >= 14 and len(HEALTHY) >= 6


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_script_yields_expected_code(path: Path) -> None:
    module = load(path)
    assert module.EXPECTED, f"{path.name} declares no expected code"
    found = codes_of(module.run(steps=200), min_severity="warning")
    assert set(module.EXPECTED) & found, f"{path.name}: expected one of {module.EXPECTED}, got {found}"


@pytest.mark.parametrize("path", HEALTHY, ids=[p.stem for p in HEALTHY])
def test_healthy_control_yields_no_warning(path: Path) -> None:
    module = load(path)
    assert module.EXPECTED == ()
    findings = module.run(steps=200)
    bad = [str(f) for f in findings if f.severity != "info"]
    assert not bad, f"{path.name}: false positives {bad}"


def test_scripts_run_as_programs(capsys: pytest.CaptureFixture[str]) -> None:
    """The ``if __name__ == "__main__"`` block prints the findings."""
    runpy.run_path(str(ROOT / "examples" / "broken" / "softmax_into_ce.py"), run_name="__main__")
    assert "probabilities_into_ce" in capsys.readouterr().out
