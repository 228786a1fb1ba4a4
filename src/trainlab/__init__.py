"""trainlab: a lab bench for training neural networks from scratch.

Public names only, imported on first use (so ``import trainlab`` and the CLI's usage errors stay
fast). ``trainlab.watch(model, optimizer=None, n_classes=None, n_samples=None)`` attaches the training-health
diagnostics to any PyTorch model (the README's "Diagnostics for any PyTorch model").
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC = {
    "Config": "trainlab.config", "build_config": "trainlab.config", "load_config": "trainlab.config",
    "Finding": "trainlab.diagnose.findings",
    "Reason": "trainlab.loop", "Stop": "trainlab.loop", "TrainSpec": "trainlab.loop", "fit": "trainlab.loop",
    "MemberInit": "trainlab.nn.population", "PopulationMLP": "trainlab.nn.population",
    "PopulationOptimizer": "trainlab.optim",
    "run_config": "trainlab.runner",
    "watch": "trainlab.diagnose.watch",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # cached: the next access skips this function
    return value
