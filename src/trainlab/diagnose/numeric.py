"""Two of doctor's checks from seed 002's list, on copies of the user's model and loss:

- ``gradient_check``: autograd against central finite differences in float64 on a tiny batch,
  for a sample of coordinates of every parameter tensor (``gradient_mismatch``);
- ``regularization_check``: where the loss has a penalty term with a strength, raising the
  strength must raise the loss at init. torch's optimizer ``weight_decay`` never shows in the
  loss, so there it is an info finding saying so.

``Penalized(base, model, penalty, strength)`` is how a loss function comes "with a strength": it
computes ``base(out, y) + strength * penalty(model)``; being a plain object (not a closure), a deep
copy of (model, loss) together points the copy's penalty at the copied model. Any loss function
with a numeric ``strength`` attribute works the same way.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch
from torch import nn

from trainlab.diagnose.findings import CODES, Finding, make_finding

LossFn = Callable[[Any, Any], torch.Tensor]
ROUNDOFF = 2.2e-16  # float64 machine epsilon: the relative rounding of one loss evaluation
SMOOTH = 1e-3  # central differences at eps and 2 eps agree this well where the loss is smooth


@dataclass
class Penalized:
    """A loss with a penalty term: ``base(out, y) + strength * penalty(model)``."""

    base: LossFn
    model: nn.Module
    penalty: Callable[[nn.Module], torch.Tensor]
    strength: float

    def __call__(self, out: Any, y: Any) -> torch.Tensor:
        return self.base(out, y) + self.strength * self.penalty(self.model)


@dataclass
class GradCheck:
    """Largest relative error of autograd vs central differences, per parameter tensor checked."""

    max_rel_error: float
    errors: dict[str, float] = field(default_factory=dict)
    coordinates: int = 0
    skipped: str | None = None


def _scalar(loss: torch.Tensor) -> torch.Tensor:
    return loss if loss.ndim == 0 else loss.mean()


def gradient_check(model: nn.Module, loss_fn: LossFn, x: Any, y: Any, seed: int = 0) -> GradCheck:
    """Autograd vs central differences (float64, eps and coordinates from ``CODES``) on copies.

    Each evaluation re-seeds torch's RNG, so dropout draws the same mask every time; BatchNorm
    uses the tiny batch's statistics in training mode, deterministically.
    """
    x_ = CODES["gradient_mismatch"].extra
    eps, per_tensor, batch = float(x_["eps"]), int(x_["coords"]), int(x_["batch"])
    resolve = float(x_["resolve"])
    m, loss_fn = copy.deepcopy((model, loss_fn))
    try:
        m = m.double()
        xs = x[:batch].double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x[:batch]
        ys = y[:batch].double() if isinstance(y, torch.Tensor) and y.is_floating_point() else y[:batch]

        def f() -> torch.Tensor:
            torch.manual_seed(seed)
            return _scalar(loss_fn(m(xs), ys))

        params = [(n, p) for n, p in m.named_parameters() if p.requires_grad and p.numel() > 0]
        m.zero_grad(set_to_none=True)
        loss = f()
        if not torch.isfinite(loss):
            return GradCheck(math.nan, skipped=f"the loss at init is {float(loss.detach())}")
        loss.backward()
    except Exception as e:  # an op without float64 support, a loss that needs float32, ...
        return GradCheck(math.nan, skipped=f"{type(e).__name__}: {e}")
    # central differences cannot resolve derivatives below the rounding of the loss itself
    noise = abs(float(loss.detach())) * ROUNDOFF / eps
    gen = torch.Generator().manual_seed(seed)
    errors: dict[str, float] = {}
    total = 0
    with torch.no_grad():
        for name, p in params:
            g = p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel(), dtype=p.dtype)
            if not p.is_contiguous():
                continue
            idx = torch.randperm(p.numel(), generator=gen)[:per_tensor]
            flat = p.view(-1)
            keep, fd = [], []
            for i in idx.tolist():
                d1, d2 = _central(f, flat, i, eps), _central(f, flat, i, 2 * eps)
                if abs(d1 - d2) <= SMOOTH * max(abs(d1), abs(d2)) + 3 * noise:
                    keep.append(i)  # the loss is smooth at this scale here (not across a ReLU kink)
                    fd.append(d1)
            total += len(idx)
            if not keep:
                continue
            auto, fd_t = g[keep].double().cpu(), torch.tensor(fd, dtype=torch.float64)
            scale = max(float(auto.norm()), float(fd_t.norm()))
            if scale <= max(1e-7, resolve * noise * math.sqrt(len(keep))):
                continue  # too small to compare at this loss scale: no evidence either way
            errors[name] = float((auto - fd_t).norm()) / scale
    if not errors:
        return GradCheck(math.nan, {}, total, skipped="every gradient checked was below what finite "
                         "differences resolve at this loss scale")
    return GradCheck(max(errors.values()), errors, total)


def _central(f: Callable[[], torch.Tensor], flat: torch.Tensor, i: int, h: float) -> float:
    """(f(x + h e_i) - f(x - h e_i)) / 2h, with ``flat[i]`` put back exactly."""
    old = float(flat[i])
    flat[i] = old + h
    up = float(f())
    flat[i] = old - h
    down = float(f())
    flat[i] = old
    return (up - down) / (2 * h)


def gradient_findings(result: GradCheck) -> list[Finding]:
    """``gradient_mismatch``: error above its threshold, warning above ``warn``; a check that
    could not run is a ``checks_skipped`` note."""
    spec = CODES["gradient_mismatch"]
    if result.skipped:
        return [make_finding("checks_skipped", 0, f"gradient check skipped: {result.skipped}")]
    bad = {n: e for n, e in result.errors.items() if not e <= spec.extra["warn"]}
    if not bad:
        return []
    name, worst = max(bad.items(), key=lambda kv: kv[1] if math.isfinite(kv[1]) else math.inf)
    severity = "error" if not worst <= spec.threshold else "warning"
    others = f" (and {len(bad) - 1} more tensors)" if len(bad) > 1 else ""
    return [make_finding("gradient_mismatch", 0, f"autograd and finite differences disagree on "
                         f"{name}: relative error {worst:.2g}{others}", layer=name, value=worst,
                         severity=severity)]


@dataclass
class RegularizationCheck:
    """The loss at init on the first batch at strength 0, at the given strength, and at ``factor``x."""

    strength: float
    loss_zero: float
    loss: float
    loss_raised: float
    factor: float
    raised: bool


def strength_of(loss_fn: Any) -> float | None:
    """The numeric ``strength`` of a loss function (``Penalized`` or any object with one)."""
    s = getattr(loss_fn, "strength", None)
    return float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) else None


def regularization_check(model: nn.Module, loss_fn: LossFn, x: Any, y: Any,
                         seed: int = 0) -> RegularizationCheck | None:
    """The loss at init at 0, s and factor x s (s: the loss function's strength; 1e-2 when 0)."""
    s = strength_of(loss_fn)
    if s is None:
        return None
    factor = CODES["regularization_check"].threshold
    raised_s = s * factor if s > 0 else 1e-2

    def loss_at(strength: float) -> float:
        m, fn = copy.deepcopy((model, loss_fn))
        fn = replace(fn, strength=strength) if isinstance(fn, Penalized) else fn
        if not isinstance(fn, Penalized):
            fn.strength = strength
        torch.manual_seed(seed)
        with torch.no_grad():
            return float(_scalar(fn(m(x), y)))

    zero, given, high = loss_at(0.0), loss_at(s), loss_at(raised_s)
    raised = math.isfinite(high) and high > given and high > zero
    return RegularizationCheck(s, zero, given, high, raised_s / s if s > 0 else math.inf, raised)


def regularization_findings(result: RegularizationCheck | None,
                            optimizer: torch.optim.Optimizer | None) -> list[Finding]:
    """A warning when raising the strength did not raise the loss; an info note for weight_decay."""
    out = []
    if result is not None and not result.raised:
        out.append(make_finding("regularization_check", 0, f"the loss at init is {result.loss:.4g} at "
                                f"strength {result.strength:g} and {result.loss_raised:.4g} at "
                                f"{result.strength * result.factor if result.strength else 1e-2:g} "
                                f"(at 0: {result.loss_zero:.4g}): the penalty does not show in the loss",
                                value=result.loss_raised - result.loss))
    decays = sorted({float(g.get("weight_decay", 0) or 0) for g in optimizer.param_groups}) if optimizer else []
    if any(d > 0 for d in decays):
        out.append(make_finding("regularization_check", 0, f"the optimizer's weight_decay "
                                f"({', '.join(f'{d:g}' for d in decays if d > 0)}) acts in the update, "
                                f"not in the loss: the loss never shows it, so raising it cannot be "
                                f"checked on the loss", severity="info", layer="weight_decay"))
    return out
