"""Regularizers with per-member strengths: L1, L2, elastic net (both), max-norm.

L1 and L2 are penalties added to the loss, on weights only (not biases): the L2 penalty is
``l2/2 * ||W||^2``, whose gradient ``l2 * W`` equals SGD's ``weight_decay`` on those tensors (a test
shows it). That is not AdamW's decoupled decay, which lives in the optimizer.
Max-norm is a constraint: after each step, each unit's incoming weight vector is rescaled to norm
at most c (Srivastava et al. 2014); c is one number, or one per member ((K,), inf: no bound).
"""
from __future__ import annotations

import torch


def _view(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


def penalty(weights: list[torch.Tensor], l1: torch.Tensor | None, l2: torch.Tensor | None) -> torch.Tensor | None:
    """Per-member penalty (K,), or None when every strength is zero."""
    total = None
    if l1 is not None and bool((l1 != 0).any()):
        total = sum(l1 * w.abs().sum(dim=tuple(range(1, w.dim()))) for w in weights)
    if l2 is not None and bool((l2 != 0).any()):
        term = sum(0.5 * l2 * (w * w).sum(dim=tuple(range(1, w.dim()))) for w in weights)
        total = term if total is None else total + term
    return total


@torch.no_grad()
def max_norm_(weights: list[torch.Tensor], c: float | torch.Tensor) -> None:
    """Rescale each unit's incoming weights (a column of (K, fan_in, fan_out)) to norm <= c.

    ``c`` is a float for every member or a (K,) tensor of per-member bounds (inf: unbounded);
    either way one tensor operation per layer, no loop over members.
    """
    for w in weights:
        bound = _view(c.to(w.dtype), w) if isinstance(c, torch.Tensor) else c
        norms = w.norm(dim=1, keepdim=True)
        w.mul_(torch.clamp(bound / norms.clamp_min(1e-12), max=1.0))
