"""Regularizers (trainlab.regularize): max-norm's per-member bound holds after every step, and L1
leaves far more near-zero weights than L2 at the same strength."""
from __future__ import annotations

import pytest
import torch

from trainlab.config import build_config
from trainlab.members import resolve_members
from trainlab.regularize import max_norm_
from trainlab.runner import load_data, run_population

NEAR_ZERO = 1e-3  # |w| < NEAR_ZERO * max|w|: the (and the regularization study's) measure


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(population: dict, steps: int = 200, **extra) -> object:
    raw = {"data": {"name": "moons", "n_train": 50, "n_val": 100, "params": {"noise": 0.3}},
           "model": {"hidden": [32, 32], "init": {"scheme": "kaiming_normal"}},
           "optim": {"name": "sgd", "lr": 0.1}, "train": {"steps": steps, "eval_every": steps},
           "population": population}
    raw.update(extra)
    return build_config(raw)


def test_max_norm_takes_one_bound_per_member_in_one_operation():
    w = torch.randn(3, 5, 4) * 3
    c = torch.tensor([0.5, float("inf"), 2.0])
    before = w.clone()
    max_norm_([w], c)
    norms = w.norm(dim=1)
    assert (norms[0] <= 0.5 + 1e-6).all() and (norms[2] <= 2.0 + 1e-6).all()
    assert torch.equal(w[1], before[1])  # inf: unbounded, untouched
    small = before[2].norm(dim=0) <= 2.0
    assert torch.equal(w[2][:, small], before[2][:, small])  # units inside the bound are not rescaled


def test_max_norm_is_a_member_key_resolved_per_member():
    cfg = _cfg({"seeds": 2, "grid": {"regularize.max_norm": [0.5, None, 2.0]}})
    table = resolve_members(cfg)
    assert table.max_norm.tolist() == [0.5, 0.5, float("inf"), float("inf"), 2.0, 2.0]
    assert table.rows(1, 3).max_norm.tolist() == [0.5, float("inf")]
    assert resolve_members(_cfg({"seeds": 2})).max_norm is None  # no member bounded: no projection at all


class _NormsAfterEachStep:
    """Records, after every step, the largest incoming-weight norm of each member's units."""

    def __init__(self):
        self.worst: list[torch.Tensor] = []

    def on_step_end(self, state):
        per_layer = [w.norm(dim=1).amax(dim=1) for w in state.model.weights]  # (K,) per layer
        self.worst.append(torch.stack(per_layer).amax(dim=0))


def test_max_norm_keeps_every_units_incoming_norm_within_its_members_bound_after_each_step():
    bounds = [0.3, 1.0, 3.0, None]
    cfg = _cfg({"seeds": 2, "grid": {"regularize.max_norm": bounds}}, steps=60, optim={"name": "momentum", "lr": 0.3})
    recorder = _NormsAfterEachStep()
    run_population(cfg, load_data(cfg.data, 0), callbacks_factory=lambda chunk: [recorder])
    worst = torch.stack(recorder.worst)  # (steps, K)
    assert worst.shape == (60, 8)
    c = torch.tensor([b if b is not None else float("inf") for b in bounds]).repeat_interleave(2)
    assert (worst <= c * (1 + 1e-5)).all()
    assert (worst[:, :2].amax(dim=0) > 0.3 * 0.99).all()  # the tightest bound is active, not vacuous
    assert (worst[:, 6:].amax() > 3.0)  # the unbounded members do grow past the loosest bound


def test_l1_leaves_at_least_three_times_the_near_zero_weights_of_l2_at_matched_strength():
    lam = 1e-3
    cfg = _cfg({"seeds": 3, "zip": {"regularize.l1": [lam, 0.0], "regularize.l2": [0.0, lam]}}, steps=400)
    model, _, _ = run_population(cfg, load_data(cfg.data, 0))
    frac = []
    for k in range(model.K):
        w = torch.cat([w[k].flatten() for w in model.weights])
        frac.append(float((w.abs() < NEAR_ZERO * w.abs().max()).float().mean()))
    l1, l2 = sum(frac[:3]) / 3, sum(frac[3:]) / 3
    assert l1 >= 3 * l2 and l1 > 0.05, (frac, l1, l2)
