"""What ``watch`` measures, one small class per measurement.

A measurement says which hooks it installs for a scheduled step (``arm``), how it reduces what they
saw to named device scalars (``reduce``; the watcher fetches every measurement's numbers in one
transfer), and which ``Evidence`` field those numbers fill (``fill``). The watcher runs the list
``MEASUREMENTS``: adding a measurement is one class here plus one line there. The rules that judge
the evidence are pure functions in ``checks.py``.

``Trace`` is what they share about the step being measured: which weight layers and activation
uses ran, in what order, whether the last layer was a convolution, and which layer saw the first
floating-point input. Its hooks are registered first, so every measurement's hooks can read it.
Every hook only reads (nothing is written back, no random numbers are drawn) and ignores forward
passes under ``torch.no_grad()``, such as a validation pass between steps.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from trainlab.diagnose.checks import Evidence
from trainlab.diagnose.findings import CODES
from trainlab.diagnose.watch_stats import UnitCounter, activation_kind, is_weight_layer, row_spread, strided_sample

Handles = list[RemovableHandle]
N_RATIOS = 10  # update/weight ratios kept per layer (and largest gradient norms)


class Trace:
    """The watched model's structure, and the forward order of the step being measured."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        self.model, self.optimizer = model, optimizer
        named = list(model.named_modules())
        self.layers = {n or "model": m for n, m in named if is_weight_layer(m)}
        self.acts = {n or "model": (m, k) for n, m in named if (k := activation_kind(m)) is not None}
        opt_ids = {id(p) for g in optimizer.param_groups for p in g["params"]} if optimizer else set()
        self.opt_layers = [n for n, m in self.layers.items() if id(m.weight) in opt_ids]
        self.order: list[str] = []  # weight layers in call order, as of the latest measured step
        self.steps = 0  # step() calls so far (the watcher keeps it current)
        self.loss: torch.Tensor | None = None  # the measured step's loss, while it is measured
        self.reset()

    def reset(self) -> None:
        """Forget the previous step's forward pass (called when hooks are armed)."""
        self.calls: dict[str, int] = {}  # layer or activation use -> position of its first call
        self.uses: dict[str, int] = {}  # activation module -> uses in the current forward pass
        self.last_conv = False  # the latest weight layer called was a convolution
        self.first_input: str | None = None  # the layer that saw the first floating-point input
        self.input_now = False  # ... and it is the layer being called right now

    def arm(self) -> Handles:
        handles = [m.register_forward_hook(self._layer_hook(n)) for n, m in self.layers.items()]
        handles.append(self.model.register_forward_hook(self._output_hook))
        return handles

    def use(self, name: str) -> str:
        """Count one use of an activation module in this forward pass; its key ("relu", "relu[1]")."""
        k = self.uses.get(name, 0)  # a module reused in one forward counts per use
        self.uses[name] = k + 1
        key = name if k == 0 else f"{name}[{k}]"
        self.calls.setdefault(key, len(self.calls))
        return key

    def finish(self) -> None:
        """The measured step's forward pass is over: fix the layer order from its calls."""
        if self.calls:
            self.order = sorted((n for n in self.calls if n in self.layers), key=self.calls.get)

    def _layer_hook(self, name: str) -> Callable:
        is_conv = None

        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            nonlocal is_conv
            if not torch.is_grad_enabled():
                return
            if is_conv is None:
                is_conv = isinstance(m, nn.modules.conv._ConvNd)
            self.calls.setdefault(name, len(self.calls))
            x = inputs[0] if inputs else None
            self.input_now = (self.first_input is None and isinstance(x, torch.Tensor) and x.is_floating_point())
            if self.input_now:
                self.first_input = name
            self.last_conv = is_conv
        return hook

    def _output_hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        self.uses = {}  # one forward pass ended


