"""Tensor-to-number reductions used by ``watch`` (and ``doctor``) on measured steps.

Each function reads a module or tensor and returns a small tensor (kept on the device until
``fetch`` brings a batch of them to the host in one transfer). Nothing here writes to a model
or draws random numbers.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

SAMPLE = 16384  # elements per layer for the stale-gradient and update/weight measurements
SCREEN_COLUMNS = 64  # input columns the symmetric-rows screen looks at

# Activation modules measured, by kind; ReLU-family units can die, tanh/sigmoid can saturate.
ACTIVATION_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.ReLU, "relu"), (nn.ReLU6, "relu"), (nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"),
)

# Per kind: the per-sample event counted for each unit (active for ReLU, saturated for tanh...).
# "nonzero" is the fallback for models whose ReLUs are functional: inputs of later layers.
UNIT_EVENTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": lambda y: y > 0,
    "nonzero": lambda y: y != 0,
    "tanh": lambda y: y.abs() > 0.99,
    "sigmoid": lambda y: (y < 0.01) | (y > 0.99),
}


def is_weight_layer(m: nn.Module) -> bool:
    """A leaf module with a >= 2-D ``weight`` parameter (Linear, Conv*, Embedding, ...)."""
    w = getattr(m, "weight", None)
    return isinstance(w, nn.Parameter) and w.ndim >= 2 and not list(m.children())


def activation_kind(m: nn.Module) -> str | None:
    """The ``ACTIVATION_KINDS`` kind of ``m``, or None when it is not a measured activation."""
    for cls, kind in ACTIVATION_KINDS:
        if isinstance(m, cls):
            return kind
    return None


def as_units(y: torch.Tensor, channel_first: bool) -> torch.Tensor:
    """View ``y`` as (samples, units): features are dim 1 for conv maps, else the last dim."""
    if y.ndim <= 1:
        return y.reshape(1, -1)
    if y.ndim == 2:
        return y
    if channel_first:
        return y.movedim(1, -1).reshape(-1, y.shape[1])
    return y.reshape(-1, y.shape[-1])


def strided_sample(t: torch.Tensor) -> torch.Tensor:
    """A fixed strided subset of at most ~SAMPLE elements (a view, no copy, no RNG): stale
    gradients and update sizes show on any large subset, and full copies of big layers cost."""
    flat = t.reshape(-1)
    step = max(1, flat.numel() // SAMPLE) | 1  # odd, so it walks across the columns of a row
    return flat[::step]


def row_spread(m: nn.Module, columns: int | None = SCREEN_COLUMNS) -> torch.Tensor:
    """||rows of [W | b] - first row|| / ||[W | b]||: 0 exactly when all units are identical.

    With ``columns`` it looks at a strided subset of that many input columns: a cheap screen
    (a genuine init never has identical rows on any subset); the caller confirms a 0 on the
    full matrix, so a rare screen hit costs one more pass, never a false finding.
    """
    w = m.weight.detach()
    w = w.reshape(w.shape[0], -1)
    if columns is not None:
        w = w[:, ::max(1, w.shape[1] // columns)]
    b = getattr(m, "bias", None)
    if isinstance(b, torch.Tensor) and b.shape == w.shape[:1]:  # distinct biases break symmetry
        w = torch.cat([w, b.detach()[:, None]], 1)
    w = w.float()
    size = w.norm()
    return torch.where(size > 0, (w - w[:1]).norm() / size.clamp_min(1e-30), size * 0)


def fetch(named: dict[str, torch.Tensor]) -> dict[str, float]:
    """Scalars to Python floats in one device-to-host transfer."""
    if not named:
        return {}
    device = next(iter(named.values())).device
    values = torch.stack([v.reshape(()).float().to(device) for v in named.values()]).tolist()
    return dict(zip(named, values))


class UnitCounter:
    """Per-unit event counts (``UNIT_EVENTS[kind]``) over the samples seen since the last
    judgement; a change of shape (another batch layout) starts the count again."""

    def __init__(self, kind: str) -> None:
        self.kind: str = kind
        self.counts: torch.Tensor | None = None
        self.n = 0

    def add(self, y: torch.Tensor, channel_first: bool) -> None:
        u = as_units(y.detach(), channel_first)
        c = UNIT_EVENTS[self.kind](u).sum(0)
        if self.counts is None or self.counts.shape != c.shape:
            self.counts, self.n = c, 0
        else:
            self.counts = self.counts + c
        self.n += u.shape[0]


def fresh_init_match(weight: torch.Tensor, tol: dict) -> str | None:
    """The standard random init ``weight`` still looks like (PyTorch's default for Linear/Conv,
    Xavier, He or LeCun; uniform or normal), or None.

    Uniform inits: every |w| within the bound and the std within ``init_tol`` of bound / sqrt(3).
    Normal inits (>= 1024 values, so the kurtosis is reliable): std within ``init_tol`` of the
    init's and kurtosis within ``kurtosis_tol`` of 3. Trained weights drift from both (heavier
    tails, another spread), so a frozen layer that matches was never trained.
    """
    w = weight.detach().double().reshape(weight.shape[0], -1)
    n = w.numel()
    if n < 64 or w.shape[1] < 2:
        return None
    fan_in, fan_out = w.shape[1], w.shape[0] * (weight[0][0].numel() if weight.ndim > 2 else 1)
    std, mean = float(w.std()), float(w.mean())
    if std <= 0 or abs(mean) > 4 * std / math.sqrt(n):
        return None
    rel = max(float(tol["init_tol"]), 3 / math.sqrt(2 * n))
    kurt = float(((w - mean) ** 4).mean()) / std ** 4
    top = float(w.abs().max())
    uniform = {"PyTorch default": 1 / math.sqrt(fan_in), "xavier_uniform": math.sqrt(6 / (fan_in + fan_out)),
               "kaiming_uniform": math.sqrt(6 / fan_in)}
    for name, bound in uniform.items():
        if top <= bound * (1 + 1e-6) and abs(std / (bound / math.sqrt(3)) - 1) < rel:
            return name
    normal = {"xavier_normal": math.sqrt(2 / (fan_in + fan_out)), "kaiming_normal": math.sqrt(2 / fan_in),
              "lecun_normal": math.sqrt(1 / fan_in)}
    if n >= 1024 and abs(kurt - 3) < float(tol["kurtosis_tol"]):
        for name, s in normal.items():
            if abs(std / s - 1) < rel:
                return name
    return None
