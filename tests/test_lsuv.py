"""LSUV (trainlab.nn.lsuv): every linear layer's output std lands within tol of 1, per member."""
from __future__ import annotations

import pytest
import torch

from trainlab.nn.activations import ACTIVATIONS
from trainlab.nn.init import init_weight
from trainlab.nn.lsuv import lsuv_, output_stds
from trainlab.rng import member_generator


def _orthonormal_population(widths: list[int], activation: str, k: int, bias: float):
    """INITS['lsuv'] (orthonormal) weights as (K, fan_in, fan_out), one generator per member."""
    gain = ACTIVATIONS[activation].gain
    ws, bs = [], []
    gens = [member_generator(7, m, "init") for m in range(k)]
    for fi, fo in zip(widths[:-1], widths[1:]):
        ws.append(torch.stack([init_weight(fi, fo, "lsuv", 1.0, gain, g).T for g in gens]))
        bs.append(torch.full((k, fo), bias))
    return ws, bs


CASES = [
    # activation, widths, bias, input scale (far from 1 on purpose), tol
    ("relu", [2] + [64] * 8 + [2], 0.0, 3.0, 0.1),
    ("tanh", [16] + [64] * 8 + [3], 0.0, 0.01, 0.1),
    ("sigmoid", [16] + [48] * 6 + [2], 0.2, 5.0, 0.1),
    ("selu", [16] + [64] * 6 + [2], 0.0, 1.0, 0.05),
    ("gelu", [8] + [64] * 6 + [2], 0.5, 2.0, 0.1),
    ("identity", [16] + [32] * 10 + [2], 0.0, 10.0, 0.02),
    ("leaky_relu", [2] + [64] * 8 + [2], 0.3, 1.0, 0.1),
    ("elu", [16] + [64] * 6 + [2], 0.0, 0.1, 0.1),
]


@pytest.mark.parametrize("activation,widths,bias,scale,tol", CASES)
def test_every_layer_output_std_within_tol_of_one(activation, widths, bias, scale, tol):
    k = 3
    ws, bs = _orthonormal_population(widths, activation, k, bias)
    x = torch.randn(512, widths[0], generator=torch.Generator().manual_seed(0)) * scale
    before = output_stds(ws, bs, activation, x)
    rounds = lsuv_(ws, bs, activation, x, tol=tol)
    after = output_stds(ws, bs, activation, x)
    assert len(rounds) == len(ws) and all(0 <= r <= 10 for r in rounds)
    assert torch.all((after - 1.0).abs() <= tol), f"{activation}: stds {after}"
    assert (before - 1.0).abs().max() > tol  # the case needed calibrating: the test can fail
    assert max(rounds) >= 1


def test_members_are_calibrated_independently():
    widths = [8] + [32] * 5 + [2]
    ws, bs = _orthonormal_population(widths, "tanh", 3, 0.1)
    ws_single = [w[1:2].clone() for w in ws]
    bs_single = [b[1:2].clone() for b in bs]
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(1)) * 4.0
    lsuv_(ws, bs, "tanh", x)
    lsuv_(ws_single, bs_single, "tanh", x)
    for w, w1 in zip(ws, ws_single):
        torch.testing.assert_close(w[1:2], w1)


def test_dead_layer_is_left_alone_not_divided_by_zero():
    widths = [4, 16, 16, 2]
    ws, bs = _orthonormal_population(widths, "relu", 1, 0.0)
    bs[0].fill_(-100.0)  # every unit of layer 1 is dead: layer 2 sees zeros
    x = torch.randn(64, 4)
    lsuv_(ws, bs, "relu", x)
    assert all(torch.isfinite(w).all() for w in ws)


def test_bad_arguments_are_refused():
    ws, bs = _orthonormal_population([4, 8, 2], "relu", 1, 0.0)
    with pytest.raises(ValueError, match="unknown activation"):
        lsuv_(ws, bs, "rleu", torch.randn(8, 4))
    with pytest.raises(ValueError, match="tol"):
        lsuv_(ws, bs, "relu", torch.randn(8, 4), tol=0.0)
