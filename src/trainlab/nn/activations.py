"""Activations, as a table.

Each row gives the function a population applies, the gain Kaiming init uses for it, how many
linear outputs it consumes per unit (Maxout takes k), whether it has a learnable parameter
(PReLU's slope, one per member and layer), and how to export it as a plain ``nn.Module``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn


class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): the max over ``k`` consecutive linear pieces per unit."""

    def __init__(self, k: int):
        super().__init__()
        self.k = int(k)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return maxout(z, self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


def maxout(z: torch.Tensor, k: int) -> torch.Tensor:
    """Max over groups of k consecutive features of the last axis."""
    return z.unflatten(-1, (z.shape[-1] // k, k)).amax(-1)


@dataclass(frozen=True)
class Activation:
    """One row: ``apply(z, param)``; ``param`` is the PReLU slope tensor or None."""

    apply: Callable[[torch.Tensor, Optional[torch.Tensor]], torch.Tensor]
    gain: float  # for Kaiming init (torch.nn.init.calculate_gain where it has one)
    module: Callable[[Optional[torch.Tensor]], nn.Module]
    family: str  # "relu" (can die), "saturating" (can saturate), "linear" or "smooth"
    pieces: int = 1  # linear outputs per unit (Maxout k)
    has_param: bool = False
    param_init: float = 0.0


LEAKY_SLOPE = 0.01
PRELU_INIT = 0.25
MAXOUT_K = 2


def _prelu(z, a):
    return torch.where(z >= 0, z, a * z)


def _prelu_module(a):
    m = nn.PReLU(num_parameters=1, init=PRELU_INIT)
    if a is not None:
        with torch.no_grad():
            m.weight.copy_(a.reshape(1))
    return m


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(lambda z, a: z, 1.0, lambda a: nn.Identity(), "linear"),
    "sigmoid": Activation(lambda z, a: torch.sigmoid(z), 1.0, lambda a: nn.Sigmoid(), "saturating"),
    "tanh": Activation(lambda z, a: torch.tanh(z), 5.0 / 3.0, lambda a: nn.Tanh(), "saturating"),
    "relu": Activation(lambda z, a: torch.relu(z), math.sqrt(2.0), lambda a: nn.ReLU(), "relu"),
    "leaky_relu": Activation(lambda z, a: F.leaky_relu(z, LEAKY_SLOPE), math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)),
                             lambda a: nn.LeakyReLU(LEAKY_SLOPE), "relu"),
    "prelu": Activation(_prelu, math.sqrt(2.0 / (1 + PRELU_INIT**2)), _prelu_module, "relu", has_param=True,
                        param_init=PRELU_INIT),
    "elu": Activation(lambda z, a: F.elu(z), 1.0, lambda a: nn.ELU(), "smooth"),
    "selu": Activation(lambda z, a: F.selu(z), 0.75, lambda a: nn.SELU(), "smooth"),
    "gelu": Activation(lambda z, a: F.gelu(z), math.sqrt(2.0), lambda a: nn.GELU(), "smooth"),
    "maxout": Activation(lambda z, a: maxout(z, MAXOUT_K), 1.0, lambda a: Maxout(MAXOUT_K), "smooth", pieces=MAXOUT_K),
}
