"""Measurements of how a training program is wired, one small class each (like ``measurements.py``):

- ``GraphWalk``: the step's autograd graph: parameters the output depends on that the optimizer does
  not hold (and that never change), weight layers that run but get no gradient, frozen layers still
  at a fresh random init, and what the loss was applied to (``graph.loss_patterns``);
- ``InputBatches``: the first layer's input across measured steps: identical batches (repeated_batch)
  and batch means that vary far more than random batches' would (unshuffled_data);
- ``NormModes``: BatchNorm fed batches of one sample, and no-grad forward passes in training mode
  with Dropout/BatchNorm active (an evaluation without ``model.eval()``);
- ``LRHistory``: the optimizer's learning rate on measured steps (schedule_per_batch).

Numbers that describe the run so far (counts, histories) are put into every evaluation's evidence
by ``persist``, not only on measured steps. Hooks only read; nothing is written to the model.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable

import torch
from torch import nn

from trainlab.diagnose import graph
from trainlab.diagnose.evidence import Evidence
from trainlab.diagnose.findings import CODES
from trainlab.diagnose.measurements import Handles, Measurement, Trace
from trainlab.diagnose.watch_stats import fresh_init_match, strided_sample

FINGERPRINT = 64  # elements kept per parameter to tell whether it ever changes
INPUT_FEATURES = 256  # input features (strided) the batch-mean comparison looks at
INPUT_FINGERPRINT = 256  # input values compared between measured steps (repeated_batch)


class GraphWalk(Measurement):
    """Parameters the output depends on, their updates, and what the loss was applied to."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.names = {id(p): n for n, p in trace.model.named_parameters()}
        opt = trace.optimizer
        self.opt_ids = {id(p) for g in opt.param_groups for p in g["params"]} if opt is not None else None
        self.roots: list = []
        self.outside: dict[int, tuple[str, torch.Tensor, torch.Tensor, int]] = {}  # id -> (name, p, sample, step)
        self.changed: set[int] = set()
        self.no_grad: dict[str, int] = {}
        self.frozen: dict[str, str] | None = None
        self.patterns: set[str] | None = None
        self.broadcast: str | None = None
        self.pending_grad: list[str] = []
        self.unupdated: dict[str, int] = {}

    def arm(self) -> Handles:
        self.roots = []
        return [self.trace.model.register_forward_hook(self._hook)]

    def _hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        if torch.is_grad_enabled():
            self.roots = graph.roots_of(output)

    def reduce(self) -> dict[str, torch.Tensor]:
        found, bcast = graph.loss_patterns(self.trace.loss)
        if self.trace.loss is not None:
            self.patterns = (self.patterns or set()) | found
            self.broadcast = bcast or self.broadcast
        if not self.roots:
            return {}
        leaves, complete = graph.leaves(self.roots)
        self.roots = []
        t: dict[str, torch.Tensor] = {}
        if self.opt_ids is not None:  # parameters the output needs that the optimizer does not hold
            for i, p in leaves.items():
                if p.requires_grad and i not in self.opt_ids and i not in self.changed:
                    if i not in self.outside:
                        name = self.names.get(i, f"unregistered #{len(self.outside) + 1} {tuple(p.shape)}")
                        sample = strided_sample(p.detach())[:FINGERPRINT].clone()
                        self.outside[i] = (name, p, sample, self.trace.steps)
                    else:
                        _, q, sample, _ = self.outside[i]
                        t[f"moved/{i}"] = (strided_sample(q.detach())[:FINGERPRINT] != sample).any().float()
        self.pending_grad = []
        if complete:  # weight layers that ran but are not part of the output's graph
            for name, m in self.trace.layers.items():
                w = m.weight
                if name in self.trace.calls and w.requires_grad and id(w) not in leaves:
                    self.pending_grad.append(name)
                    t[f"nograd/{name}"] = (w.grad.detach().abs().max().float() if w.grad is not None
                                           else torch.zeros((), device=w.device))
        if self.frozen is None:
            self.frozen = {}
            for name, m in self.trace.layers.items():
                if name in self.trace.calls and not m.weight.requires_grad and isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)):
                    init = fresh_init_match(m.weight, CODES["params_not_updating"].extra)
                    if init:
                        self.frozen[name] = init
        return t

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        step = self.trace.steps
        for key, v in values.items():
            kind, _, rest = key.partition("/")
            if kind == "moved" and v > 0:
                self.changed.add(int(rest))
                self.outside.pop(int(rest), None)
            elif kind == "nograd":
                self.no_grad[rest] = self.no_grad.get(rest, 0) + 1 if v == 0 else 0
        span = CODES["params_not_updating"].extra["min_span"]
        self.unupdated = {name: p.numel() for i, (name, p, _, first) in self.outside.items()
                          if i not in self.changed and f"moved/{i}" in values and step - first >= span}

    def persist(self, ev: Evidence) -> None:
        ev.loss_patterns = None if self.patterns is None else sorted(self.patterns)
        ev.broadcast = self.broadcast
        ev.unupdated_params = dict(self.unupdated)
        ev.no_grad_layers = {k: v for k, v in self.no_grad.items() if v}
        ev.frozen_init_layers = dict(self.frozen or {})


