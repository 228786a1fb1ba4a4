"""trainlab: a lab bench for training neural networks from scratch.

Public names only. ``trainlab.watch(model, optimizer=None, n_classes=None)`` attaches the
training-health diagnostics to any PyTorch model (shared/design.md's contract).
"""
from trainlab.config import Config, build_config, load_config
from trainlab.findings import Finding
from trainlab.loop import Reason, Stop, TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer
from trainlab.runner import run_config
from trainlab.watch import watch  # noqa: F811 - the function, as the contract names it

__version__ = "0.1.0"

__all__ = ["Config", "Finding", "MemberInit", "PopulationMLP", "PopulationOptimizer", "Reason", "Stop", "TrainSpec",
           "build_config", "fit", "load_config", "run_config", "watch", "__version__"]
