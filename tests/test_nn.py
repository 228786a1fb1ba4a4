"""Inits against theory, activations, dropout semantics and member export."""
from __future__ import annotations

import math

import pytest
import torch

from trainlab.nn.activations import ACTIVATIONS
from trainlab.nn.init import INITS, init_weight
from trainlab.nn.population import MemberInit, PopulationMLP

FAN_IN, FAN_OUT = 400, 300

# scheme -> theoretical std of the weights (ReLU gain sqrt(2) for Kaiming)
THEORY = {
    "normal": 0.05,
    "uniform": 0.05 / math.sqrt(3),
    "xavier_normal": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "xavier_uniform": math.sqrt(2 / (FAN_IN + FAN_OUT)),
    "kaiming_normal": math.sqrt(2 / FAN_IN),
    "kaiming_uniform": math.sqrt(2 / FAN_IN),
    "lecun_normal": math.sqrt(1 / FAN_IN),
    "orthogonal": 1 / math.sqrt(FAN_IN),
    "torch_default": 1 / math.sqrt(3 * FAN_IN),
    "lsuv": 1 / math.sqrt(FAN_IN),
}


@pytest.mark.parametrize("scheme", list(THEORY))
def test_init_std_matches_theory(scheme):
    scale = 0.05 if scheme in ("normal", "uniform") else 1.0
    w = init_weight(FAN_IN, FAN_OUT, scheme, scale, math.sqrt(2), torch.Generator().manual_seed(0))
    assert w.shape == (FAN_OUT, FAN_IN)
    assert abs(w.std().item() / THEORY[scheme] - 1) < 0.03
    assert abs(w.mean().item()) < 0.01 * THEORY[scheme] * 10


def test_every_init_has_theory_or_is_constant():
    assert set(INITS) == set(THEORY) | {"zeros", "constant"}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_exported_module(name):
    pop = PopulationMLP.create([3, 8, 2], name, [MemberInit(0, "xavier_normal", 1.0)])
    x = torch.randn(5, 3)
    assert torch.allclose(pop(x)[0], pop.member(0)(x), atol=1e-6)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_inverted_expectation_and_eval_identity(p):
    pop = PopulationMLP.create([1000, 2], "identity", [MemberInit(s, "constant", 0.001) for s in range(4)],
                               p_input=torch.full((4,), p))
    x = torch.ones(200, 1000)
    train_out = torch.stack([pop(x, train=True, step=s) for s in range(5)])
    eval_out = pop(x)
    assert torch.allclose(eval_out, torch.full_like(eval_out, 1.0), atol=1e-5)  # identity in eval: sum of 1000 * 0.001
    assert abs(train_out.mean().item() - 1.0) < 0.01  # inverted scaling keeps the expectation
    keep = (pop(torch.eye(1000)[:1].expand(50, 1000), train=True, step=1)).ne(0).float().mean().item()
    assert abs(keep - (1 - p)) < 0.1


def test_dropout_masks_depend_only_on_member_seed():
    a = PopulationMLP.create([10, 5, 2], "relu", [MemberInit(s, "normal", 0.5) for s in (3, 9)], p_hidden=0.5)
    b = PopulationMLP.create([10, 5, 2], "relu", [MemberInit(9, "normal", 0.5)], p_hidden=0.5)
    x = torch.randn(7, 10)
    assert torch.equal(a(x, train=True, step=4)[1], b(x, train=True, step=4)[0])
    assert not torch.equal(a(x, train=True, step=4)[1], a(x, train=True, step=5)[1])


def test_member_export_is_plain_sequential():
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", [MemberInit(s, "normal", 0.5) for s in range(3)],
                               p_input=torch.tensor([0.0, 0.2, 0.0]), input_scale=torch.tensor([1.0, 1.0, 0.01]))
    seq = pop.member(1)
    assert isinstance(seq, torch.nn.Sequential) and isinstance(seq[0], torch.nn.Dropout)
    seq.eval()
    x = torch.randn(4, 2)
    assert torch.allclose(seq(x), pop(x)[1], atol=1e-6)
    assert torch.allclose(pop.member(2).eval()(x), pop(x)[2], atol=1e-6)
    with pytest.raises(IndexError):
        pop.member(3)


def test_same_seed_same_init_in_any_population():
    a = PopulationMLP.create([2, 6, 2], "tanh", [MemberInit(s, "xavier_uniform", 1.0) for s in range(5)])
    b = PopulationMLP.create([2, 6, 2], "tanh", [MemberInit(4, "xavier_uniform", 1.0)])
    assert torch.equal(a.weights[0][4], b.weights[0][0])
