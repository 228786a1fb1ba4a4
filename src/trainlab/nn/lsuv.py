"""LSUV: layer-sequential unit-variance init (Mishkin & Matas 2015, "All you need is a good init").

The recipe: start from orthonormal weights (``INITS["lsuv"]`` fills them), then, layer by layer
from the input, run a data batch through the network and divide the layer's weights by the std of
its output (the pre-activation) until that std is within ``tol`` of 1, at most ``max_rounds``
times. Later layers see the already rescaled earlier ones, which is what makes it sequential.

Here it runs on a population: weights (K, fan_in, fan_out), biases (K, fan_out), each member
rescaled by its own std on its own forward pass. With zero biases the output is linear in the
weights, so one round lands on std 1 up to rounding; biases make it iterate (they are not
rescaled, as in the paper).
"""
from __future__ import annotations

from typing import Optional

import torch

from trainlab.nn.activations import ACTIVATIONS

MIN_STD = 1e-30  # below this (or non-finite) a layer cannot be rescaled: its units are dead


def _forward(a: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor]) -> torch.Tensor:
    z = torch.bmm(a, w)
    return z if b is None else z + b.unsqueeze(1)


def _member_std(z: torch.Tensor) -> torch.Tensor:
    return z.flatten(1).double().std(dim=1, correction=0)


@torch.no_grad()
def lsuv_(weights: list[torch.Tensor], biases: list[Optional[torch.Tensor]], activation: str, x: torch.Tensor,
          tol: float = 0.1, max_rounds: int = 10) -> list[int]:
    """Rescale ``weights`` in place so every layer's output std on ``x`` is within ``tol`` of 1.

    ``weights[l]`` is (K, fan_in, fan_out); the activation follows every layer but the last, as
    in the population MLP. ``x`` is (N, d), shared by the members, or (K, N, d). Returns, per
    layer, the rounds used (the most over the members; 0 when already within ``tol``). A member
    whose layer output has std 0 or a non-finite std is left as it is: no scale can fix it.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"lsuv_: unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
    if not 0 < tol < 1 or max_rounds < 1:
        raise ValueError(f"lsuv_: need 0 < tol < 1 and max_rounds >= 1, got tol={tol}, max_rounds={max_rounds}")
    act = ACTIVATIONS[activation]
    k = weights[0].shape[0]
    a = x.float()
    a = a.unsqueeze(0).expand(k, *a.shape) if a.dim() == 2 else a
    rounds_used: list[int] = []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        used = 0
        z = _forward(a, w, b)
        for _ in range(max_rounds):
            std = _member_std(z)
            fixable = torch.isfinite(std) & (std > MIN_STD)
            todo = fixable & ((std - 1.0).abs() > tol)
            if not bool(todo.any()):
                break
            scale = torch.where(todo, std, torch.ones_like(std)).to(w.dtype)
            w.div_(scale.view(k, 1, 1))
            used += 1
            z = _forward(a, w, b)
        rounds_used.append(used)
        if layer < len(weights) - 1:
            a = act.apply(z, None)
    return rounds_used


def output_stds(weights: list[torch.Tensor], biases: list[Optional[torch.Tensor]], activation: str,
                x: torch.Tensor) -> torch.Tensor:
    """(K, L) std of every layer's output on ``x``: what ``lsuv_`` calibrates (used by tests and the study)."""
    act = ACTIVATIONS[activation]
    k = weights[0].shape[0]
    a = x.float()
    a = a.unsqueeze(0).expand(k, *a.shape) if a.dim() == 2 else a
    out = []
    with torch.no_grad():
        for layer, (w, b) in enumerate(zip(weights, biases)):
            z = _forward(a, w, b)
            out.append(_member_std(z))
            if layer < len(weights) - 1:
                a = act.apply(z, None)
    return torch.stack(out, dim=1)
