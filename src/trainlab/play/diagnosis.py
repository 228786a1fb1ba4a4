"""Per-member diagnosis: the rules of ``checks.py`` applied to each member of a live population.

``trainlab.watch`` measures one ``nn.Module`` through hooks. A population has no modules to hook,
but it has the population probes (``probes.layer_stats``: per-layer activation and gradient
statistics of every member in one pass), its per-step losses and its evaluations. This module
turns those into one ``Evidence`` record per member, on watch's own schedule, and runs the same
``RULES``; each member keeps its own deduplicated ``FindingLog``.

What each Evidence field is made of, per member:

- losses: the per-member training loss of every step (``FitState.last_loss``), as ``watch.step``;
- ``grad_norms``: ||dL/dW|| per weight layer on the full training set, from the probe's gradient
  mean and std (hidden layers) and the head's gradient std (its mean is exactly 0);
- ``update_ratios``: ||W_t - W_{t-1}|| / ||W_{t-1}|| at each probed step;
- ``input_mean``/``input_rms``: the first layer's input (data after the member's scale/offset);
- ``dead_fraction`` (ReLU) and ``saturated_fraction`` (tanh, sigmoid): per unit, over a probe
  batch of at least the rule's minimum number of samples, as ``watch_stats.UNIT_EVENTS``;
- ``row_spread``: ||rows of [W | b] - mean row|| / ||[W | b]|| per hidden layer;
- ``val_history``: every evaluation (median of the last 10 step losses, val loss, val acc).

Measuring is here; deciding stays in ``checks.py``.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Optional

import numpy as np
import torch

from trainlab.play.adapter import (CODES, N_FIRST_LOSSES, N_RATIOS, N_RECENT_LOSSES, Evidence, FindingLog,
                                   PopulationMLP, ValPoint, default_schedule, fix_for, hidden_activations, probe,
                                   run_rules)

N_FIRST, N_RECENT = N_FIRST_LOSSES, N_RECENT_LOSSES  # the loss windows watch keeps
UNIT_ROWS = 512  # rows of the probe batch for the per-unit checks


def layer_names(n_weight_layers: int) -> list[str]:
    return [f"layer {i + 1}" for i in range(n_weight_layers)]


def _finite(x: float) -> Optional[float]:
    return float(x) if math.isfinite(x) else None


class PopulationDiagnosis:
    """Evidence, findings and per-layer scales of K members, fed by a training callback."""

    def __init__(self, model: PopulationMLP, n_classes: int, train: tuple[torch.Tensor, torch.Tensor],
                 units_x: torch.Tensor):
        self.k, self.n_classes = model.K, n_classes
        self.activation = model.activation
        self.names = layer_names(len(model.weights))
        self.train = train
        self.units_x = units_x[:UNIT_ROWS]
        x = train[0].double()
        scale, offset = model.input_scale.double().cpu(), model.input_offset.double().cpu()
        mean_x, mean_x2 = x.mean().item(), (x * x).mean().item()
        self.input_mean = (scale * mean_x + offset).tolist()
        self.input_rms = torch.sqrt(scale**2 * mean_x2 + 2 * scale * offset * mean_x + offset**2).tolist()
        self.first: list[np.ndarray] = []
        self.recent: deque[np.ndarray] = deque(maxlen=N_RECENT)
        self._pending: list[torch.Tensor] = []
        self.val: list[list[ValPoint]] = [[] for _ in range(self.k)]
        self.ratios = [{n: deque(maxlen=N_RATIOS) for n in self.names} for _ in range(self.k)]
        self.max_grads = [deque(maxlen=N_RATIOS) for _ in range(self.k)]
        self.logs = [FindingLog() for _ in range(self.k)]
        self.once_done = False
        self.prev_weights: Optional[list[torch.Tensor]] = None
        self.scales: dict[str, Any] = {}  # the latest per-layer scales, for the page

    # ---- fed by the training callback ---------------------------------------------------------
    def wants(self, step: int) -> bool:
        return default_schedule(step)

    def add_loss(self, loss: torch.Tensor) -> None:
        self._pending.append(loss.detach())

    def keep_weights(self, model: PopulationMLP) -> None:
        """Hold this step's weights (the optimizer returns fresh tensors: no copy needed)."""
        self.prev_weights = list(model.weights)

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = torch.stack(self._pending).double().cpu().numpy()
        self._pending.clear()
        for row in rows:
            if len(self.first) < N_FIRST:
                self.first.append(row)
            self.recent.append(row)

    def add_eval(self, step: int, val_loss: np.ndarray, val_acc: np.ndarray) -> None:
        """One evaluation per member; the train loss beside it is the (upper) median of the last 10
        step losses, as ``watch.record_val`` takes it."""
        self._flush()
        if self.recent:
            rec = np.array(list(self.recent)[-10:])
            n = np.isfinite(rec).sum(0)
            upper = np.sort(rec, axis=0)[np.minimum(n // 2, len(rec) - 1), np.arange(self.k)]  # NaN sorts last
            train = np.where(n > 0, upper, np.nan)
        else:
            train = np.full(self.k, np.nan)
        for m in range(self.k):
            self.val[m].append(ValPoint(step, float(train[m]), float(val_loss[m]), float(val_acc[m])))

    # ---- measuring ------------------------------------------------------------------------------
    @torch.no_grad()
    def measure(self, step: int, model: PopulationMLP) -> list[dict[str, Any]]:
        """Probe every member, run the rules, and return the findings that are new or changed."""
        self._flush()
        stats = probe(model, *self.train)
        fan = [w.shape[1] * w.shape[2] for w in model.weights]
        gm, gs = stats.values["grad_mean"], stats.values["grad_std"]
        with np.errstate(invalid="ignore", over="ignore"):
            hidden_norm = np.sqrt(np.array(fan[:-1]) * (gs**2 + gm**2))
            head_norm = np.sqrt(fan[-1]) * stats.head_grad_std
        grad_norms = np.concatenate([hidden_norm, head_norm[:, None]], axis=1)  # (K, layers)
        ratios = self._update_ratios(model)
        dead, sat = self._unit_fractions(model)
        spread = self._row_spread(model)
        self.scales = {"step": step, "act_std": _nested(stats.values["act_std"]),
                       "act_abs_mean": _nested(stats.values["act_abs_mean"]), "grad_norm": _nested(grad_norms)}
        changed = []
        for m in range(self.k):
            ev = Evidence(step=step, n_classes=self.n_classes, layer_order=self.names,
                          first_losses=[float(r[m]) for r in self.first],
                          recent_losses=[float(r[m]) for r in self.recent], val_history=list(self.val[m]))
            ev.grad_norms = {n: float(v) for n, v in zip(self.names, grad_norms[m])}
            finite = [g for g in ev.grad_norms.values() if math.isfinite(g)]
            if finite:
                self.max_grads[m].append(max(finite))
            ev.max_grad_history = list(self.max_grads[m])
            if ratios is not None:
                for n, r in zip(self.names, ratios[m]):
                    self.ratios[m][n].append(float(r))
            ev.update_ratios = {n: list(r) for n, r in self.ratios[m].items()}
            ev.input_layer, ev.input_mean, ev.input_rms = self.names[0], self.input_mean[m], self.input_rms[m]
            if dead is not None:
                ev.dead_fraction = {n: float(v) for n, v in zip(self.names, dead[m])}
            if sat is not None:
                ev.saturated_fraction = {n: float(v) for n, v in zip(self.names, sat[m])}
            ev.row_spread = {n: float(v) for n, v in zip(self.names, spread[m])}
            changed += self._judge(m, ev)
        if self.first:
            self.once_done = True
        return changed

    def _judge(self, m: int, ev: Evidence) -> list[dict[str, Any]]:
        skip = frozenset({"loss_at_init"}) if self.once_done else frozenset()
        log = self.logs[m]
        before = {(f.code, f.layer): (f.count, f.message) for f in log.findings()}
        log.extend(run_rules(ev, skip=skip))
        out = []
        for f in log.findings():
            if before.get((f.code, f.layer)) != (f.count, f.message):
                out.append(finding_json(m, f))
        return out

    def _update_ratios(self, model: PopulationMLP) -> Optional[np.ndarray]:
        if self.prev_weights is None:
            return None
        rows = []
        for w, p in zip(model.weights, self.prev_weights):
            num = (w - p).flatten(1).norm(dim=1)
            den = p.flatten(1).norm(dim=1)
            rows.append(torch.where(den > 0, num / den.clamp_min(1e-30), torch.zeros_like(num)))
        return torch.stack(rows, 1).double().cpu().numpy()

    def _unit_fractions(self, model: PopulationMLP) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """(dead fraction, saturated fraction) per member and hidden layer (None where not measured)."""
        kind = "relu" if self.activation == "relu" else self.activation if self.activation in ("tanh", "sigmoid") else None
        rows = self.units_x.shape[0]
        need = CODES["dead_units" if kind == "relu" else "saturated_units"].extra["min_samples"] if kind else 0
        if kind is None or rows < need:
            return None, None
        out = []
        for a in hidden_activations(model, self.units_x):
            if kind == "relu":
                out.append(1.0 - (a > 0).any(dim=1).double().mean(dim=1))
            else:
                event = a.abs() > 0.99 if kind == "tanh" else (a < 0.01) | (a > 0.99)
                rate = CODES["saturated_units"].extra["unit_rate"]
                out.append((event.double().mean(dim=1) > rate).double().mean(dim=1))
        arr = torch.stack(out, 1).cpu().numpy()  # hidden layers only: the output layer is exempt
        return (arr, None) if kind == "relu" else (None, arr)

    def _row_spread(self, model: PopulationMLP) -> np.ndarray:
        cols = []
        for w, b in zip(model.weights[:-1], model.biases[:-1]):
            rows = torch.cat([w.transpose(1, 2), b.unsqueeze(2)], dim=2).double()  # (K, units, fan_in + 1)
            size = rows.flatten(1).norm(dim=1)
            dev = (rows - rows.mean(dim=1, keepdim=True)).flatten(1).norm(dim=1)
            cols.append(torch.where(size > 0, dev / size.clamp_min(1e-300), torch.zeros_like(size)))
        return torch.stack(cols, 1).cpu().numpy() if cols else np.zeros((self.k, 0))


def _nested(a: np.ndarray) -> list[list[Optional[float]]]:
    return [[_finite(v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def finding_json(member: int, f: Any) -> dict[str, Any]:
    """One finding for the page: the member, what was seen, and its row of the fix table."""
    fix = fix_for(f.code)
    return {"member": member, "code": f.code, "severity": f.severity, "layer": f.layer, "step": f.step,
            "first_step": f.first_step, "count": f.count, "message": f.message, "advice": f.fix,
            "fix": {"name": fix.name, "description": fix.description, "available": fix.available}}
