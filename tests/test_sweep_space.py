"""Sweep expansion: grids, ranges, random draws, stages, coarse to fine; and the options' usage errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.config import build_config
from trainlab.errors import UsageError
from trainlab.sweep.run import _grid_configs, estimate_work
from trainlab.sweep.space import (Axis, draw_random, expand_grid, fine_values, parse_axis, parse_dist, parse_stages,
                                  parse_values)
from trainlab.sweep.spec import build_spec

VALUES = [
    ("0.1,0.3,1", [0.1, 0.3, 1]),
    ("1e-3,1e-2", [1e-3, 1e-2]),  # YAML 1.1 would read 1e-3 as text
    ("logspace(-3,1,5)", [1e-3, 1e-2, 1e-1, 1.0, 10.0]),
    ("linspace(0,1,3)", [0.0, 0.5, 1.0]),
    ("0.5,logspace(-2,-1,2)", [0.5, 0.01, 0.1]),
    ("[16],[32,32],[8, 8, 8]", [[16], [32, 32], [8, 8, 8]]),
    ("relu,tanh", ["relu", "tanh"]),
    ("null,64", [None, 64]),
]


@pytest.mark.parametrize("text, expected", VALUES, ids=[v[0] for v in VALUES])
def test_parse_values(text, expected):
    got = parse_values(text)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if isinstance(e, float):
            assert g == pytest.approx(e, rel=1e-12)
        else:
            assert g == e


def test_logspace_24_points_are_numpy_logspace():
    vals = parse_axis("optim.lr=logspace(-3,1,24)").values
    np.testing.assert_allclose(vals, np.logspace(-3, 1, 24), rtol=0, atol=0)


BAD = ["optim.lr=", "optim.lr=logspace(1,2)", "optim.lr=geomspace(1,2,3)", "optim.lr=0.1,,0.2", "optim.lr",
       "optim.lr=linspace(0,1,2.5)"]


@pytest.mark.parametrize("text", BAD)
def test_bad_values_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_axis(text)


def test_grid_product_first_key_slowest():
    axes = [parse_axis("optim.lr=0.1,1"), parse_axis("model.hidden=[4],[8]")]
    assert expand_grid(axes) == [{"optim.lr": 0.1, "model.hidden": [4]}, {"optim.lr": 0.1, "model.hidden": [8]},
                                 {"optim.lr": 1, "model.hidden": [4]}, {"optim.lr": 1, "model.hidden": [8]}]


DISTS = [("optim.lr=loguniform(1e-4,1)", 1e-4, 1.0), ("model.init.std=uniform(0.1,2)", 0.1, 2.0),
         ("train.batch_size=intuniform(8,64)", 8, 64)]


@pytest.mark.parametrize("text, lo, hi", DISTS)
def test_random_draws_seeded_and_in_bounds(text, lo, hi):
    d = parse_dist(text)
    a = draw_random([d], 200, seed=3)
    assert a == draw_random([d], 200, seed=3) and a != draw_random([d], 200, seed=4)
    vals = np.array([c[d.key] for c in a], dtype=float)
    assert vals.min() >= lo and vals.max() <= hi
    if d.kind == "loguniform":  # about half the draws below the geometric middle
        assert 0.35 < np.mean(vals < math.sqrt(lo * hi)) < 0.65
    if d.kind == "intuniform":
        assert all(isinstance(c[d.key], int) for c in a)


def test_choice_and_bad_distributions():
    d = parse_dist("model.activation=choice(relu,tanh)")
    assert {c["model.activation"] for c in draw_random([d], 50, 0)} == {"relu", "tanh"}
    for bad in ("optim.lr=loguniform(0,1)", "optim.lr=uniform(2,1)", "optim.lr=normal(0,1)", "optim.lr=0.1"):
        with pytest.raises(UsageError):
            parse_dist(bad)


def test_stages():
    st = parse_stages("optim.lr=logspace(-4,0,9); model.hidden=[16],[32,32] model.activation=relu,tanh; "
                      "optim.name=sgd,adam")
    assert [[a.key for a in s] for s in st] == [["optim.lr"], ["model.hidden", "model.activation"], ["optim.name"]]
    assert len(st[0][0].values) == 9 and st[1][0].values == ([16], [32, 32])
    assert [len(expand_grid(s)) for s in st] == [9, 4, 2]
    with pytest.raises(UsageError):
        parse_stages(" ; ")


FINE = [
    # coarse values, best -> (lowest, highest) fine point
    ([1e-3, 1e-2, 1e-1, 1.0], 1e-2, (1e-3, 1e-1)),
    ([1e-3, 1e-2, 1e-1, 1.0], 1.0, (1e-1, 10.0)),  # at the top end: as far out as the lower neighbour
    ([1e-3, 1e-2, 1e-1, 1.0], 1e-3, (1e-4, 1e-2)),
]


@pytest.mark.parametrize("coarse, best, ends", FINE)
def test_coarse_to_fine_points(coarse, best, ends):
    pts = fine_values(coarse, best)
    assert len(pts) == 12
    assert pts[0] == pytest.approx(ends[0]) and pts[-1] == pytest.approx(ends[1])
    ratios = np.diff(np.log(pts))
    np.testing.assert_allclose(ratios, ratios[0])  # log-spaced
    assert min(pts) <= best <= max(pts)


def _cfg(extra: str = "") -> object:
    import yaml

    raw = yaml.safe_load("data: {name: circles, n_train: 50, n_val: 100}\ntrain: {steps: 100}\n" + extra) or {}
    return build_config(raw)


SPECS = [
    # (kwargs, config extra, mode or the start of a usage error)
    (dict(grid=["optim.lr=0.1,1"]), "", "grid"),
    (dict(), "population: {grid: {optim.lr: [0.1, 1]}}", "grid"),
    (dict(grid=["optim.lr=0.1,1"]), "population: {grid: {optim.lr: [0.1, 1]}}", "error: a grid both"),
    (dict(random=["optim.lr=loguniform(1e-3,1)"], trials=5), "", "random"),
    (dict(random=["optim.lr=loguniform(1e-3,1)"]), "", "error: --random needs --trials"),
    (dict(random=["optim.lr=loguniform(1e-3,1)"], grid=["model.hidden=[4],[8]"], trials=3), "", "error: --random and --grid"),
    (dict(stages="optim.lr=0.1,1; optim.name=sgd,adam"), "", "stages"),
    (dict(stages="optim.lr=0.1,1", grid=["optim.lr=1,2"]), "", "error: --stages is a search"),
    (dict(grid=["optim.lr=logspace(-3,0,4)"], coarse_to_fine="optim.lr"), "", "coarse_to_fine"),
    (dict(grid=["model.activation=relu,tanh"], coarse_to_fine="model.activation"), "", "error: --coarse-to-fine model.activation: its values"),
    (dict(grid=["optim.lr=0.1,1"], coarse_to_fine="model.init.std"), "", "error: --coarse-to-fine model.init.std: give"),
    (dict(random=["optim.lr=loguniform(1e-3,1)"], search="tpe", trials=8), "", "optuna"),
    (dict(search="tpe", trials=8), "", "error: --search needs a space"),
    (dict(grid=["optim.lr=0.1"], metric="val_los"), "", "error: --metric 'val_los'"),
    (dict(grid=["optim.lr=0.1"]), "data: {name: circles, n_val: 0}", "error: --metric val_loss needs validation"),
    (dict(), "", "error: nothing to sweep"),
    (dict(grid=["optim.lr=0.1"], pruner="median"), "", "error: --pruner needs --search"),
    (dict(random=["optim.lrr=loguniform(1e-3,1)"], trials=2), "", "error: unknown config key 'optim.lrr' (did you mean 'optim.lr'?)"),
    (dict(random=["run.seed=intuniform(0,9)"], trials=2), "", "error: 'run.seed' cannot be swept"),
]


@pytest.mark.parametrize("kwargs, extra, expect", SPECS, ids=[e[2][:40] for e in SPECS])
def test_spec_modes_and_usage_errors(kwargs, extra, expect):
    if "data:" in extra:
        import yaml

        cfg = build_config(yaml.safe_load("train: {steps: 100}\n" + extra))
    else:
        cfg = _cfg(extra)
    if expect.startswith("error: "):
        with pytest.raises(UsageError) as e:
            build_spec(cfg, **kwargs)
        assert str(e.value).startswith(expect[len("error: "):]), str(e.value)
    else:
        spec = build_spec(cfg, **kwargs)
        assert spec.mode == expect
        assert estimate_work(spec) > 0


def test_config_grid_and_zip_become_the_sweep_and_seeds_default_to_the_config():
    cfg = _cfg("population: {seeds: 3, grid: {optim.lr: [0.1, 1]}, zip: {model.init.std: [0.1, 1], "
               "optim.momentum: [0.0, 0.9]}}")
    spec = build_spec(cfg)
    assert spec.seeds == [0, 1, 2] and build_spec(cfg, seeds=5).seeds == [0, 1, 2, 3, 4]
    configs = _grid_configs(spec)
    assert len(configs) == 4
    assert configs[1] == {"optim.lr": 0.1, "model.init.std": 1, "optim.momentum": 0.9}
    assert "population" not in spec.base and spec.to_json()["mode"] == "grid"
