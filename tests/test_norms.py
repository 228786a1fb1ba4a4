"""Per-layer norms over training (trainlab.norms): what fit records, against direct computation; the
train.record_norms switch; metrics.npz of a train run and its chunks; the shared figure."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainlab.config import build_config
from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.norms import NORM_KEYS, layer_norms
from trainlab.optim import PopulationOptimizer
from trainlab.report.folder import RunData
from trainlab.report.norms import PANELS, norm_figures
from trainlab.runner import run_config

SIZES = [2, 6, 3, 2]


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return x, (x.norm(dim=1) > 1.1).long()


def _pop(k=4, bias="normal"):
    return PopulationMLP.create(SIZES, "relu", [MemberInit(s, "normal", 0.5, bias, 0.1) for s in range(k)], run_seed=3)


def test_fit_records_four_norms_per_evaluation_member_and_layer():
    pop = _pop()
    opt = PopulationOptimizer("momentum", pop.parameters(), {"lr": torch.tensor([0.05, 0.1, 0.2, 0.02])})
    res = fit(pop, opt, _data(), None, TrainSpec(steps=30, eval_every=10))
    arrays = res.history.arrays()
    for key in NORM_KEYS:
        assert arrays[key].shape == (4, 4, 3), key  # steps 0, 10, 20, 30 x 4 members x 3 layers
    assert np.isnan(arrays["grad_norm"][0]).all() and np.isnan(arrays["update_ratio"][0]).all()  # no step before init
    assert np.isfinite(arrays["grad_norm"][1:]).all() and (arrays["update_ratio"][1:] > 0).all()
    # the last row is the trained model's own norms
    for layer, (w, b) in enumerate(zip(pop.weights, pop.biases)):
        assert np.allclose(arrays["weight_norm"][-1, :, layer], w.flatten(1).norm(dim=1).numpy(), rtol=1e-5)
        assert np.allclose(arrays["bias_norm"][-1, :, layer], b.norm(dim=1).numpy(), rtol=1e-5)
    assert set(res.history.metrics) == {"train_loss", "train_acc"}  # one number per member stays apart


def test_grad_norm_and_update_ratio_match_one_plain_sgd_step():
    """Plain SGD: the update is lr * g exactly, so update_ratio = lr ||g|| / ||W before||. This also
    fails if an optimizer ever updates the parameters in place (the ratio would read 0)."""
    pop = _pop()
    w0 = [w.clone() for w in pop.weights]
    lrs = torch.tensor([0.05, 0.1, 0.2, 0.02])
    res = fit(pop, PopulationOptimizer("sgd", pop.parameters(), {"lr": lrs}), _data(), None,
              TrainSpec(steps=1, eval_every=1))
    arrays = res.history.arrays()
    for layer, w in enumerate(pop.weights):
        g = (w0[layer] - w) / lrs.view(-1, 1, 1)  # the gradient the step applied
        assert np.allclose(arrays["grad_norm"][1, :, layer], g.flatten(1).norm(dim=1).numpy(), rtol=1e-4)
        ratio = (w - w0[layer]).flatten(1).norm(dim=1) / w0[layer].flatten(1).norm(dim=1)
        assert np.allclose(arrays["update_ratio"][1, :, layer], ratio.numpy(), rtol=1e-4)


def test_layer_norms_without_a_step_and_with_a_zero_layer():
    params = [torch.zeros(2, 3, 4), torch.ones(2, 4), torch.full((2, 4, 1), 2.0), torch.zeros(2, 1)]
    out = layer_norms(2, params)
    assert out["weight_norm"].tolist() == [[0.0, 4.0], [0.0, 4.0]] and out["bias_norm"][:, 0].tolist() == [2.0, 2.0]
    assert torch.isnan(out["grad_norm"]).all() and torch.isnan(out["update_ratio"]).all()
    moved = layer_norms(2, params, before=[p * 0.5 for p in params], grads=params)
    assert math.isnan(float(moved["update_ratio"][0, 0]))  # 0 / 0: a zero layer that did not move is NaN, not 0
    assert float(moved["update_ratio"][0, 1]) == pytest.approx(1.0)  # from 1 to 2: moved by its own norm


def test_record_norms_off_adds_nothing_and_changes_no_number():
    runs = {}
    for on in (True, False):
        pop = _pop()
        opt = PopulationOptimizer("adam", pop.parameters(), {"lr": torch.full((4,), 0.01)})
        runs[on] = fit(pop, opt, _data(), _data(32, 1), TrainSpec(steps=20, batch_size=16, eval_every=5,
                                                                  record_norms=on))
    assert not runs[False].history.layers and set(runs[True].history.layers) == set(NORM_KEYS)
    for key in runs[False].history.metrics:
        assert np.array_equal(runs[True].history.array(key), runs[False].history.array(key))


@pytest.mark.parametrize("budget_mb", [4096, 1])  # one chunk, and one member per chunk
def test_a_train_run_writes_them_into_metrics_npz(tmp_path, budget_mb):
    cfg = build_config({}, ["data.n_train=40", "data.n_val=50", "train.steps=20", "train.eval_every=10",
                            "population.seeds=3", f"run.memory_budget_mb={budget_mb}"])
    res = run_config(cfg, tmp_path / "run")
    with np.load(tmp_path / "run" / "metrics.npz") as z:
        assert all(z[k].shape == (3, 3, 3) for k in NORM_KEYS)
    assert set(res.summary["final"]) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    off = run_config(build_config({}, ["data.n_train=40", "data.n_val=50", "train.steps=20", "train.record_norms=false"]))
    assert not set(NORM_KEYS) & set(off.arrays)


def _fake_run(tmp_path, layers: int, members: int = 4):
    rng = np.random.default_rng(0)
    arrays = {"steps": np.arange(0, 50, 10)}
    arrays |= {k: rng.uniform(0.1, 2.0, (5, members, layers)) for k in NORM_KEYS}
    return RunData(tmp_path, {}, files={"m.npz": arrays})


@pytest.mark.parametrize("layers,groups,expected", [
    (3, None, {"layer_norms": 3}),  # one group: a panel per layer, every quantity in it
    (8, None, {"layer_norms_1": 6, "layer_norms_2": 2}),  # at most 6 panels a figure
    (3, {"a": [0, 1], "b": [2, 3]}, {"layer_norms_1": 6, "layer_norms_2": 6}),  # groups: a panel per quantity x layer
])
def test_norm_figures_at_most_six_panels(tmp_path, layers, groups, expected):
    run = _fake_run(tmp_path, layers)
    decl = norm_figures("m.npz", (lambda r: groups) if groups else None)
    keys = decl.keys(run)
    assert keys == list(expected)
    for key in keys:
        fig = decl.figures[0].draw(run, key)
        panels = [ax for ax in fig.axes if ax.axison]
        assert len(panels) == expected[key] <= PANELS
        assert all(ax.get_yscale() == "log" for ax in panels)
        assert "median over" in decl.figures[0].caption(run, key)


def test_norm_figures_skip_a_folder_without_norms(tmp_path):
    run = RunData(tmp_path, {}, files={"m.npz": {"steps": np.arange(3), "train_loss": np.ones((3, 2))}})
    assert norm_figures("m.npz").keys(run) == []
