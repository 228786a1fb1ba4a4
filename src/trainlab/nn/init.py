"""Weight-init schemes, as a table.

Each scheme fills one member's weight, laid out like ``nn.Linear.weight`` as (fan_out, fan_in),
from that member's own generator. The table ``INITS`` is the single source of truth: config
validation, the CLI and the docs all read it. Adding a scheme is one function plus one row.

Every scheme takes ``scale``: the member's std (normal), bound (uniform), value (constant) or a
gain multiplier (the others). That is what a population varies per member.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import init as tinit


@dataclass(frozen=True)
class InitScheme:
    """One row of the table: the filler, what ``scale`` means, and whether it needs data."""

    fill: Callable[[torch.Tensor, torch.Generator, float, float], None]  # (w, gen, scale, act_gain)
    scale_means: str  # "std", "bound", "value" or "gain multiplier"
    default_scale: float
    doc: str
    needs_data: bool = False


def _normal(w, g, scale, act_gain):
    tinit.normal_(w, 0.0, scale, generator=g)


def _uniform(w, g, scale, act_gain):
    tinit.uniform_(w, -scale, scale, generator=g)


def _xavier_normal(w, g, scale, act_gain):
    tinit.xavier_normal_(w, gain=scale, generator=g)


def _xavier_uniform(w, g, scale, act_gain):
    tinit.xavier_uniform_(w, gain=scale, generator=g)


def _kaiming_std(w: torch.Tensor, act_gain: float) -> float:
    fan_in = w.shape[1]
    return act_gain / math.sqrt(fan_in)


def _kaiming_normal(w, g, scale, act_gain):
    # fan_in mode with the activation's gain (He et al. 2015)
    tinit.normal_(w, 0.0, scale * _kaiming_std(w, act_gain), generator=g)


def _kaiming_uniform(w, g, scale, act_gain):
    bound = math.sqrt(3.0) * scale * _kaiming_std(w, act_gain)
    tinit.uniform_(w, -bound, bound, generator=g)


def _lecun_normal(w, g, scale, act_gain):
    tinit.normal_(w, 0.0, scale / math.sqrt(w.shape[1]), generator=g)


def _orthogonal(w, g, scale, act_gain):
    tinit.orthogonal_(w, gain=scale, generator=g)


def _zeros(w, g, scale, act_gain):
    w.zero_()


def _constant(w, g, scale, act_gain):
    w.fill_(scale)


def _torch_default(w, g, scale, act_gain):
    # nn.Linear's own init ("original heuristic"): kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in))
    tinit.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
    if scale != 1.0:
        w.mul_(scale)


INITS: dict[str, InitScheme] = {
    "normal": InitScheme(_normal, "std", 0.1, "N(0, std^2): std is the standard deviation"),
    "uniform": InitScheme(_uniform, "bound", 0.1, "U(-a, a)"),
    "xavier_normal": InitScheme(_xavier_normal, "gain multiplier", 1.0, "Glorot normal: std = gain*sqrt(2/(fan_in+fan_out))"),
    "xavier_uniform": InitScheme(_xavier_uniform, "gain multiplier", 1.0, "Glorot uniform: bound = gain*sqrt(6/(fan_in+fan_out))"),
    "kaiming_normal": InitScheme(_kaiming_normal, "gain multiplier", 1.0, "He normal: std = act_gain/sqrt(fan_in)"),
    "kaiming_uniform": InitScheme(_kaiming_uniform, "gain multiplier", 1.0, "He uniform: bound = sqrt(3)*act_gain/sqrt(fan_in)"),
    "lecun_normal": InitScheme(_lecun_normal, "gain multiplier", 1.0, "LeCun normal: std = 1/sqrt(fan_in)"),
    "orthogonal": InitScheme(_orthogonal, "gain multiplier", 1.0, "orthogonal matrix (Saxe et al. 2013) times gain"),
    "zeros": InitScheme(_zeros, "value", 0.0, "all zeros (breaks symmetry: a failure to study)"),
    "constant": InitScheme(_constant, "value", 0.1, "every weight the same value (symmetric)"),
    "torch_default": InitScheme(_torch_default, "gain multiplier", 1.0, "PyTorch's nn.Linear default, U(+-1/sqrt(fan_in)) ('original heuristic')"),
    "lsuv": InitScheme(_orthogonal, "gain multiplier", 1.0, "LSUV (Mishkin & Matas 2015): orthogonal, then rescaled per layer on a data batch", needs_data=True),
}

# aliases users type; they resolve to a table row
INIT_ALIASES = {"glorot_normal": "xavier_normal", "glorot_uniform": "xavier_uniform", "he_normal": "kaiming_normal",
                "he_uniform": "kaiming_uniform", "lecun": "lecun_normal", "default": "torch_default",
                "original": "torch_default", "zero": "zeros"}


def _bias_zeros(b, g, scale, fan_in):
    b.zero_()


def _bias_constant(b, g, scale, fan_in):
    b.fill_(scale)


def _bias_normal(b, g, scale, fan_in):
    tinit.normal_(b, 0.0, scale, generator=g)


def _bias_torch_default(b, g, scale, fan_in):
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    tinit.uniform_(b, -bound, bound, generator=g)


BIAS_INITS: dict[str, Callable] = {
    "zeros": _bias_zeros,
    "constant": _bias_constant,
    "normal": _bias_normal,
    "torch_default": _bias_torch_default,
}


def resolve_init(name: str) -> str:
    """The table key for a scheme name or alias."""
    return INIT_ALIASES.get(name, name)


def init_weight(fan_in: int, fan_out: int, scheme: str, scale: float, act_gain: float, g: torch.Generator) -> torch.Tensor:
    """One member's weight as (fan_out, fan_in), like ``nn.Linear.weight``."""
    w = torch.empty(fan_out, fan_in)
    INITS[resolve_init(scheme)].fill(w, g, float(scale), float(act_gain))
    return w


def init_bias(fan_in: int, fan_out: int, scheme: str, scale: float, g: torch.Generator) -> torch.Tensor:
    """One member's bias, (fan_out,)."""
    b = torch.empty(fan_out)
    BIAS_INITS[scheme](b, g, float(scale), fan_in)
    return b