class Measurement:
    """One measurement: hooks for a scheduled step, a reduction to named scalars, an Evidence field.

    ``reduce`` returns device scalars named ``"<kind>/<layer>"`` (or ``"<kind>/<what>"``), unique
    across measurements (``Watcher.last_measurement`` shows them); ``fill`` receives the same names
    as floats. ``confirm`` may ask for more numbers once the first ones are on the host.
    """

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def arm(self) -> Handles:
        """Hooks for the coming scheduled step (removed once it is measured)."""
        return []

    def after_measure(self) -> None:
        """Called after a measured step, before ``optimizer.step()`` (hooks around that step)."""

    def reduce(self) -> dict[str, torch.Tensor]:
        return {}

    def confirm(self, values: dict[str, float]) -> dict[str, torch.Tensor]:
        """Second-pass numbers that replace some of ``values`` (fetched in one more transfer)."""
        return {}

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        """Put this measurement's numbers of a measured step into the evidence."""

    def persist(self, ev: Evidence) -> None:
        """Put what this measurement knows about the run so far into every evaluation's evidence
        (measured step or not; called after ``fill``)."""

    def on_val(self) -> None:
        """Called by ``record_val()`` (an evaluation on held-out data was just recorded)."""

    def close(self) -> None:
        """Remove any hook still registered."""


def _by_layer(values: dict[str, float]) -> dict[str, float]:
    return {key.partition("/")[2]: v for key, v in values.items()}


