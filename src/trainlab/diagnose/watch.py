"""``watch``: training-health diagnostics for any PyTorch model, through hooks.

Usage (the contract in shared/design.md)::

    w = watch(model, optimizer, n_classes=10)
    for x, y in loader:
        opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward()
        w.step(loss)          # after backward(), before optimizer.step()
        opt.step()
    w.findings; w.close()

How it stays cheap and harmless:

- Hooks exist only around *scheduled* steps (``schedule(step) -> bool``; by default every step
  up to 20, every 10th up to 200, then every 50th). They are registered at the end of the
  previous ``step()`` call and removed when the scheduled step is measured, so on all other
  steps the model runs with no hooks at all and ``step()`` only stores the detached loss.
- Every hook only reads: forward hooks reduce outputs to a few numbers, gradient hooks on the
  weights keep this step's fresh gradient (to tell a missing ``zero_grad`` from intended
  accumulation), optimizer step hooks snapshot the weights to measure ||dW|| / ||W||. Nothing
  is written back, no random numbers are drawn, so training results are unchanged.
- All numbers of a scheduled step go to the host in one transfer; losses of the other steps are
  stacked and fetched at the next scheduled step (or when ``findings`` is read).

Measuring is here; deciding is in ``checks.py`` (``Evidence`` -> ``RULES``).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from trainlab.diagnose.checks import RULES, Evidence, ValPoint, run_rules
from trainlab.diagnose.findings import CODES, Finding, FindingLog, make_finding
from trainlab.diagnose.watch_stats import (UnitCounter, activation_kind, fetch, is_weight_layer,
                                           row_spread, strided_sample)

Schedule = Callable[[int], bool]

# (last step of the tier or None, measure every n-th step); a table so a user can read the cost.
SCHEDULE_TIERS: tuple[tuple[int | None, int], ...] = ((20, 1), (200, 10), (None, 50))

# Measured per-layer numbers ("<kind>/<layer>") and the Evidence field each one fills.
PER_LAYER_FIELDS = {"grad": "grad_norms", "dead": "dead_fraction", "sat": "saturated_fraction",
                    "spread": "row_spread"}

N_FIRST_LOSSES = 20  # losses kept from the start of training (loss at init, start level)
N_RECENT_LOSSES = 200  # sliding window for the loss-history rules; bounds memory and time
N_RATIOS = 10  # update/weight ratios kept per layer


def default_schedule(step: int) -> bool:
    """True on the steps that are measured: every step to 20, every 10th to 200, then 50th."""
    for last, every in SCHEDULE_TIERS:
        if last is None or step <= last:
            return step % every == 0
    return False


class Watcher:
    """Hooks on one model (and optionally its optimizer) and the findings they led to."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                 n_classes: int | None = None, schedule: Schedule | None = None) -> None:
        self.model, self.optimizer, self.n_classes = model, optimizer, n_classes
        self.schedule: Schedule = schedule or default_schedule
        named = list(model.named_modules())
        self._layers = {n or "model": m for n, m in named if is_weight_layer(m)}
        self._acts = {n or "model": (m, k) for n, m in named if (k := activation_kind(m)) is not None}
        opt_ids = {id(p) for g in optimizer.param_groups for p in g["params"]} if optimizer else set()
        self._opt_layers = [n for n, m in self._layers.items() if id(m.weight) in opt_ids]
        self._log = FindingLog()
        self._step, self._closed, self._armed = 0, False, False
        self._first: list[float] = []
        self._recent: deque[float] = deque(maxlen=N_RECENT_LOSSES)
        self._pending: list[torch.Tensor | float] = []
        self._val: list[ValPoint] = []
        self._ratios: dict[str, deque[float]] = {n: deque(maxlen=N_RATIOS) for n in self._opt_layers}
        self._ratio_pending: dict[str, torch.Tensor] = {}
        self._max_grads: deque[float] = deque(maxlen=N_RATIOS)
        self._last: dict[str, float] = {}
        self._counters: dict[str, UnitCounter] = {}
        self._order: list[str] = []
        self._once_done: set[str] = set()
        self._hooks: list[RemovableHandle] = []
        self._opt_hooks: list[RemovableHandle] = []
        self._reset_forward_state()
        self._note_skipped()
        if self.schedule(1):
            self._arm()

    # ----- public API -----------------------------------------------------------------------
    def step(self, loss: torch.Tensor | float) -> None:
        """Record this step's loss; on scheduled steps, measure and run the checks.

        Call after ``loss.backward()`` and before ``optimizer.step()``.
        """
        self._step += 1
        t = self._step
        if isinstance(loss, torch.Tensor):
            loss = loss.detach()
            self._pending.append(loss if loss.numel() == 1 else loss.float().mean())
        else:
            self._pending.append(float(loss))
        if self._closed:
            return
        if len(self._pending) >= N_RECENT_LOSSES and not self._armed:
            self._evaluate(t, None)  # a sparse custom schedule: judge the losses before they drop
        if self._armed:
            self._disarm()
            self._last = self._measure()
            self._evaluate(t, self._last)
            if self.optimizer is not None and self._opt_layers:
                self._arm_optimizer()
        if self.schedule(t + 1):
            self._arm()

    def record_val(self, val_loss: float, val_acc: float | None = None) -> None:
        """Record one evaluation on held-out data; feeds the overfitting check."""
        self._flush_losses()
        recent = [x for x in list(self._recent)[-10:] if math.isfinite(x)]
        train = sorted(recent)[len(recent) // 2] if recent else math.nan
        self._val.append(ValPoint(self._step, train, float(val_loss),
                                  None if val_acc is None else float(val_acc)))
        self._evaluate(self._step, None)

    @property
    def findings(self) -> list[Finding]:
        """Deduplicated findings so far (one per code and layer), most severe first."""
        if self._pending:
            self._evaluate(self._step, None)
        return self._log.findings()

    @property
    def last_measurement(self) -> dict[str, float]:
        """The named numbers of the latest measured step ("grad/<layer>", "dead/<layer>", ...)."""
        return dict(self._last)

    @property
    def update_ratios(self) -> dict[str, list[float]]:
        """Measured ||dW|| / ||W|| per layer (the latest few), as the optimizer applied them."""
        return {n: list(r) for n, r in self._ratios.items()}

    @property
    def steps(self) -> int:
        """How many times ``step()`` was called."""
        return self._step

    def close(self) -> None:
        """Remove every hook this watcher registered. Findings stay readable."""
        self._disarm()
        for h in self._opt_hooks:
            h.remove()
        self._opt_hooks.clear()
        self._closed = True

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- hooks ----------------------------------------------------------------------------
    def _note_skipped(self) -> None:
        skipped = []
        if self.optimizer is None:
            skipped.append("optimizer omitted: update/weight checks skipped (lr_too_low, and "
                           "lr_too_high by update size; lr_too_high by a rising loss still runs)")
        if not self.n_classes:
            skipped.append("n_classes not given: loss_at_init skipped")
        if not self._layers:
            skipped.append("no layer with a 2-D+ weight found: per-layer checks skipped")
        if skipped:
            self._log.add(make_finding("checks_skipped", 0, "; ".join(skipped)))

    def _reset_forward_state(self) -> None:
        self._calls: dict[str, int] = {}
        self._ncall: dict[str, int] = {}
        self._input: tuple[str, torch.Tensor, torch.Tensor] | None = None
        self._output: tuple[torch.Tensor, torch.Tensor] | None = None
        self._fresh: dict[str, torch.Tensor] = {}
        self._last_conv = False

    def _arm(self) -> None:
        """Register the forward and gradient hooks for the next (scheduled) step."""
        self._reset_forward_state()
        for name, m in self._layers.items():
            self._hooks.append(m.register_forward_hook(self._layer_hook(name)))
            if m.weight.requires_grad:
                self._hooks.append(m.weight.register_hook(self._grad_hook(name)))
        for name, (m, kind) in self._acts.items():
            self._hooks.append(m.register_forward_hook(self._act_hook(name, kind)))
        self._hooks.append(self.model.register_forward_hook(self._output_hook))
        self._armed = True

    def _disarm(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        self._armed = False

    def _layer_hook(self, name: str) -> Callable:
        is_conv = None

        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            nonlocal is_conv
            if not torch.is_grad_enabled():
                return  # an evaluation pass between steps: not training data
            if is_conv is None:
                is_conv = isinstance(m, nn.modules.conv._ConvNd)
            self._calls.setdefault(name, len(self._calls))
            x = inputs[0] if inputs else None
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                with torch.no_grad():
                    if self._input is None:
                        xf = x.detach().float()
                        self._input = (name, xf.mean(), xf.pow(2).mean().sqrt())
                    elif not self._acts and self._calls[name] > 0:
                        self._count(name, "nonzero", x, is_conv)
            self._last_conv = is_conv
        return hook

    def _act_hook(self, name: str, kind: str) -> Callable:
        def hook(m: nn.Module, inputs: tuple, output: object) -> None:
            if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor):
                return
            k = self._ncall.get(name, 0)  # a module reused in one forward counts per use
            self._ncall[name] = k + 1
            key = name if k == 0 else f"{name}[{k}]"
            self._calls.setdefault(key, len(self._calls))
            with torch.no_grad():
                self._count(key, kind, output, self._last_conv)
        return hook

    def _count(self, name: str, kind: str, y: torch.Tensor, channel_first: bool) -> None:
        counter = self._counters.setdefault(name, UnitCounter(kind))
        counter.add(y, channel_first)

    def _output_hook(self, m: nn.Module, inputs: tuple, output: object) -> None:
        self._ncall = {}  # one forward pass ended
        if not torch.is_grad_enabled() or not isinstance(output, torch.Tensor):
            return
        if output.is_floating_point() and output.ndim >= 1 and output.shape[-1] >= 2:
            with torch.no_grad():
                y = output.detach()
                self._output = ((y.sum(-1) - 1).abs().max().float(), y.min().float())

    def _grad_hook(self, name: str) -> Callable:
        def hook(grad: torch.Tensor) -> None:
            g = strided_sample(grad.detach())
            prev = self._fresh.get(name)
            self._fresh[name] = g.to(torch.float32, copy=True) if prev is None else prev + g
        return hook

    def _arm_optimizer(self) -> None:
        """Snapshot weights around the coming ``optimizer.step()`` to measure ||dW|| / ||W||."""
        before: dict[str, torch.Tensor] = {}

        def pre(opt: object, args: object, kwargs: object) -> None:
            for n in self._opt_layers:
                before[n] = strided_sample(self._layers[n].weight.detach()).to(torch.float32, copy=True)

        def post(opt: object, args: object, kwargs: object) -> None:
            with torch.no_grad():
                for n, old in before.items():
                    w0 = old.norm()
                    dw = (strided_sample(self._layers[n].weight.detach()).float() - old).norm()
                    self._ratio_pending[n] = torch.where(w0 > 0, dw / w0.clamp_min(1e-30),
                                                         torch.full_like(w0, math.nan))
            for h in self._opt_hooks:
                h.remove()
            self._opt_hooks.clear()

        assert self.optimizer is not None
        self._opt_hooks += [self.optimizer.register_step_pre_hook(pre),
                            self.optimizer.register_step_post_hook(post)]

    # ----- measuring and deciding -----------------------------------------------------------
    @torch.no_grad()
    def _measure(self) -> dict[str, float]:
        """Reduce this step's hooked data to named numbers, fetched in one transfer."""
        if self._calls:
            self._order = sorted((n for n in self._calls if n in self._layers), key=self._calls.get)
        t: dict[str, torch.Tensor] = {}
        for n, m in self._layers.items():
            g = m.weight.grad
            if g is not None and n in self._calls:
                t[f"grad/{n}"] = g.detach().float().norm()
        for n, fresh in self._fresh.items():
            g = self._layers[n].weight.grad
            if g is None:
                continue
            # scale by max |f| first: tiny gradients (1e-19) would underflow when squared
            s = fresh.abs().max().clamp_min(1e-30)
            g, f = strided_sample(g.detach()).float() / s, fresh / s
            ff, gg = (f * f).sum(), g.norm()
            a = torch.where(ff > 0, (g * f).sum() / ff.clamp_min(1e-30), torch.zeros_like(ff))
            t[f"stale/{n}"] = torch.where(gg > 0, (g - a * f).norm() / gg.clamp_min(1e-30), gg * 0)
            t[f"scale/{n}"] = a
        for n in self._order[:-1]:  # hidden layers; zero init of the last layer is fine
            if self._layers[n].weight.shape[0] >= 2:
                t[f"spread/{n}"] = row_spread(self._layers[n])
        if self._input is not None:
            t["input/mean"], t["input/rms"] = self._input[1], self._input[2]
        if self._output is not None:
            t["output/sum_error"], t["output/min"] = self._output
        last_layer_call = max((self._calls.get(n, -1) for n in self._order), default=-1)
        for n, c in list(self._counters.items()):
            min_samples = CODES["dead_units"].extra["min_samples"]
            if c.counts is None or c.n < min_samples:
                continue
            if c.kind in ("relu", "nonzero"):
                t[f"dead/{n}"] = (c.counts == 0).float().mean()
            elif self._calls.get(n, -1) < last_layer_call:  # the output activation is exempt
                rate = CODES["saturated_units"].extra["unit_rate"]
                t[f"sat/{n}"] = (c.counts.float() / c.n > rate).float().mean()
            del self._counters[n]
        for n, r in self._ratio_pending.items():
            t[f"ratio/{n}"] = r
        self._ratio_pending = {}
        out = fetch(t)
        threshold = CODES["symmetric_init"].threshold
        suspects = {k: row_spread(self._layers[k.partition("/")[2]], columns=None)
                    for k, v in out.items() if k.startswith("spread/") and v < threshold}
        out.update(fetch(suspects))  # confirm the screen on the full weights
        return out

    def _flush_losses(self) -> None:
        if not self._pending:
            return
        tensors = [x for x in self._pending if isinstance(x, torch.Tensor)]
        if len(tensors) == len(self._pending):
            values = torch.stack([x.reshape(()).float() for x in tensors]).tolist()
        else:
            values = [float(x) for x in self._pending]
        self._pending = []
        for v in values:
            if len(self._first) < N_FIRST_LOSSES:
                self._first.append(v)
            self._recent.append(v)

    def _evidence(self, step: int, m: dict[str, float] | None) -> Evidence:
        ev = Evidence(step=step, first_losses=list(self._first), recent_losses=list(self._recent),
                      n_classes=self.n_classes, has_optimizer=self.optimizer is not None,
                      layer_order=list(self._order), val_history=list(self._val))
        if not m:
            return ev
        for key, v in m.items():
            kind, _, name = key.partition("/")
            if kind in PER_LAYER_FIELDS:
                getattr(ev, PER_LAYER_FIELDS[kind])[name] = v
            elif kind == "ratio":
                self._ratios[name].append(v)
            elif kind == "stale":
                ev.stale_grad[name] = (v, m[f"scale/{name}"])
        ev.update_ratios = {n: list(r) for n, r in self._ratios.items()}
        if ev.grad_norms:
            self._max_grads.append(max(ev.grad_norms.values()))
        ev.max_grad_history = list(self._max_grads)
        if "input/mean" in m and self._input is not None:
            ev.input_layer, ev.input_mean, ev.input_rms = self._input[0], m["input/mean"], m["input/rms"]
        if "output/min" in m:
            ev.output_sum_error, ev.output_min = m["output/sum_error"], m["output/min"]
        return ev

    def _evaluate(self, step: int, measured: dict[str, float] | None) -> None:
        self._flush_losses()
        ev = self._evidence(step, measured)
        skip = frozenset(self._once_done)
        self._log.extend(run_rules(ev, skip=skip))
        if self._first:
            self._once_done |= {r.code for r in RULES if r.once}


def watch(model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
          n_classes: int | None = None, schedule: Schedule | None = None) -> Watcher:
    """Attach training-health diagnostics to ``model``; see the module docstring."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"watch() needs an nn.Module, got {type(model).__name__}")
    return Watcher(model, optimizer, n_classes, schedule)

