"""fit(): train a population in lockstep, with named events, and a stop that carries its reason.

The objective is the sum of the member losses, so each member's gradient is its own. A member
whose loss turns non-finite is frozen (no further updates) and recorded; the others train on,
untouched. Mini-batches are drawn per member from a counter-based permutation of (member key,
epoch), so a member sees the same batches whatever population or chunk it is in.

Events (a callback implements any of these methods): ``on_fit_start(state)``,
``on_step_end(state)``, ``on_eval(state)``, ``on_member_frozen(state, member, message)``,
``on_fit_end(state)``. A callback stops training by returning a ``Stop`` from ``on_eval`` or
``on_step_end``.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

import numpy as np
import torch

from trainlab import faults, interrupts
from trainlab.losses import LOSSES, accuracy
from trainlab.nn import fused
from trainlab.nn.population import PopulationMLP
from trainlab.norms import layer_norms
from trainlab.optim import PopulationOptimizer
from trainlab.regularize import max_norm_, penalty
from trainlab.rng import counter_uniform, member_keys


class Reason(str, enum.Enum):
    MAX_STEPS = "max_steps"  # the step budget was used up
    ALL_FROZEN = "all_frozen"  # every member went non-finite
    EARLY_STOP = "early_stop"  # a callback decided (e.g. validation plateau)
    INTERRUPTED = "interrupted"  # Ctrl-C


@dataclass(frozen=True)
class Stop:
    reason: Reason
    message: str

    def to_json(self) -> dict:
        return {"reason": self.reason.value, "message": self.message}


@dataclass
class History:
    """Metrics per evaluation (rows) and member (columns); step 0 is the model at init.

    ``layers`` holds the per-layer norms (``trainlab.norms``), (K, layers) per evaluation, apart
    from ``metrics`` so that code reading one number per member never meets them."""

    steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[np.ndarray]] = field(default_factory=dict)
    layers: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, step: int, values: dict[str, torch.Tensor],
            layers: Optional[dict[str, torch.Tensor]] = None) -> None:
        self.steps.append(step)
        for k, v in values.items():
            self.metrics.setdefault(k, []).append(v.detach().cpu().numpy().astype(np.float64))
        for k, v in (layers or {}).items():
            self.layers.setdefault(k, []).append(v.detach().cpu().numpy().astype(np.float64))

    def array(self, name: str) -> np.ndarray:
        """(n_evals, K) array of one metric, or (n_evals, K, layers) of one norm."""
        rows = self.metrics.get(name) or self.layers.get(name)
        return np.stack(rows) if rows else np.zeros((0, 0))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: self.array(k) for k in [*self.metrics, *self.layers]}
        out["steps"] = np.asarray(self.steps, dtype=np.int64)
        return out


@dataclass
class FitState:
    """What callbacks see: the population, the step, the history so far and who is frozen."""

    model: PopulationMLP
    optimizer: PopulationOptimizer
    step: int
    history: History
    alive: torch.Tensor  # (K,) bool: False once a member went non-finite (frozen for good)
    stopped: Optional[torch.Tensor] = None  # (K,) bool: set by callbacks (early stopping) to pause a member
    frozen: dict[int, dict] = field(default_factory=dict)  # member index -> {step, message}
    last_loss: Optional[torch.Tensor] = None


class Callback(Protocol):
    """What ``fit`` calls on a callback. Every method is optional: ``fit`` calls those a callback
    has (``getattr``), so a callback implements only the events it needs. ``on_eval`` and
    ``on_step_end`` may return a ``Stop`` to end training; the others return None."""

    def on_fit_start(self, state: FitState) -> None: ...

    def on_step_end(self, state: FitState) -> Optional[Stop]: ...

    def on_eval(self, state: FitState) -> Optional[Stop]: ...

    def on_member_frozen(self, state: FitState, member: int, message: str) -> None: ...

    def on_fit_end(self, state: FitState) -> None: ...


@dataclass
class FitResult:
    model: PopulationMLP
    history: History
    stop: Stop
    frozen: dict[int, dict]
    seconds: float

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C cut training short: the history is partial and must not pass for finished."""
        return self.stop.reason == Reason.INTERRUPTED


