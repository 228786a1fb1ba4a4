"""``watch``: training-health diagnostics for any PyTorch model, through hooks.

Usage (the contract in the README, "Diagnostics for any PyTorch model")::

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

What is measured is a list of small classes in ``measurements.py`` (``MEASUREMENTS``), each with
its hooks, its reduction and the ``Evidence`` field it fills; this module runs them on the
schedule. Deciding is in ``checks.py`` (``Evidence`` -> ``RULES``).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from trainlab.diagnose.causes import RootCause, root_causes
from trainlab.diagnose.checks import RULES, Evidence, ValPoint, evaluate_rules
from trainlab.diagnose.findings import Finding, FindingLog, make_finding
from trainlab.diagnose.measure_wiring import WIRING_MEASUREMENTS
from trainlab.diagnose.measurements import MEASUREMENTS, Measurement, Trace, UpdateRatios
from trainlab.diagnose.watch_stats import fetch

Schedule = Callable[[int], bool]

# (last step of the tier or None, measure every n-th step); a table so a user can read the cost.
SCHEDULE_TIERS: tuple[tuple[int | None, int], ...] = ((20, 1), (200, 10), (None, 50))

N_FIRST_LOSSES = 20  # losses kept from the start of training (loss at init, start level)
N_RECENT_LOSSES = 200  # sliding window for the loss-history rules; bounds memory and time


def default_schedule(step: int) -> bool:
    """True on the steps that are measured: every step to 20, every 10th to 200, then 50th."""
    for last, every in SCHEDULE_TIERS:
        if last is None or step <= last:
            return step % every == 0
    return False


class Watcher:
    """Hooks on one model (and optionally its optimizer) and the findings they led to."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                 n_classes: int | None = None, schedule: Schedule | None = None,
                 n_samples: int | None = None) -> None:
        self.model, self.optimizer, self.n_classes = model, optimizer, n_classes
        self.n_samples = n_samples
        self.schedule: Schedule = schedule or default_schedule
        self._trace = Trace(model, optimizer)
        self._measurements: list[Measurement] = [cls(self._trace) for cls in MEASUREMENTS + WIRING_MEASUREMENTS]
        self._log = FindingLog()
        self._step, self._closed, self._armed = 0, False, False
        self._first: list[float] = []
        self._recent: deque[float] = deque(maxlen=N_RECENT_LOSSES)
        self._pending: list[torch.Tensor | float] = []
        self._val: list[ValPoint] = []
        self._last: dict[str, float] = {}
        self._once_done: set[str] = set()
        self._hooks: list[RemovableHandle] = []
        self._note_skipped()
        if self.schedule(1):
            self._arm()

    # ----- public API -----------------------------------------------------------------------
    def step(self, loss: torch.Tensor | float) -> None:
        """Record this step's loss; on scheduled steps, measure and run the checks.

        Call after ``loss.backward()`` and before ``optimizer.step()``.
        """
        self._step += 1
        t = self._trace.steps = self._step
        graph_loss = loss if isinstance(loss, torch.Tensor) and loss.grad_fn is not None else None
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
            self._trace.loss = graph_loss
            measured = self._measure()
            self._trace.loss = None
            self._evaluate(t, measured)
            for m in self._measurements:
                m.after_measure()
        if self.schedule(t + 1):
            self._arm()

    def record_val(self, val_loss: float, val_acc: float | None = None) -> None:
        """Record one evaluation on held-out data; feeds the overfitting check."""
        self._flush_losses()
        recent = [x for x in list(self._recent)[-10:] if math.isfinite(x)]
        train = sorted(recent)[len(recent) // 2] if recent else math.nan
        self._val.append(ValPoint(self._step, train, float(val_loss),
                                  None if val_acc is None else float(val_acc)))
        for m in self._measurements:
            m.on_val()
        self._evaluate(self._step, None)

    @property
    def findings(self) -> list[Finding]:
        """Deduplicated findings so far (one per code and layer), most severe first."""
        if self._pending:
            self._evaluate(self._step, None)
        return self._log.findings()

    @property
    def root_causes(self) -> list[RootCause]:
        """The findings grouped under their likely root causes (``causes.root_causes``: inferred
        from trainlab's cause-and-effect table, not verified)."""
        return root_causes(self.findings)

    @property
    def last_measurement(self) -> dict[str, float]:
        """The named numbers of the latest measured step ("grad/<layer>", "dead/<layer>", ...)."""
        return dict(self._last)

    @property
    def update_ratios(self) -> dict[str, list[float]]:
        """Measured ||dW|| / ||W|| per layer (the latest few), as the optimizer applied them."""
        ratios = next(m for m in self._measurements if isinstance(m, UpdateRatios))
        return {n: list(r) for n, r in ratios.history.items()}

    @property
    def steps(self) -> int:
        """How many times ``step()`` was called."""
        return self._step

    def close(self) -> None:
        """Remove every hook this watcher registered. Findings stay readable."""
        self._disarm()
        for m in self._measurements:
            m.close()
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
        if not self.n_samples:
            skipped.append("n_samples not given: repeated_batch and schedule_per_batch are info only")
        if not self._trace.layers:
            skipped.append("no layer with a 2-D+ weight found: per-layer checks skipped")
        if skipped:
            self._log.add(make_finding("checks_skipped", 0, "; ".join(skipped)))

    def _arm(self) -> None:
        """Register the trace's hooks, then every measurement's, for the next (scheduled) step."""
        self._trace.reset()
        self._hooks += self._trace.arm()
        for m in self._measurements:
            self._hooks += m.arm()
        self._armed = True

    def _disarm(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        self._armed = False

    # ----- measuring and deciding -----------------------------------------------------------
    @torch.no_grad()
    def _measure(self) -> list[dict[str, float]]:
        """Each measurement's named numbers of this step, fetched in one transfer (and one more for
        the numbers a measurement confirms)."""
        self._trace.finish()
        reduced = [m.reduce() for m in self._measurements]
        out = fetch({k: v for r in reduced for k, v in r.items()})
        values = [{k: out[k] for k in r} for r in reduced]
        confirmed = [m.confirm(v) for m, v in zip(self._measurements, values)]
        more = fetch({k: v for c in confirmed for k, v in c.items()})
        for v in values:
            v.update((k, more[k]) for k in v if k in more)
        out.update(more)
        self._last = out
        return values

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

    def _evidence(self, step: int, measured: list[dict[str, float]] | None) -> Evidence:
        ev = Evidence(step=step, first_losses=list(self._first), recent_losses=list(self._recent),
                      n_classes=self.n_classes, n_samples=self.n_samples,
                      has_optimizer=self.optimizer is not None,
                      layer_order=list(self._trace.order), val_history=list(self._val))
        if measured is not None:
            for m, values in zip(self._measurements, measured):
                m.fill(ev, values)
        for m in self._measurements:
            m.persist(ev)
        return ev

    def _evaluate(self, step: int, measured: list[dict[str, float]] | None) -> None:
        self._flush_losses()
        ev = self._evidence(step, measured)
        skip = frozenset(self._once_done)
        found, cleared = evaluate_rules(ev, skip=skip)
        self._log.extend(found)
        for code in cleared:
            self._log.resolve(code, step)
        if self._first:
            self._once_done |= {r.code for r in RULES if r.once}


def watch(model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
          n_classes: int | None = None, schedule: Schedule | None = None,
          n_samples: int | None = None) -> Watcher:
    """Attach training-health diagnostics to ``model``; see the module docstring.

    ``n_samples``: the training-set size, when known. With it, identical inputs on every step
    (``repeated_batch``) and an early collapse of the learning rate (``schedule_per_batch``) are
    warnings, since an epoch's length is known; without it they are info.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"watch() needs an nn.Module, got {type(model).__name__}")
    if n_samples is not None and (not isinstance(n_samples, int) or n_samples < 1):
        raise ValueError(f"n_samples must be a positive int (the training-set size), got {n_samples!r}")
    return Watcher(model, optimizer, n_classes, schedule, n_samples)
