"""Population training equals training each member alone with torch.optim, and members stay independent."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer

SIZES = [2, 6, 3, 2]
SEEDS = [0, 1, 2, 3]
SCALES = [0.3, 0.5, 0.8, 1.2]
LRS = [0.05, 0.1, 0.02, 0.08]


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x.norm(dim=1) > 1.1).long()
    return x, y


# name -> (population hyperparameters except lr, torch optimizer factory for one member with lr)
OPTIMS = {
    "sgd": ({}, lambda p, lr: torch.optim.SGD(p, lr=lr)),
    "momentum": ({"momentum": 0.9}, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    "nesterov": ({"momentum": 0.9}, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True)),
    "rmsprop": ({}, lambda p, lr: torch.optim.RMSprop(p, lr=lr / 10)),
    "adam": ({}, lambda p, lr: torch.optim.Adam(p, lr=lr / 10)),
    "adamw": ({"weight_decay": 0.05}, lambda p, lr: torch.optim.AdamW(p, lr=lr / 10, weight_decay=0.05)),
    "sgd_wd": ({"weight_decay": 0.01}, lambda p, lr: torch.optim.SGD(p, lr=lr, weight_decay=0.01)),
    "adam_l2": ({"weight_decay": 0.01}, lambda p, lr: torch.optim.Adam(p, lr=lr / 10, weight_decay=0.01)),
}
LR_DIV = {"rmsprop": 10, "adam": 10, "adamw": 10, "adam_l2": 10}


def _population(seeds=SEEDS, scales=SCALES):
    inits = [MemberInit(s, "normal", sc) for s, sc in zip(seeds, scales)]
    return PopulationMLP.create(SIZES, "relu", inits, run_seed=7)


@pytest.mark.parametrize("name", list(OPTIMS))
def test_member_matches_torch_optim(name):
    hp_extra, make_torch = OPTIMS[name]
    kind = name.split("_")[0]
    div = LR_DIV.get(name, 1)
    pop = _population()
    solos = [pop.member(k) for k in range(pop.K)]  # same initial weights
    lrs = torch.tensor(LRS) / div
    hp = {"lr": lrs} | {k: torch.full((4,), v) for k, v in hp_extra.items()}
    opt = PopulationOptimizer(kind, pop.parameters(), hp)
    x, y = _data()
    fit(pop, opt, (x, y), None, TrainSpec(steps=100, eval_every=100))
    for k, solo in enumerate(solos):
        topt = make_torch(solo.parameters(), LRS[k])
        for _ in range(100):
            topt.zero_grad()
            nn.functional.cross_entropy(solo(x), y).backward()
            topt.step()
        ref = pop.member(k)
        for (n1, a), (n2, b) in zip(solo.state_dict().items(), ref.state_dict().items()):
            assert (a - b).abs().max().item() < 1e-4, f"{name} member {k} {n1}"


def test_sgd_l2_penalty_equals_torch_weight_decay():
    """An L2 penalty l2/2*||W||^2 in the loss equals torch SGD weight_decay on the weights."""
    pop = _population()
    solos = [pop.member(k) for k in range(pop.K)]
    opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.tensor(LRS)})
    x, y = _data()
    l2 = torch.full((4,), 0.03)
    fit(pop, opt, (x, y), None, TrainSpec(steps=50, eval_every=50, l2=l2))
    for k, solo in enumerate(solos):
        weights = [p for n, p in solo.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in solo.named_parameters() if n.endswith("bias")]
        topt = torch.optim.SGD([{"params": weights, "weight_decay": 0.03}, {"params": biases}], lr=LRS[k])
        for _ in range(50):
            topt.zero_grad()
            nn.functional.cross_entropy(solo(x), y).backward()
            topt.step()
        for a, b in zip(solo.state_dict().values(), pop.member(k).state_dict().values()):
            assert (a - b).abs().max().item() < 1e-5


def test_membership_independence_k1_vs_k8():
    """A member alone (K=1) and inside a population of 8 ends with the same weights."""
    seeds = list(range(8))
    big = PopulationMLP.create(SIZES, "relu", [MemberInit(s, "normal", 0.5) for s in seeds], run_seed=3,
                               p_hidden=torch.full((8,), 0.2))
    alone = PopulationMLP.create(SIZES, "relu", [MemberInit(5, "normal", 0.5)], run_seed=3, p_hidden=torch.tensor([0.2]))
    x, y = _data(100)
    spec = TrainSpec(steps=60, batch_size=16, eval_every=30)
    fit(big, PopulationOptimizer("momentum", big.parameters(), {"lr": torch.full((8,), 0.05)}), (x, y), None, spec)
    fit(alone, PopulationOptimizer("momentum", alone.parameters(), {"lr": torch.tensor([0.05])}), (x, y), None, spec)
    for a, b in zip(big.parameters(), alone.parameters()):
        assert (a[5] - b[0]).abs().max().item() < 1e-5


def test_isolation_nan_member_frozen_others_bit_identical():
    """NaN injected into member 2 at step 10: it is frozen and reported; the others are bit-identical."""
    x, y = _data()

    class Inject:
        def on_step_end(self, state):
            if state.step == 10:
                state.model.weights[0][2, 0, 0] = float("nan")

    runs = []
    for cbs in ([], [Inject()]):
        pop = _population()
        opt = PopulationOptimizer("adam", pop.parameters(), {"lr": torch.full((4,), 0.01)})
        runs.append(fit(pop, opt, (x, y), None, TrainSpec(steps=40, eval_every=10), callbacks=cbs))
    healthy, broken = runs
    assert list(broken.frozen) == [2]
    assert broken.frozen[2]["step"] == 10 and "nan" in broken.frozen[2]["message"]
    assert not healthy.frozen
    for a, b in zip(healthy.model.parameters(), broken.model.parameters()):
        for k in (0, 1, 3):
            assert torch.equal(a[k], b[k])
    assert math.isnan(broken.history.array("train_loss")[-1, 2])


def test_determinism_bit_identical():
    outs = []
    for _ in range(2):
        pop = PopulationMLP.create(SIZES, "relu", [MemberInit(s, "normal", 0.5) for s in SEEDS], run_seed=1,
                                   p_input=torch.full((4,), 0.1))
        opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.full((4,), 0.1)})
        x, y = _data()
        outs.append(fit(pop, opt, (x, y), (x, y), TrainSpec(steps=30, batch_size=8, eval_every=10)))
    for key in outs[0].history.metrics:
        assert (outs[0].history.array(key) == outs[1].history.array(key)).all()


def test_chunking_changes_nothing():
    full = _population()
    x, y = _data()
    fit(full, PopulationOptimizer("sgd", full.parameters(), {"lr": torch.tensor(LRS)}), (x, y), None,
        TrainSpec(steps=30, eval_every=30))
    parts = []
    for idx in ([0, 1], [2, 3]):
        part = _population().select(idx)
        fit(part, PopulationOptimizer("sgd", part.parameters(), {"lr": torch.tensor(LRS)[idx]}), (x, y), None,
            TrainSpec(steps=30, eval_every=30))
        parts.append(part)
    joined = PopulationMLP.concat(parts)
    for a, b in zip(full.parameters(), joined.parameters()):
        assert (a - b).abs().max().item() < 1e-6
