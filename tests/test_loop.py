"""fit(): options of the loop itself (the population contract is in test_population_equivalence)."""
from __future__ import annotations

import math

import torch

from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer


def _run(val_at_init: bool):
    g = torch.Generator().manual_seed(0)
    x, xv = torch.randn(40, 2, generator=g), torch.randn(300, 2, generator=g)
    y, yv = (x.norm(dim=1) > 1).long(), (xv.norm(dim=1) > 1).long()
    pop = PopulationMLP.create([2, 5, 2], "tanh", [MemberInit(s, "normal", 0.5) for s in range(3)])
    opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.full((3,), 0.1)})
    return fit(pop, opt, (x, y), (xv, yv), TrainSpec(steps=20, eval_every=20, val_at_init=val_at_init))


def test_val_at_init_off_skips_only_the_step0_validation():
    """val_at_init=False leaves NaN in the step-0 validation metrics (that pass is skipped) and
    changes nothing else: the train metrics at step 0 and every final metric are identical."""
    on, off = _run(True).history, _run(False).history
    assert on.steps == off.steps == [0, 20]
    for name in ("val_loss", "val_acc"):
        assert all(math.isnan(v) for v in off.array(name)[0])
        assert not any(math.isnan(v) for v in on.array(name)[0])
        assert (on.array(name)[1] == off.array(name)[1]).all()
    for name in ("train_loss", "train_acc"):
        assert (on.array(name) == off.array(name)).all()
