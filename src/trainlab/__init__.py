"""trainlab: a lab bench for training neural networks from scratch.

Public names only, imported on first use (so ``import trainlab`` and the CLI's usage errors stay
fast). ``trainlab.watch(model, optimizer=None, n_classes=None, n_samples=None)`` attaches the training-health
diagnostics to any PyTorch model (the README's "Diagnostics for any PyTorch model").
"""
from __future__ import annotations

import sys as _sys


def _starting_the_cli() -> bool:
    """True while Python starts the ``trainlab`` console script or ``python -m trainlab`` (not when
    a program imports the library): then SIGINT must already end with exit 130 and no traceback."""
    argv0 = _sys.argv[0] if _sys.argv else ""
    if argv0.replace("\\", "/").rsplit("/", 1)[-1] in ("trainlab", "trainlab.exe"):
        return True
    orig = list(getattr(_sys, "orig_argv", ()))
    return argv0 == "-m" and "-m" in orig and orig[orig.index("-m") + 1:orig.index("-m") + 2] == ["trainlab"]


if _starting_the_cli():  # first, before any other import: Ctrl-C may come during start-up
    import _signal  # the C module: instant (``signal`` imports enum, long enough to be hit)

    def _interrupted_at_start(signum: int, frame: object) -> None:
        _sys.stderr.write("interrupted\n")
        raise SystemExit(130)  # unlike KeyboardInterrupt, never printed as a traceback

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:  # a parent's choice (ignore) stays
        _signal.signal(_signal.SIGINT, _interrupted_at_start)
        # trainlab.malloc's restart blocks SIGINT across exec: a Ctrl-C pressed meanwhile is
        # pending, and is delivered here, to the handler above
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {_signal.SIGINT})

import importlib  # noqa: E402
from typing import Any  # noqa: E402

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
