"""Variance propagation: the predicted pre-activation variance of every layer of a deep MLP.

For a layer z_{l+1} = a_l W + b with iid zero-mean weights of variance w_var and zero biases,

    E[z_{l+1}^2] = fan_in * w_var * E[a_l^2]          (exact in expectation over the weights)

and with z_l ~ N(0, q_l) (the mean-field assumption: a sum of fan_in independent terms),
E[a_l^2] = M(q_l) = E[f(z)^2]. M has closed forms for ReLU (q/2), leaky ReLU ((1+s^2) q/2) and
identity (q); for the other activations it is computed by Gaussian quadrature, so tanh,
sigmoid (whose E[a^2] includes its mean 0.5^2), ELU, SELU and GELU are covered too.

The input's scale differs from sample to sample (the circles data has an inner and an outer ring),
and through a nonlinearity the mean of M over samples is not M of the mean. So q is propagated per
input sample (a set of quantiles of ||x||^2/d) and the prediction is its mean over samples.

Where it does not apply (reported with the numbers, see ``theory_note``):
- LSUV: the weights are rescaled on data, so there is nothing to predict (std 1 by construction);
- orthogonal: rows are not independent; for a square layer ||Wa|| = ||a|| exactly and the iid
  formula holds with w_var = 1/max(fan_in, fan_out), but z is only approximately Gaussian;
- finite width: the measured variance of one network fluctuates around the mean-field value, and
  the fluctuations compound multiplicatively with depth (about sqrt(depth/width) in log-variance);
- float32 range: beyond ~3e38 the measurement overflows while the float64 prediction goes on.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from trainlab.nn.activations import ACTIVATIONS, LEAKY_SLOPE

N_NODES = 64  # Gauss-Legendre nodes per half line
U_MAX = 12.0  # integrate the standard normal over [-12, 12]: the tails beyond hold < 1e-32
N_QUANTILES = 257  # input-scale quantiles propagated per layer


def _half_line_rule() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[g(u)], u ~ N(0, 1): Gauss-Legendre on [-U_MAX, 0] and [0, U_MAX].

    Split at 0 because ReLU, leaky ReLU and SELU have a kink there: plain Gauss-Hermite converges
    slowly across a kink (SELU's slope jumps from 1.76 to 1.05), each half is smooth.
    """
    x, w = np.polynomial.legendre.leggauss(N_NODES)
    u = (x + 1.0) * (U_MAX / 2.0)
    wu = w * (U_MAX / 2.0) * np.exp(-u * u / 2.0) / math.sqrt(2.0 * math.pi)
    return np.concatenate([-u[::-1], u]), np.concatenate([wu[::-1], wu])


_NODES, _WEIGHTS = _half_line_rule()


def _gauss(activation: str, power: int) -> Callable[[np.ndarray], np.ndarray]:
    """E[f(z)^power] for z ~ N(0, q), by quadrature (``_half_line_rule``), per entry of q."""
    apply = ACTIVATIONS[activation].apply

    def moment(q: np.ndarray) -> np.ndarray:
        z = np.sqrt(q)[:, None] * _NODES[None, :]
        with np.errstate(over="ignore", invalid="ignore"):
            fz = apply(torch.from_numpy(z), None).numpy()
            return (fz**power) @ _WEIGHTS

    return moment


_SMOOTH = ("tanh", "sigmoid", "elu", "selu", "gelu")
_RELU_MEAN = 1.0 / math.sqrt(2.0 * math.pi)  # E[relu(z)] = sqrt(q) / sqrt(2 pi)

# E[f(z)^2] for z ~ N(0, q): closed forms where exact, quadrature otherwise
SECOND_MOMENT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda q: q,
    "relu": lambda q: q / 2.0,
    "leaky_relu": lambda q: (1.0 + LEAKY_SLOPE**2) * q / 2.0,
    **{name: _gauss(name, 2) for name in _SMOOTH},
}

# E[f(z)] for z ~ N(0, q): with the second moment it gives the predicted std of the activations
FIRST_MOMENT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda q: np.zeros_like(q),
    "relu": lambda q: np.sqrt(q) * _RELU_MEAN,
    "leaky_relu": lambda q: (1.0 - LEAKY_SLOPE) * np.sqrt(q) * _RELU_MEAN,
    **{name: _gauss(name, 1) for name in _SMOOTH},
}


# weight variance of each init scheme, (fan_in, fan_out, activation gain) -> w_var; None: no iid theory
INIT_VARIANCE: dict[str, Callable[[int, int, float], Optional[float]]] = {
    "normal": lambda fi, fo, g: 1.0,  # N(0, 1): the lab's naive init
    "xavier_normal": lambda fi, fo, g: 2.0 / (fi + fo),
    "xavier_uniform": lambda fi, fo, g: 2.0 / (fi + fo),
    "kaiming_normal": lambda fi, fo, g: g * g / fi,
    "kaiming_uniform": lambda fi, fo, g: g * g / fi,
    "lecun_normal": lambda fi, fo, g: 1.0 / fi,
    "orthogonal": lambda fi, fo, g: 1.0 / max(fi, fo),
    "lsuv": lambda fi, fo, g: None,
}

THEORY_NOTES: dict[str, str] = {
    "lsuv": "not predicted: LSUV rescales each layer on data, so std 1 holds by construction, not by theory",
    "orthogonal": "weights are not iid: the second-moment formula holds with w_var = 1/max(fan_in, fan_out) "
                  "(exactly for square layers), the Gaussian shape of z is an approximation",
}


def input_scales(x: torch.Tensor, n: int = N_QUANTILES) -> np.ndarray:
    """Quantiles of the per-sample input second moment ||x||^2 / d (the q_0 of each sample)."""
    q0 = (x.double() ** 2).mean(dim=1).numpy()
    return np.quantile(q0, np.linspace(0.0, 1.0, n)) if q0.size > n else q0


def predict(init: str, activation: str, widths: list[int], x: torch.Tensor,
            w_scale: float = 1.0) -> Optional[dict[str, list[float]]]:
    """Predicted ``preact_var`` (Var z_l) and ``act_std`` (std of a_l) for hidden layers 1..L.

    ``widths`` = [d, h_1, ..., h_L]; ``w_scale`` multiplies the weight std (the init's scale: 1
    for N(0, 1)). None where the init has no iid theory (LSUV). Values past float64 become inf.
    The variances are over all samples and units, as measured: per-sample moments are averaged.
    """
    var_of = INIT_VARIANCE[init]
    gain = ACTIVATIONS[activation].gain
    second, first = SECOND_MOMENT[activation], FIRST_MOMENT[activation]
    ea2 = input_scales(x)  # E[a_0^2] per sample: the input itself
    preact, act_std = [], []
    for fi, fo in zip(widths[:-1], widths[1:]):
        w_var = var_of(fi, fo, gain)
        if w_var is None:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            q = fi * w_var * w_scale**2 * ea2
            ea2 = second(q)
            preact.append(float(np.mean(q)))
            act_std.append(float(np.sqrt(max(np.mean(ea2) - np.mean(first(q)) ** 2, 0.0))))
    return {"preact_var": preact, "act_std": act_std}


def ratio(measured: list[Optional[float]], predicted: Optional[list[float]]) -> Optional[list[Optional[float]]]:
    """measured / predicted per layer; None where either side is missing, zero or not finite."""
    if predicted is None:
        return None
    out: list[Optional[float]] = []
    for m, p in zip(measured, predicted):
        ok = m is not None and p is not None and math.isfinite(m) and math.isfinite(p) and p > 0
        out.append(m / p if ok else None)
    return out
