"""Training-loop callbacks: early stopping on a validation plateau, per member, with optional restart.

Seed 001's pipeline stops early on plateaus and restarts with a new init. Here each member of a
population is watched on its own: when its validation metric has not improved by ``min_delta``
for ``patience`` evaluations, the member stops (no more updates) and, if ``restarts`` remain,
starts again from a fresh init drawn from another stream (``init/restart1``, ...) with the same
scheme, scale and hyperparameters, and fresh optimizer state. When every member has stopped for
good, training ends with ``Stop(Reason.EARLY_STOP, ...)``. What happened to each member is kept in
``events``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from trainlab.loop import FitState, Reason, Stop
from trainlab.nn.population import PopulationMLP


@dataclass
class EarlyStopping:
    patience: int = 10  # evaluations without improvement before a member stops
    min_delta: float = 1e-4  # improvement smaller than this does not count
    metric: str = "val_loss"  # lower is better; "val_acc"/"train_acc" are handled as higher-is-better
    restarts: int = 0  # fresh inits allowed per member after a plateau
    events: list[dict] = field(default_factory=list)  # {member, step, kind: "stopped"|"restarted", best}

    def on_fit_start(self, state: FitState) -> None:
        k = state.model.K
        self._best = np.full(k, np.inf)
        self._since = np.zeros(k, dtype=np.int64)
        self._restarts = np.zeros(k, dtype=np.int64)

    def _score(self, state: FitState) -> Optional[np.ndarray]:
        vals = state.history.metrics.get(self.metric)
        if not vals:
            return None
        v = np.asarray(vals[-1], dtype=np.float64)
        return -v if self.metric.endswith("acc") else v

    def on_eval(self, state: FitState) -> Optional[Stop]:
        score = self._score(state)
        if score is None:
            return None
        running = (state.alive & ~state.stopped).cpu().numpy()
        improved = score < self._best - self.min_delta
        self._best = np.where(improved & running, score, self._best)
        self._since = np.where(running & ~improved, self._since + 1, np.where(improved, 0, self._since))
        for k in np.nonzero(running & (self._since >= self.patience))[0].tolist():
            best = float(-self._best[k] if self.metric.endswith("acc") else self._best[k])
            if self._restarts[k] < self.restarts:
                self._restarts[k] += 1
                restart_member(state, k, int(self._restarts[k]))
                self._best[k], self._since[k] = np.inf, 0
                self.events.append({"member": k, "step": state.step, "kind": "restarted", "best": best})
            else:
                state.stopped[k] = True
                self.events.append({"member": k, "step": state.step, "kind": "stopped", "best": best})
        if not bool((state.alive & ~state.stopped).any()):
            return Stop(Reason.EARLY_STOP, f"every member plateaued on {self.metric} by step {state.step}")
        return None


@torch.no_grad()
def restart_member(state: FitState, k: int, n: int) -> None:
    """Re-initialize member k in place from stream ``init/restart{n}`` and reset its optimizer state."""
    model = state.model
    if model.inits is None:
        raise ValueError("this population does not record how members were initialized; cannot restart")
    fresh = PopulationMLP.create(model.sizes, model.activation, [model.inits[k]], run_seed=model.run_seed,
                                 maxout_k=model.pieces if model.pieces > 1 else 2, stream=f"init/restart{n}")
    for mine, new in zip(model.parameters(), fresh.parameters()):
        mine[k] = new[0].to(mine.device)
    state.optimizer.reset_member(k)