@dataclass
class TrainSpec:
    """The training settings fit() needs, independent of config files."""

    steps: int = 1000
    batch_size: Optional[int] = None  # None: full batch
    eval_every: int = 10
    loss: str = "cross_entropy"
    l1: Optional[torch.Tensor] = None  # (K,) penalty strengths
    l2: Optional[torch.Tensor] = None
    max_norm: Optional[float | torch.Tensor] = None  # bound c: one float, or (K,) per member (inf: none)
    eval_batch: int = 8192  # rows per evaluation forward pass, bounding memory
    val_at_init: bool = True  # evaluate the validation set at step 0 too; False: NaN there (saves a pass)
    record_norms: bool = True  # per-layer norms at each evaluation (trainlab.norms)
    # live data augmentation: augment(xb (K, B, D), yb, step, keys) -> (xb, yb), e.g. data.augment.RandomShift
    augment: Optional[Callable[..., tuple[torch.Tensor, torch.Tensor]]] = None


def _emit(callbacks, event: str, *args) -> Optional[Stop]:
    stop = None
    for cb in callbacks:
        fn = getattr(cb, event, None)
        if fn is not None:
            out = fn(*args)
            if isinstance(out, Stop) and stop is None:
                stop = out
    return stop


@torch.no_grad()
def evaluate(model: PopulationMLP, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
             chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode (no dropout) per-member loss and accuracy on (x, y), in row chunks."""
    fast = fused.evaluate(model, x, y, loss)  # small nets: the compiled kernel, all rows at once
    if fast is not None:
        return fast
    loss_fn = LOSSES[loss]
    n = x.shape[0]
    tot_loss = torch.zeros(model.K, device=x.device)
    tot_acc = torch.zeros(model.K, device=x.device)
    for i in range(0, n, chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        logits = model(xb)
        w = xb.shape[0] / n
        tot_loss += loss_fn(logits, yb) * w
        tot_acc += accuracy(logits, yb) * w
    return tot_loss, tot_acc


def batch_indices(keys: torch.Tensor, n: int, batch: int, step: int) -> torch.Tensor:
    """(K, batch) row indices for ``step``: each member walks its own permutation of each epoch."""
    per_epoch = max(n // batch, 1)
    epoch, pos = divmod(step, per_epoch)
    perm = counter_uniform(keys, epoch, 0x5EED, (n,)).argsort(dim=-1)
    return perm[:, pos * batch:(pos + 1) * batch]


def autograd_loss_and_grads(model: PopulationMLP, params: list[torch.Tensor], xb: torch.Tensor, yb: torch.Tensor,
                            spec: TrainSpec, step: int, alive: torch.Tensor):
    """Per-member objective (loss + penalty) and loss, both (K,), and the gradients of the summed
    objective of the ``alive`` members, by autograd. The reference for any hand-written fast path."""
    ps = [p.detach().requires_grad_(True) for p in params]
    logits = model.forward(xb, train=True, step=step, params=ps)
    per_member = LOSSES[spec.loss](logits, yb)
    pen = penalty(ps[0:2 * len(model.weights):2], spec.l1, spec.l2)
    objective = per_member if pen is None else per_member + pen
    total = torch.where(alive, objective, torch.zeros_like(objective)).sum()
    grads = torch.autograd.grad(total, ps)
    return objective.detach(), per_member.detach(), [g.detach() for g in grads]


def loss_and_grads(model, params, xb, yb, spec, step, alive):
    """The fused hand-written step where it applies (trainlab.nn.fused), else autograd."""
    if fused.supports(model, spec):
        return fused.loss_and_grads(model, params, xb, yb, spec, step, alive)
    return autograd_loss_and_grads(model, params, xb, yb, spec, step, alive)


def fit(model: PopulationMLP, optimizer: PopulationOptimizer, train: tuple[torch.Tensor, torch.Tensor],
        val: Optional[tuple[torch.Tensor, torch.Tensor]] = None, spec: TrainSpec = TrainSpec(),
        callbacks: Optional[list[Any]] = None, progress: Optional[Callable[[int], None]] = None) -> FitResult:
    """Train ``model`` in place for ``spec.steps`` steps (or until a stop) and return the history.

    On Ctrl-C it returns the history so far with ``stop.reason == Reason.INTERRUPTED`` (see
    ``FitResult.interrupted``) and counts the interrupt (``trainlab.interrupts``), so that callers
    writing results can refuse to record them as finished. Under the CLI, a fit called after an
    interrupt raises ``KeyboardInterrupt`` at once instead of training.
    """
    interrupts.stop_if_interrupted()
    callbacks = list(callbacks or [])
    t0 = time.perf_counter()
    x, y = train
    n = x.shape[0]
    full_batch = spec.batch_size is None or spec.batch_size >= n
    shuffle_keys = member_keys(model.run_seed, model.member_seeds, "shuffle").to(x.device)
    augment_keys = member_keys(model.run_seed, model.member_seeds, "augment").to(x.device) if spec.augment else None
    params = [p.detach().clone() for p in model.parameters()]
    model.set_parameters(params)
    alive = torch.ones(model.K, dtype=torch.bool, device=x.device)
    state = FitState(model, optimizer, 0, History(), alive, torch.zeros_like(alive))

    def record(step: int, before=None, grads=None) -> Optional[Stop]:
        tl, ta = evaluate(model, x, y, spec.loss, spec.eval_batch)
        vals = {"train_loss": tl, "train_acc": ta}
        if val is not None and val[0].shape[0] > 0:
            if step == 0 and not spec.val_at_init:
                vl = va = torch.full_like(tl, float("nan"))
            else:
                vl, va = evaluate(model, val[0], val[1], spec.loss, spec.eval_batch)
            vals |= {"val_loss": vl, "val_acc": va}
        norms = layer_norms(len(model.weights), params, before, grads) if spec.record_norms else None
        state.history.add(step, vals, norms)
        return _emit(callbacks, "on_eval", state)

    _emit(callbacks, "on_fit_start", state)
    stop = record(0)
    step = 0
    try:
        faults.pause_point("training")
        while stop is None and step < spec.steps:
            if full_batch:
                xb, yb = x, y
            else:
                idx = batch_indices(shuffle_keys, n, spec.batch_size, step)
                xb, yb = x[idx], y[idx]
            if spec.augment is not None:  # each member's batch its own way (full batch: one copy per member)
                if xb.dim() == 2:
                    xb, yb = xb.expand(model.K, *xb.shape), yb.expand(model.K, *yb.shape)
                xb, yb = spec.augment(xb, yb, step, augment_keys)
            objective, per_member, grads = loss_and_grads(model, params, xb, yb, spec, step, alive)
            bad = ~torch.isfinite(objective) & alive
            if bool(bad.any()):
                for k in bad.nonzero().flatten().tolist():
                    msg = f"loss={float(objective[k]):.4g} at step {step}"
                    state.frozen[k] = {"step": step, "message": msg}
                    _emit(callbacks, "on_member_frozen", state, k, msg)
                alive = alive & ~bad
                state.alive = alive
                # the gradients were taken with the member still counted: take them again without it
                objective, per_member, grads = loss_and_grads(model, params, xb, yb, spec, step, alive)
            if not bool(alive.any()):
                stop = Stop(Reason.ALL_FROZEN, f"every member went non-finite by step {step}")
                break
            active = alive & ~state.stopped
            if not bool(active.any()):
                stop = Stop(Reason.EARLY_STOP, f"every member stopped early by step {step}")
                break
            evaluating = (step + 1) % spec.eval_every == 0 or step + 1 == spec.steps
            before = params if evaluating else None  # the step returns new tensors; update_ratio reads both
            params = optimizer.step(params, list(grads), active)
            if spec.max_norm is not None:
                max_norm_(params[0:2 * len(model.weights):2], spec.max_norm)
            model.set_parameters(params)
            state.last_loss = per_member
            step += 1
            state.step = step
            stop = _emit(callbacks, "on_step_end", state)
            if progress is not None:
                progress(1)
            if stop is None and evaluating:
                stop = record(step, before, grads)
    except KeyboardInterrupt:
        interrupts.mark()
        stop = Stop(Reason.INTERRUPTED, f"interrupted at step {step}")
    fused.release()  # the fused step's scratch buffers are multi-MB for big populations
    if stop is None:
        stop = Stop(Reason.MAX_STEPS, f"finished {spec.steps} steps")
    if state.history.steps[-1] != step and stop.reason != Reason.INTERRUPTED:
        record(step)
    model.set_parameters([p.detach() for p in params])
    _emit(callbacks, "on_fit_end", state)
    return FitResult(model, state.history, stop, state.frozen, time.perf_counter() - t0)
