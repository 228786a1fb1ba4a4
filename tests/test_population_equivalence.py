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


# ---- corner cases: zero gradients and weight_decay > 0, every optimizer, per-member values ----------
# name -> (per-member hyperparameters of a population of 3, torch optimizer for member k)
CORNER_HP = {
    "sgd": ({"lr": [0.1, 0.05, 0.2], "weight_decay": [0.01, 0.1, 0.0]},
            lambda p, h: torch.optim.SGD(p, lr=h["lr"], weight_decay=h["weight_decay"])),
    "momentum": ({"lr": [0.1, 0.05, 0.2], "momentum": [0.9, 0.5, 0.0], "weight_decay": [0.01, 0.1, 0.05]},
                 lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"])),
    "nesterov": ({"lr": [0.1, 0.05, 0.2], "momentum": [0.9, 0.5, 0.7], "weight_decay": [0.01, 0.1, 0.05]},
                 lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"], nesterov=True,
                                              weight_decay=h["weight_decay"])),
    "rmsprop": ({"lr": [0.01, 0.003, 0.02], "alpha": [0.99, 0.9, 0.95], "eps": [1e-8, 1e-6, 1e-4],
                 "momentum": [0.0, 0.9, 0.5], "weight_decay": [0.01, 0.1, 0.0]},
                lambda p, h: torch.optim.RMSprop(p, lr=h["lr"], alpha=h["alpha"], eps=h["eps"], momentum=h["momentum"],
                                                 weight_decay=h["weight_decay"])),
    "adam": ({"lr": [0.01, 0.003, 0.02], "beta1": [0.9, 0.5, 0.0], "beta2": [0.999, 0.9, 0.99],
              "eps": [1e-8, 1e-6, 1e-3], "weight_decay": [0.01, 0.1, 0.0]},
             lambda p, h: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                                           weight_decay=h["weight_decay"])),
    "adamw": ({"lr": [0.01, 0.003, 0.02], "beta1": [0.9, 0.5, 0.0], "beta2": [0.999, 0.9, 0.99],
               "eps": [1e-8, 1e-6, 1e-3], "weight_decay": [0.01, 0.1, 0.5]},
              lambda p, h: torch.optim.AdamW(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                                             weight_decay=h["weight_decay"])),
}
# per step, which gradients are zero: "all" (every tensor of every member), a member, one tensor of all
ZERO_PLAN = ["none", "all", "none", "member1", "tensor0", "none", "all", "all", "none", "member0"]


def _corner_grads(step: int, shapes, g: torch.Generator) -> list[torch.Tensor]:
    grads = [torch.randn(s, generator=g) for s in shapes]
    what = ZERO_PLAN[step]
    for i, gr in enumerate(grads):
        if what == "all" or (what == "tensor0" and i == 0):
            gr.zero_()
        elif what.startswith("member"):
            gr[int(what[-1])] = 0.0
    return grads


def test_every_optimizer_row_has_a_corner_case():
    from trainlab.optim import OPTIMIZERS

    assert set(CORNER_HP) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(CORNER_HP))
def test_zero_gradients_and_weight_decay_match_torch_optim_per_member(name):
    """Steps with all-zero gradients (whole population, one member, one tensor), weight_decay > 0 and
    every hyperparameter different per member: member k equals torch.optim on its own tensors."""
    hp_lists, make_torch = CORNER_HP[name]
    shapes = [(3, 4, 5), (3, 5)]
    g = torch.Generator().manual_seed(11)
    start = [torch.randn(s, generator=g) for s in shapes]
    opt = PopulationOptimizer(name, [p.clone() for p in start], {k: torch.tensor(v) for k, v in hp_lists.items()})
    solos = [[p[k].clone().requires_grad_(True) for p in start] for k in range(3)]
    topts = [make_torch(solos[k], {key: v[k] for key, v in hp_lists.items()}) for k in range(3)]
    params = [p.clone() for p in start]
    for step in range(len(ZERO_PLAN)):
        grads = _corner_grads(step, shapes, g)
        params = opt.step(params, grads)
        for k in range(3):
            for p, gr in zip(solos[k], grads):
                p.grad = gr[k].clone()
            topts[k].step()
    for k in range(3):
        for p, solo in zip(params, solos[k]):
            assert torch.allclose(p[k], solo.detach(), rtol=1e-5, atol=1e-6), f"{name} member {k}"
    decayed = [h for h in hp_lists["weight_decay"] if h > 0]
    assert decayed, "the corner needs weight_decay > 0"


@pytest.mark.parametrize("name,make_torch", [
    ("adam", lambda p: torch.optim.Adam(p, lr=3e-3, weight_decay=0.01)),
    ("adamw", lambda p: torch.optim.AdamW(p, lr=3e-3, weight_decay=0.05)),
])
def test_shared_hyperparameters_take_the_fused_adam_path(name, make_torch):
    """Members sharing every hyperparameter step through torch's fused kernel and still equal
    torch.optim per member, also after a member is frozen (it steps with the others and is put back)."""
    wd = 0.01 if name == "adam" else 0.05
    shapes = [(3, 4, 5), (3, 5)]
    g = torch.Generator().manual_seed(3)
    start = [torch.randn(s, generator=g) for s in shapes]
    opt = PopulationOptimizer(name, [p.clone() for p in start], {"lr": torch.full((3,), 3e-3),
                                                                 "weight_decay": torch.full((3,), wd)})
    solos = [[p[k].clone().requires_grad_(True) for p in start] for k in range(3)]
    topts = [make_torch(solos[k]) for k in range(3)]
    params, paths = [p.clone() for p in start], []
    for step in range(12):
        grads = [torch.randn(s, generator=g) for s in shapes]
        alive = torch.tensor([True, step < 6, True])  # member 1 frozen from step 6 on
        params = opt.step(params, grads, alive)
        paths.append(opt.last_path)
        for k in range(3):
            if bool(alive[k]):
                for p, gr in zip(solos[k], grads):
                    p.grad = gr[k].clone()
                topts[k].step()
    assert paths == ["fused"] * 12
    for k in range(3):
        for p, solo in zip(params, solos[k]):
            assert torch.allclose(p[k], solo.detach(), rtol=1e-5, atol=1e-6), f"{name} member {k}"


def test_different_learning_rates_take_the_general_path():
    opt = PopulationOptimizer("adamw", [torch.zeros(2, 3)], {"lr": torch.tensor([1e-3, 2e-3])})
    opt.step([torch.zeros(2, 3)], [torch.ones(2, 3)])
    assert opt.last_path == "general"