class InputBatches(Measurement):
    """The first layer's raw input (a tensor no autograd produced) on measured steps: a fingerprint,
    its batch mean per feature and its within-batch variance."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.taken: tuple | None = None
        self.prev: tuple | None = None  # (shape, fingerprint) of the previous measured step
        window = int(CODES["unshuffled_data"].extra["batches"])
        self.means: deque[torch.Tensor] = deque(maxlen=window)
        self.withins: deque[torch.Tensor] = deque(maxlen=window)
        self.same, self.same_since = 0, 0
        self.batch: int | None = None
        self.ratio: float | None = None

    def arm(self) -> Handles:
        self.taken = None
        return [m.register_forward_hook(self._hook) for m in self.trace.layers.values()]

    def _hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        if not torch.is_grad_enabled() or not self.trace.input_now or self.taken is not None:
            return
        x = inputs[0]
        if x.requires_grad or x.grad_fn is not None or x.ndim < 1 or x.shape[0] < 1:
            return  # a learned representation (an embedding's output), not the data
        with torch.no_grad():
            flat = x.detach().reshape(x.shape[0], -1)
            cols = flat[:, ::max(1, flat.shape[1] // INPUT_FEATURES)][:, :INPUT_FEATURES].float()
            if len(cols) >= 2:
                var, mean = torch.var_mean(cols, 0)
                within = var.mean()
            else:
                mean, within = cols.mean(0), None
            self.taken = (tuple(x.shape), strided_sample(x.detach())[:INPUT_FINGERPRINT].clone(), mean, within)

    def reduce(self) -> dict[str, torch.Tensor]:
        if self.taken is None:
            return {}
        shape, fp, mean, within = self.taken
        t: dict[str, torch.Tensor] = {}
        if self.prev is not None and self.prev[0] == shape:
            t["batch/diff"] = (fp - self.prev[1]).abs().max().float()
        self.prev = (shape, fp)
        self.batch = shape[0]
        if within is not None:
            if self.means and self.means[-1].shape != mean.shape:
                self.means.clear()
                self.withins.clear()
            self.means.append(mean)
            self.withins.append(within)
            if len(self.means) == self.means.maxlen:
                between = torch.stack(list(self.means)).var(0).mean()
                sampling = torch.stack(list(self.withins)).mean() / shape[0]
                t["batch/ratio"] = between / sampling.clamp_min(1e-30)
        self.taken = None
        return t

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        step = self.trace.steps
        if values.get("batch/diff", 1.0) == 0.0:
            self.same += 1
        elif self.batch is not None:
            self.same, self.same_since = 1, step
        if "batch/ratio" in values:
            self.ratio = values["batch/ratio"]

    def persist(self, ev: Evidence) -> None:
        ev.batch_size = self.batch
        ev.batch_mean_ratio = self.ratio
        ev.repeated_inputs = (self.same, self.trace.steps - self.same_since if self.same else 0)


class NormModes(Measurement):
    """BatchNorm batch sizes on measured steps; no-grad forward passes in training mode (always on,
    one check per forward, only for models with Dropout or BatchNorm)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        named = list(trace.model.named_modules())
        self.norms = {n: m for n, m in named if isinstance(m, nn.modules.batchnorm._BatchNorm)}
        self.active = [m for _, m in named if isinstance(m, nn.modules.batchnorm._BatchNorm)
                       or (isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0)]
        self.batch1: dict[str, list[int]] = {}
        self.step_sizes: dict[str, int] = {}
        self.evals, self.confirmed, self.eval_step = 0, 0, -1
        self.handle = trace.model.register_forward_hook(self._eval_hook) if self.active else None

    def _eval_hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        if not torch.is_grad_enabled() and any(a.training for a in self.active):
            self.evals += 1
            self.eval_step = self.trace.steps

    def on_val(self) -> None:
        if self.eval_step == self.trace.steps:  # a no-grad train-mode pass since the last step
            self.confirmed += 1
            self.eval_step = -1

    def arm(self) -> Handles:
        self.step_sizes = {}
        return [m.register_forward_hook(self._bn_hook(n)) for n, m in self.norms.items()]

    def _bn_hook(self, name: str) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            if torch.is_grad_enabled() and m.training and inputs and isinstance(inputs[0], torch.Tensor):
                self.step_sizes[name] = int(inputs[0].shape[0])
        return hook

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        for name, size in self.step_sizes.items():
            counts = self.batch1.setdefault(name, [0, 0])
            counts[0] += size == 1
            counts[1] += 1
        self.step_sizes = {}

    def persist(self, ev: Evidence) -> None:
        ev.batchnorm_batch1 = {n: (c[0], c[1]) for n, c in self.batch1.items()}
        ev.train_mode_evals, ev.val_in_train_mode = self.evals, self.confirmed

    def close(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None


class LRHistory(Measurement):
    """The learning rate of the optimizer's first parameter group on measured steps."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.history: list[tuple[int, float]] = []

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        opt = self.trace.optimizer
        if opt is not None and opt.param_groups and "lr" in opt.param_groups[0]:
            lr = opt.param_groups[0]["lr"]
            lr = float(lr.item() if isinstance(lr, torch.Tensor) else lr)
            if math.isfinite(lr):
                self.history.append((self.trace.steps, lr))

    def persist(self, ev: Evidence) -> None:
        ev.lr_history = list(self.history)


# The wiring measurements a watcher runs after ``measurements.MEASUREMENTS``.
WIRING_MEASUREMENTS: tuple[type[Measurement], ...] = (GraphWalk, InputBatches, NormModes, LRHistory)
