"""The lab's plain-PyTorch modules (trainlab.lab_models) match the population engine.

For each module: build a population, load member k's initial weights into the plain module, train
both for 100 steps (the population with trainlab's loop, the module with torch.optim), and compare
every weight to 1e-4. The dropout net takes the population's own masks through ``masks=``.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from trainlab.lab_models import DeepNet, DropoutNet, ShallowNet, linears, load_member, population_masks
from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer

STEPS = 100
TOL = 1e-4


def _circles(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, 2.0)
    t = 2 * math.pi * torch.rand(n, generator=g)
    x = torch.stack([r * t.cos(), r * t.sin()], 1) + 0.15 * torch.randn(n, 2, generator=g)
    return x, (r > 1.5).long()


def _max_diff(module, pop: PopulationMLP, k: int) -> float:
    out = 0.0
    for layer, w, b in zip(linears(module), pop.weights, pop.biases):
        out = max(out, (layer.weight - w[k].t()).abs().max().item(), (layer.bias - b[k]).abs().max().item())
    return out


def _train_population(pop, kind, hp, x, y, steps: int = STEPS) -> None:
    dtype = pop.weights[0].dtype
    opt = PopulationOptimizer(kind, pop.parameters(), {k: torch.full((pop.K,), v, dtype=dtype) for k, v in hp.items()})
    fit(pop, opt, (x, y), None, TrainSpec(steps=steps, eval_every=steps))


# The dropout net: 100 AdamW steps in float64, as the deep net. Measured 2026-11-29: in float32 the
# largest weight difference after 100 steps is 9.0e-4 for rates (0.2, 0.5) (4.9e-6 for (0, 0.5)): Adam
# divides each gradient by its own running scale, so rounding-sized gradients of dropped units become
# lr-sized steps; in float64 it is 1.3e-7 (2.3e-9). Float32, the dtype the studies train in, is also
# checked over 10 steps (5.0e-5). A wrong mask, scale or site differs by about the lr (3e-4) at step 1.
DROPOUT_CASES = [(torch.float64, STEPS), (torch.float32, 10)]


def test_shallow_net_matches_population():
    sigmas = [0.1, 0.5, 2.0]
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", [MemberInit(s, "normal", sg) for s, sg in enumerate(sigmas)],
                               run_seed=3)
    nets = [load_member(ShallowNet(sg), pop, k) for k, sg in enumerate(sigmas)]
    x, y = _circles(100)
    _train_population(pop, "sgd", {"lr": 0.1}, x, y)
    for k, net in enumerate(nets):
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(STEPS):
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
        assert _max_diff(net, pop, k) < TOL, f"sigma {sigmas[k]}"


def test_shallow_net_init_is_normal_with_std_sigma():
    torch.manual_seed(0)
    net = ShallowNet(0.5, sizes=(2, 400, 400, 2))
    w = net.layers[1].weight
    assert abs(w.std().item() - 0.5) < 0.01 and net.layers[1].bias.abs().max().item() == 0.0


@pytest.mark.parametrize("activation,init", [("relu", "kaiming_normal"), ("tanh", "xavier_normal")])
def test_deep_net_matches_population_and_collects_stats(activation, init):
    """In float64: 100 momentum steps of a 20-layer net amplify rounding differences. Measured with He +
    ReLU in float32: 3e-8 after one step, 4e-6 at step 30, 7e-3 at step 100; in float64 4e-6 at step 100.
    (He + tanh sits in tanh's chaotic phase, gain 5/3: even float64 drifts to 3e-3, so tanh is tested with
    Glorot, where float64 agrees to 2e-8.) The gradients themselves agree to 1e-15 in float64."""
    sizes = [2] + [100] * 20 + [2]
    inits = [MemberInit(s, init, 1.0, "zeros", 0.0) for s in (0, 1)]
    pop = PopulationMLP.create(sizes, activation, inits, run_seed=1)
    pop.weights, pop.biases = [w.double() for w in pop.weights], [b.double() for b in pop.biases]
    k = 1
    net = load_member(DeepNet(20, 100, activation=activation, init=init.replace("kaiming", "he")).double(), pop, k)
    x, y = _circles(100, seed=1)
    x = x.double()
    with torch.no_grad():
        net(x)
    assert len(net.stats) == 20 and all(m > 0 and s > 0 for m, s in net.stats)
    h = x
    for w in pop.weights[:-1]:  # the same statistic straight from the population's weights
        h = (torch.relu if activation == "relu" else torch.tanh)(h @ w[k])
    assert math.isclose(net.stats[-1][0], h.abs().mean().item(), rel_tol=1e-5)
    _train_population(pop, "momentum", {"lr": 0.01, "momentum": 0.9}, x, y)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for _ in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    assert _max_diff(net, pop, k) < TOL


@pytest.mark.parametrize("dtype,steps", DROPOUT_CASES)
def test_dropout_net_with_population_masks_matches_population(dtype: torch.dtype, steps: int):
    sizes, rates = [784, 800, 800, 10], [(0.2, 0.5), (0.0, 0.5)]
    inits = [MemberInit(s, "normal", 0.1, "zeros", 0.0) for s in range(len(rates))]
    pop = PopulationMLP.create(sizes, "relu", inits, run_seed=2, p_input=torch.tensor([r[0] for r in rates]),
                               p_hidden=torch.tensor([r[1] for r in rates]))
    pop.weights, pop.biases = [w.to(dtype) for w in pop.weights], [b.to(dtype) for b in pop.biases]
    nets = [load_member(DropoutNet(*r).to(dtype), pop, k) for k, r in enumerate(rates)]
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 784, generator=g).to(dtype), torch.randint(0, 10, (64,), generator=g)
    masks = [[[None if m is None else m.to(dtype) for m in population_masks(pop, k, s, x.shape[0])]
              for s in range(steps)] for k in range(pop.K)]
    _train_population(pop, "adamw", {"lr": 3e-4, "weight_decay": 0.01}, x, y, steps)
    for k, net in enumerate(nets):
        opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=0.01)
        net.train()
        for s in range(steps):
            opt.zero_grad()
            F.cross_entropy(net(x, masks[k][s]), y).backward()
            opt.step()
        assert _max_diff(net, pop, k) < TOL, f"rates {rates[k]}"


def test_mc_predict_averages_logits_over_passes():
    torch.manual_seed(0)
    net = DropoutNet(0.2, 0.5, sizes=(20, 30, 30, 4))
    x = torch.randn(16, 20)
    masks = [[(torch.rand(16, w) > p).float() for w, p in ((20, 0.2), (30, 0.5), (30, 0.5))] for _ in range(7)]
    net.eval()
    pred = net.mc_predict(x, 7, masks)
    assert not net.training  # the mode it was in is restored
    with torch.no_grad():
        net.train()
        mean = sum(net(x, m) for m in masks) / 7
    assert torch.equal(pred, mean.argmax(-1))
