"""LR range test (Smith 2017, 'Cyclical Learning Rates'; the fastai LR finder), made robust.

``lr_find`` trains for up to ``steps`` steps while the learning rate grows exponentially from
``lr_min`` to ``lr_max``, records the loss, and suggests a learning rate. Two known failure
modes of LR finders are handled:

- **Early spikes.** One bad batch early on makes a plain exponentially smoothed curve drop
  steeply afterwards, so 'steepest descent' points at a uselessly small LR, and the divergence
  stop (smoothed > 4x best) can fire at once. Here the smoothed curve is the bias-corrected EMA
  of a causal running median of 5 raw losses, which removes isolated spikes, and the steepest
  descent is searched only after the first 10% of steps and before the minimum.
- **A changed model.** The test trains the real model. Its weights, the optimizer's state
  (momentum buffers, Adam moments, the param groups' lr) and the RNG state (CPU, and the
  model's CUDA devices) are copied
  before and restored after, so training afterwards is exactly as if the test never ran.

It returns an ``LRFindResult`` of numbers; ``trainlab.diag_cli.plot_lr_find`` draws it.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from statistics import median
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn

LossFn = Callable[[Any, Any], torch.Tensor]

MEDIAN_WINDOW = 5  # raw losses per running median: one spike in 5 never reaches the curve
SKIP_FRACTION = 0.1  # the first steps carry little signal (EMA warm-up), never suggested
DIVERGE_FACTOR = 4.0  # stop once the smoothed loss exceeds 4x its best (fastai's default)


@dataclass
class LRFindResult:
    """The ramp's learning rates, raw and smoothed losses, the suggestion and why."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        from trainlab.stats import json_clean
        return json_clean({"lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed,
                           "suggestion": self.suggestion, "reason": self.reason})


def lr_schedule(lr_min: float, lr_max: float, steps: int) -> Callable[[int], float]:
    """Step -> lr of the exponential ramp: ``lr_min`` at step 0, ``lr_max`` at ``steps - 1``."""
    ratio = lr_max / lr_min

    def lr_at(step: int) -> float:
        return lr_min * ratio ** (step / max(steps - 1, 1))
    return lr_at


def _smooth_step(losses: list[float], i: int, avg: float, smoothing: float) -> tuple[float, float]:
    """One step of the smoother: (new EMA state, bias-corrected smoothed value at step i)."""
    window = [x for x in losses[max(0, i - MEDIAN_WINDOW + 1): i + 1] if math.isfinite(x)]
    m = median(window) if window else math.inf
    avg = smoothing * avg + (1 - smoothing) * m
    return avg, avg / (1 - smoothing ** (i + 1))


def smooth_losses(losses: list[float], smoothing: float = 0.98) -> list[float]:
    """Bias-corrected EMA of a causal running median (window 5) of the raw losses."""
    out, avg = [], 0.0
    for i in range(len(losses)):
        avg, s = _smooth_step(losses, i, avg, smoothing)
        out.append(s)
    return out


def centered_smooth(losses: list[float]) -> list[float]:
    """Post-hoc smoothing for the suggestion: a centered running median (window 5, removes
    isolated spikes) then a centered moving average over ~1/10 of the run.

    The causal EMA that drives the online divergence stop lags: on a short ramp its warm-up spans
    whole decades and looks like a steep early descent. A centered curve has no lag, so the
    steepest-descent search sees the real shape of the loss.
    """
    x = np.array([v if math.isfinite(v) else np.nan for v in losses], dtype=np.float64)
    n = len(x)
    half = MEDIAN_WINDOW // 2
    med = np.array([np.nanmedian(x[max(0, i - half): i + half + 1]) if np.isfinite(x[max(0, i - half): i + half + 1]).any()
                    else np.inf for i in range(n)])
    w = max(3, n // 10) | 1
    out = []
    for i in range(n):
        win = med[max(0, i - w // 2): i + w // 2 + 1]
        fin = win[np.isfinite(win)]
        out.append(float(fin.mean()) if fin.size else math.inf)
    return out


def suggest_lr(lrs: list[float], smoothed: list[float]) -> tuple[float | None, str]:
    """Steepest descent of the smoothed loss vs log10(lr), after the first 10% of steps and
    before the minimum; falls back to (LR at the minimum) / 10 when that region is too short."""
    n = len(smoothed)
    if n < 5 or not any(math.isfinite(s) for s in smoothed):
        return None, f"too few steps ({n}) to suggest a learning rate"
    finite = np.array([s if math.isfinite(s) else np.inf for s in smoothed])
    i_min = int(np.argmin(finite))
    lo = max(int(SKIP_FRACTION * n), 2)
    if i_min - lo >= 3:
        grad = np.gradient(finite[lo:i_min + 1], np.log10(lrs[lo:i_min + 1]))
        i = lo + int(np.argmin(grad))
        if grad[i - lo] < 0:
            return float(lrs[i]), (f"steepest descent of the smoothed loss at lr={lrs[i]:.3g} "
                                   f"(slope {grad[i - lo]:.3g} per decade; minimum at "
                                   f"lr={lrs[i_min]:.3g})")
    return float(lrs[i_min]) / 10, (f"minimum of the smoothed loss at lr={lrs[i_min]:.3g}, "
                                    f"divided by 10 (no clear descent before it)")


def _cycle(batches: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for b in batches:
            empty = False
            yield b
        if empty or iter(batches) is batches:  # a one-shot iterator cannot be restarted
            return


def _default_step(model: nn.Module, batch: Any, loss_fn: LossFn) -> torch.Tensor:
    x, y = batch[0], batch[1]
    return loss_fn(model(x), y)


def lr_find(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable[Any],
            loss_fn: LossFn, lr_min: float = 1e-7, lr_max: float = 10.0, steps: int = 100,
            smoothing: float = 0.98) -> LRFindResult:
    """Run the LR range test on ``model`` and restore model, optimizer and RNG afterwards.

    ``batches`` yields ``(inputs, targets)``; a re-iterable (list, DataLoader) is cycled when
    it has fewer than ``steps`` batches. ``loss_fn(model(inputs), targets)`` gives the loss.
    """
    if not 0 < lr_min < lr_max:
        raise ValueError(f"need 0 < lr_min < lr_max, got lr_min={lr_min}, lr_max={lr_max}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training
    lr_at = lr_schedule(lr_min, lr_max, steps)
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    try:
        cuda = sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})
        with torch.random.fork_rng(devices=cuda):
            model.train()
            best, avg = math.inf, 0.0
            for step, batch in zip(range(steps), _cycle(batches)):
                lr = lr_at(step)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                optimizer.zero_grad()
                loss = _default_step(model, batch, loss_fn)
                loss.backward()
                optimizer.step()
                lrs.append(lr)
                losses.append(float(loss.detach()))
                avg, s = _smooth_step(losses, step, avg, smoothing)
                smoothed.append(s)
                if not math.isfinite(s):
                    break  # every loss in the median window is NaN/inf: diverged
                best = min(best, smoothed[-1])
                if step > 0 and smoothed[-1] > DIVERGE_FACTOR * best:
                    break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        model.train(was_training)
    suggestion, reason = suggest_lr(lrs, centered_smooth(losses))
    return LRFindResult(lrs, losses, smoothed, suggestion, reason)