class GradNorms(Measurement):
    """||dL/dW|| per weight layer that ran (exploding and vanishing gradients)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.max_history: deque[float] = deque(maxlen=N_RATIOS)  # largest layer norm per measured step

    def reduce(self) -> dict[str, torch.Tensor]:
        return {f"grad/{n}": m.weight.grad.detach().float().norm() for n, m in self.trace.layers.items()
                if m.weight.grad is not None and n in self.trace.calls}

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        ev.grad_norms = _by_layer(values)
        if ev.grad_norms:
            self.max_history.append(max(ev.grad_norms.values()))
        ev.max_grad_history = list(self.max_history)


class StaleGrads(Measurement):
    """How much of .grad is not this step's fresh gradient (a missing zero_grad vs accumulation):
    gradient hooks keep a strided sample of what backward produced; the rest of .grad is stale."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.fresh: dict[str, torch.Tensor] = {}

    def arm(self) -> Handles:
        self.fresh = {}
        return [m.weight.register_hook(self._grad_hook(n)) for n, m in self.trace.layers.items()
                if m.weight.requires_grad]

    def _grad_hook(self, name: str) -> Callable:
        def hook(grad: torch.Tensor) -> None:
            g = strided_sample(grad.detach())
            prev = self.fresh.get(name)
            self.fresh[name] = g.to(torch.float32, copy=True) if prev is None else prev + g
        return hook

    def reduce(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {}
        for n, fresh in self.fresh.items():
            g = self.trace.layers[n].weight.grad
            if g is None:
                continue
            # scale by max |f| first: tiny gradients (1e-19) would underflow when squared
            s = fresh.abs().max().clamp_min(1e-30)
            g, f = strided_sample(g.detach()).float() / s, fresh / s
            ff, gg = (f * f).sum(), g.norm()
            a = torch.where(ff > 0, (g * f).sum() / ff.clamp_min(1e-30), torch.zeros_like(ff))
            t[f"stale/{n}"] = torch.where(gg > 0, (g - a * f).norm() / gg.clamp_min(1e-30), gg * 0)
            t[f"scale/{n}"] = a
        return t

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        for key, v in values.items():
            kind, _, name = key.partition("/")
            if kind == "stale":
                ev.stale_grad[name] = (v, values[f"scale/{name}"])


class RowSpread(Measurement):
    """How far apart a hidden layer's units are (0: symmetric init): a 64-column screen, confirmed
    on the full weights where it reads below the threshold."""

    def reduce(self) -> dict[str, torch.Tensor]:
        layers = self.trace.layers
        return {f"spread/{n}": row_spread(layers[n]) for n in self.trace.order[:-1]  # the last layer may be 0
                if layers[n].weight.shape[0] >= 2}

    def confirm(self, values: dict[str, float]) -> dict[str, torch.Tensor]:
        threshold = CODES["symmetric_init"].threshold
        return {k: row_spread(self.trace.layers[k.partition("/")[2]], columns=None)
                for k, v in values.items() if v < threshold}

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        ev.row_spread = _by_layer(values)


class InputStats(Measurement):
    """Mean and rms of the first weight layer's input (unnormalized inputs)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.taken: tuple[str, torch.Tensor, torch.Tensor] | None = None

    def arm(self) -> Handles:
        self.taken = None
        return [m.register_forward_hook(self._hook(n)) for n, m in self.trace.layers.items()]

    def _hook(self, name: str) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            if torch.is_grad_enabled() and self.trace.input_now and self.taken is None:
                with torch.no_grad():
                    xf = inputs[0].detach().float()
                    self.taken = (name, xf.mean(), xf.pow(2).mean().sqrt())
        return hook

    def reduce(self) -> dict[str, torch.Tensor]:
        return {} if self.taken is None else {"input/mean": self.taken[1], "input/rms": self.taken[2]}

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        if "input/mean" in values and self.taken is not None:
            ev.input_layer, ev.input_mean, ev.input_rms = self.taken[0], values["input/mean"], values["input/rms"]


class OutputStats(Measurement):
    """The model output across the samples of a batch: row-sum error and minimum (probabilities
    passed into cross-entropy), the share of exact zeros (a ReLU on the logits), whether it is the
    same for every sample, and for class scores the information the predictions carry about the
    input, I(x; y_hat) = H(mean p) - mean H(p) (collapsed predictions)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.taken: dict[str, torch.Tensor] | None = None
        self.width: int | None = None
        self.constant_steps = 0
        self.last: dict[str, float] = {}

    def arm(self) -> Handles:
        self.taken = None
        return [self.trace.model.register_forward_hook(self._hook)]

    def _hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor):
            return
        if not output.is_floating_point() or output.ndim < 1 or output.shape[0] < 1:
            return
        with torch.no_grad():
            y = output.detach()
            rows = y.reshape(y.shape[0], -1) if y.ndim >= 2 else y.reshape(-1, 1)
            t = {"output/zeros": (y == 0).float().mean(), "output/min": y.min().float()}
            if len(rows) >= 2:
                t["output/spread"] = (rows.max(0).values - rows.min(0).values).abs().max().float()
            if y.shape[-1] >= 2:
                t["output/sum_error"] = (y.sum(-1) - 1).abs().max().float()
            self.width = int(y.shape[-1]) if y.ndim == 2 else None
            if y.ndim == 2 and y.shape[-1] >= 2 and y.shape[0] >= CODES["collapsed_predictions"].extra["min_batch"]:
                yf = y.float()
                probs = ((yf >= 0).all() & ((yf.sum(-1) - 1).abs().max() < 1e-4))
                p = torch.where(probs, yf, yf.softmax(-1)).clamp_min(1e-12)
                p = p / p.sum(-1, keepdim=True)
                mean_p = p.mean(0)
                h_mean = -(mean_p * mean_p.log()).sum()
                t["output/info"] = (h_mean + (p * p.log()).sum(-1).mean()).clamp_min(0)
                t["output/entropy"] = h_mean
            self.taken = t

    def reduce(self) -> dict[str, torch.Tensor]:
        return self.taken or {}

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        if "output/spread" in values:
            self.constant_steps = self.constant_steps + 1 if values["output/spread"] == 0 else 0
        if "output/min" in values:
            self.last = {k.partition("/")[2]: v for k, v in values.items()}

    def persist(self, ev: Evidence) -> None:
        if not self.last:
            return
        ev.output_min = self.last.get("min")
        ev.output_sum_error = self.last.get("sum_error")
        ev.output_zero_fraction = self.last.get("zeros")
        ev.output_info, ev.output_entropy = self.last.get("info"), self.last.get("entropy")
        ev.output_width = self.width
        ev.constant_output_steps = self.constant_steps


