"""The evidence suite: every deliberately broken script yields its expected finding code within
its first 200 steps, and every healthy control yields no warning or error.

These are the original 17 broken scripts and 10 healthy controls, named below; their
expectations are strict. Every script follows the corpus protocol (examples/README.md):
``run(steps=200, seed=0)`` returns an outcome with ``.findings`` and ``.metrics``, and the module
declares ``EXPECTED`` (any one of these codes must be found; empty for healthy controls). The
rest of the corpus, whose detection expectations today's rules do not all meet yet, is in
tests/test_corpus.py.
"""
from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path
from types import ModuleType

import pytest
import torch

from trainlab.diagnose.findings import codes_of

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE_BROKEN = ("big_sigma_init", "cnn_raw_pixels", "dead_relu_bias", "dead_relu_functional",
                   "deep_relu_normal_init", "deep_sigmoid", "inputs_offset_10", "linear_plateau",
                   "lr_10", "lr_tiny", "missing_zero_grad", "overfit_tiny_data", "raw_pixels_255",
                   "sgd_batch1", "softmax_into_ce", "tanh_saturation", "zero_init")
EVIDENCE_HEALTHY = ("adam_mlp_circles", "custom_regression_mse", "intended_accumulation",
                    "mnist_mlp_adam", "no_optimizer", "sgd_momentum_blobs", "sigmoid_output_bce",
                    "small_cnn", "tanh_xavier", "val_monitoring")
BROKEN = [ROOT / "examples" / "broken" / f"{name}.py" for name in EVIDENCE_BROKEN]
HEALTHY = [ROOT / "examples" / "healthy" / f"{name}.py" for name in EVIDENCE_HEALTHY]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_suite_is_big_enough() -> None:
    assert len(BROKEN) == 17 and len(HEALTHY) == 10
    assert all(p.is_file() for p in BROKEN + HEALTHY)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_script_yields_expected_code(path: Path) -> None:
    module = load(path)
    assert module.EXPECTED, f"{path.name} declares no expected code"
    found = codes_of(module.run(steps=200).findings, min_severity="warning")
    assert set(module.EXPECTED) & found, f"{path.name}: expected one of {module.EXPECTED}, got {found}"


@pytest.mark.parametrize("path", HEALTHY, ids=[p.stem for p in HEALTHY])
def test_healthy_control_yields_no_warning(path: Path) -> None:
    module = load(path)
    assert module.EXPECTED == ()
    findings = module.run(steps=200).findings
    bad = [str(f) for f in findings if f.severity != "info"]
    assert not bad, f"{path.name}: false positives {bad}"


def test_scripts_run_as_programs(capsys: pytest.CaptureFixture[str]) -> None:
    """The ``if __name__ == "__main__"`` block prints the findings."""
    runpy.run_path(str(ROOT / "examples" / "broken" / "softmax_into_ce.py"), run_name="__main__")
    assert "probabilities_into_ce" in capsys.readouterr().out
