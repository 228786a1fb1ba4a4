"""Per-member losses: logits (K, B, C) and labels (B,) or (K, B) -> loss (K,).

Each member's loss is the mean over its batch, exactly as ``F.cross_entropy`` / ``F.mse_loss``
compute it for a single model. MSE is on softmax or sigmoid outputs against one-hot targets, as in
seed 001.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def _labels(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return y.expand(logits.shape[0], -1) if y.dim() == 1 else y


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, _labels(logits, y).unsqueeze(-1)).squeeze(-1)
    return nll.mean(-1)


def _mse(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    target = F.one_hot(_labels(probs, y), probs.shape[-1]).to(probs.dtype)
    return ((probs - target) ** 2).mean(dim=(-1, -2))


def mse_softmax(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _mse(torch.softmax(logits, -1), y)


def mse_sigmoid(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _mse(torch.sigmoid(logits), y)


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": cross_entropy,
    "mse_softmax": mse_softmax,
    "mse_sigmoid": mse_sigmoid,
}


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-member accuracy (K,) as a fraction."""
    return (logits.argmax(-1) == _labels(logits, y)).to(torch.float32).mean(-1)