class UnitActivity(Measurement):
    """Per unit, how often it is active (ReLU family: dead units) or saturated (tanh, sigmoid),
    counted over measured steps until enough samples; models whose ReLUs are functional are
    counted on the inputs of their later weight layers (zero or not)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.counters: dict[str, UnitCounter] = {}  # kept across measured steps until judged

    def arm(self) -> Handles:
        hooks = [m.register_forward_hook(self._act_hook(n, kind)) for n, (m, kind) in self.trace.acts.items()]
        if not self.trace.acts:
            hooks += [m.register_forward_hook(self._layer_hook(n)) for n, m in self.trace.layers.items()]
        return hooks

    def _act_hook(self, name: str, kind: str) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor):
                return
            key = self.trace.use(name)
            with torch.no_grad():
                self._count(key, kind, output, self.trace.last_conv)
        return hook

    def _layer_hook(self, name: str) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            trace = self.trace
            if not torch.is_grad_enabled() or trace.first_input is None or trace.input_now:
                return  # the first input is the data, not a layer's output
            x = inputs[0] if inputs else None
            if isinstance(x, torch.Tensor) and x.is_floating_point() and trace.calls[name] > 0:
                with torch.no_grad():
                    self._count(name, "nonzero", x, trace.last_conv)
        return hook

    def _count(self, name: str, kind: str, y: torch.Tensor, channel_first: bool) -> None:
        self.counters.setdefault(name, UnitCounter(kind)).add(y, channel_first)

    def reduce(self) -> dict[str, torch.Tensor]:
        calls = self.trace.calls
        last_layer_call = max((calls.get(n, -1) for n in self.trace.order), default=-1)
        min_samples = CODES["dead_units"].extra["min_samples"]
        rate = CODES["saturated_units"].extra["unit_rate"]
        t: dict[str, torch.Tensor] = {}
        for n, c in list(self.counters.items()):
            if c.counts is None or c.n < min_samples:
                continue
            if c.kind in ("relu", "nonzero"):
                t[f"dead/{n}"] = (c.counts == 0).float().mean()
            elif calls.get(n, -1) < last_layer_call:  # the output activation is exempt
                t[f"sat/{n}"] = (c.counts.float() / c.n > rate).float().mean()
            del self.counters[n]
        return t

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        for key, v in values.items():
            kind, _, name = key.partition("/")
            (ev.dead_fraction if kind == "dead" else ev.saturated_fraction)[name] = v


class UpdateRatios(Measurement):
    """||dW|| / ||W|| per layer the optimizer holds, as ``optimizer.step()`` applied it: weights
    (a strided sample) are snapshot around the step after each measured step."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(trace)
        self.history: dict[str, deque[float]] = {n: deque(maxlen=N_RATIOS) for n in trace.opt_layers}
        self.pending: dict[str, torch.Tensor] = {}
        self.handles: Handles = []

    def after_measure(self) -> None:
        if self.trace.optimizer is None or not self.trace.opt_layers:
            return
        layers, before = self.trace.layers, {}

        def pre(opt: object, args: object, kwargs: object) -> None:
            for n in self.trace.opt_layers:
                before[n] = strided_sample(layers[n].weight.detach()).to(torch.float32, copy=True)

        def post(opt: object, args: object, kwargs: object) -> None:
            with torch.no_grad():
                for n, old in before.items():
                    w0 = old.norm()
                    dw = (strided_sample(layers[n].weight.detach()).float() - old).norm()
                    self.pending[n] = torch.where(w0 > 0, dw / w0.clamp_min(1e-30), torch.full_like(w0, math.nan))
            self.close()

        self.handles += [self.trace.optimizer.register_step_pre_hook(pre),
                         self.trace.optimizer.register_step_post_hook(post)]

    def reduce(self) -> dict[str, torch.Tensor]:
        t = {f"ratio/{n}": r for n, r in self.pending.items()}
        self.pending = {}
        return t

    def fill(self, ev: Evidence, values: dict[str, float]) -> None:
        for key, v in values.items():
            self.history[key.partition("/")[2]].append(v)
        ev.update_ratios = {n: list(r) for n, r in self.history.items()}

    def close(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()


# The measurements a watcher runs, in this order (their hooks on a module run in this order too).
MEASUREMENTS: tuple[type[Measurement], ...] = (
    GradNorms, StaleGrads, RowSpread, InputStats, OutputStats, UnitActivity, UpdateRatios,
)
