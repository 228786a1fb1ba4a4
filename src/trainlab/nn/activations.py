"""Activations, as a table: one row per activation, read by every code path that applies one.

A row (``Activation``) gives:

- ``apply(z, param)``: the function, out of place (the autograd path, export, LSUV, theory);
- ``apply_into(z, out)``: the same written into ``out``, which may be ``z`` itself (in place) or a
  strided view of a bigger buffer;
- ``backward(g, a, z, out)``: dz = g * f'(z), written into ``out`` (which may be ``g``, never ``a``
  or ``z``), from the output ``a = f(z)`` where that is exact (ReLU: a > 0 iff z > 0; tanh:
  1 - a^2; sigmoid: a (1 - a)), else from ``z`` (``needs_z``: ``apply_into`` must then keep z). ELU and
  SELU read z: from a, f'(z) = a + alpha cancels in float32 where z is very negative (2.6% off at
  z = -15, 44% at z = -17);
- ``nonneg``: f(z) >= 0 everywhere (|a| statistics are a's own), and ``constants``, the numbers
  the functions use;
- the gain Kaiming init uses, the family (``relu`` can die, ``saturating`` can saturate), how many
  linear outputs a unit consumes (Maxout takes k), whether it has a learnable parameter (PReLU's
  slope, one per member and layer), and how to export it as a plain ``nn.Module``.

The hand-written training step (``nn/fused.py``) and the statistics pass (``probes.py``) read
``apply_into``, ``backward``, ``needs_z`` and ``nonneg`` from here. A row without ``backward``
(PReLU, Maxout) is trained by autograd and not measured by the pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

aten = torch.ops.aten
Tensor = torch.Tensor

LEAKY_SLOPE = 0.01
PRELU_INIT = 0.25
MAXOUT_K = 2
SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. 2017; the values torch uses
SELU_SCALE = 1.0507009873554804934193349852946


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


Forward = Callable[[Tensor, Tensor], Tensor]
Backward = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Activation:
    """One row; see the module docstring. ``param`` is the PReLU slope tensor or None."""

    apply: Callable[[Tensor, Optional[Tensor]], Tensor]
    gain: float  # for Kaiming init (torch.nn.init.calculate_gain where it has one)
    module: Callable[[Optional[Tensor]], nn.Module]
    family: str  # "relu" (can die), "saturating" (can saturate), "linear" or "smooth"
    apply_into: Optional[Forward] = None  # f(z) into out (out may be z); None: autograd only
    backward: Optional[Backward] = None  # (g, a, z, out) -> dz in out (out may be g)
    needs_z: bool = False  # backward reads z, so apply_into must not overwrite it
    nonneg: bool = False  # f(z) >= 0 everywhere
    constants: dict[str, float] = field(default_factory=dict)
    pieces: int = 1  # linear outputs per unit (Maxout k)
    has_param: bool = False
    param_init: float = 0.0


def _identity_forward(z: Tensor, out: Tensor) -> Tensor:
    return z if out.data_ptr() == z.data_ptr() else out.copy_(z)


def _gelu_forward(z: Tensor, out: Tensor) -> Tensor:
    # gelu.out into a strided view returned garbage in torch 2.13: compute, then copy, there
    if z.is_contiguous() and out.is_contiguous():
        return aten.gelu.out(z, out=out)
    return out.copy_(F.gelu(z))


def _prelu(z, a):
    return torch.where(z >= 0, z, a * z)


def _prelu_module(a):
    m = nn.PReLU(num_parameters=1, init=PRELU_INIT)
    if a is not None:
        with torch.no_grad():
            m.weight.copy_(a.reshape(1))
    return m


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation(
        lambda z, a: z, 1.0, lambda a: nn.Identity(), "linear",
        apply_into=_identity_forward, backward=lambda g, a, z, out: g),
    "sigmoid": Activation(
        lambda z, a: torch.sigmoid(z), 1.0, lambda a: nn.Sigmoid(), "saturating",
        apply_into=lambda z, out: torch.sigmoid(z, out=out),
        backward=lambda g, a, z, out: aten.sigmoid_backward.grad_input(g, a, grad_input=out), nonneg=True),
    "tanh": Activation(
        lambda z, a: torch.tanh(z), 5.0 / 3.0, lambda a: nn.Tanh(), "saturating",
        apply_into=lambda z, out: torch.tanh(z, out=out),
        backward=lambda g, a, z, out: aten.tanh_backward.grad_input(g, a, grad_input=out)),
    "relu": Activation(
        lambda z, a: torch.relu(z), math.sqrt(2.0), lambda a: nn.ReLU(), "relu",
        apply_into=lambda z, out: torch.clamp_min(z, 0.0, out=out),  # = torch.relu, NaN included
        backward=lambda g, a, z, out: aten.threshold_backward.grad_input(g, a, 0.0, grad_input=out), nonneg=True),
    "leaky_relu": Activation(
        lambda z, a: F.leaky_relu(z, LEAKY_SLOPE), math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)),
        lambda a: nn.LeakyReLU(LEAKY_SLOPE), "relu",
        apply_into=lambda z, out: aten.leaky_relu.out(z, LEAKY_SLOPE, out=out),
        backward=lambda g, a, z, out: aten.leaky_relu_backward.grad_input(g, a, LEAKY_SLOPE, True, grad_input=out),
        constants={"slope": LEAKY_SLOPE}),
    "prelu": Activation(_prelu, math.sqrt(2.0 / (1 + PRELU_INIT**2)), _prelu_module, "relu", has_param=True,
                        param_init=PRELU_INIT, constants={"slope_init": PRELU_INIT}),
    "elu": Activation(
        lambda z, a: F.elu(z), 1.0, lambda a: nn.ELU(), "smooth",
        apply_into=lambda z, out: aten.elu.out(z, 1.0, 1.0, 1.0, out=out),
        backward=lambda g, a, z, out: aten.elu_backward.grad_input(g, 1.0, 1.0, 1.0, False, z, grad_input=out),
        needs_z=True, constants={"alpha": 1.0}),
    "selu": Activation(
        lambda z, a: F.selu(z), 0.75, lambda a: nn.SELU(), "smooth",
        apply_into=lambda z, out: aten.elu.out(z, SELU_ALPHA, SELU_SCALE, 1.0, out=out),  # = F.selu
        backward=lambda g, a, z, out: aten.elu_backward.grad_input(g, SELU_ALPHA, SELU_SCALE, 1.0, False, z,
                                                                   grad_input=out),
        needs_z=True, constants={"alpha": SELU_ALPHA, "scale": SELU_SCALE}),
    "gelu": Activation(
        lambda z, a: F.gelu(z), math.sqrt(2.0), lambda a: nn.GELU(), "smooth",
        apply_into=_gelu_forward, backward=lambda g, a, z, out: aten.gelu_backward.grad_input(g, z, grad_input=out),
        needs_z=True),
    "maxout": Activation(lambda z, a: maxout(z, MAXOUT_K), 1.0, lambda a: Maxout(MAXOUT_K), "smooth", pieces=MAXOUT_K,
                         constants={"k": MAXOUT_K}),
}

# the rows with a hand-written forward and backward: the fused step and the statistics pass take these
HAND_WRITTEN: tuple[str, ...] = tuple(name for name, row in ACTIVATIONS.items() if row.backward is not None)
