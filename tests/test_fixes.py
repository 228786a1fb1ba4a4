"""The fix table (trainlab.diagnose.fixes): a row for every finding code, each applier changes what it
says and nothing else, the no-fix path, and fixes that cure the runs they are meant for."""
from __future__ import annotations

import numpy as np
import pytest

from trainlab.config import build_config
from trainlab.diagnose.findings import CODES
from trainlab.diagnose.fixes import (FIXES, MATCHING_INIT, NotApplicable, Fix, describe_change, fix_for,
                                     lower_dropout, matching_init)
from trainlab.runner import run_config


def test_every_activation_has_a_matching_init():
    from trainlab.nn.activations import ACTIVATIONS
    from trainlab.nn.init import INITS

    assert set(MATCHING_INIT) == set(ACTIVATIONS)
    assert set(MATCHING_INIT.values()) <= set(INITS)
    with pytest.raises(KeyError, match="no matching init"):
        matching_init("swish")


def test_every_code_has_a_row():
    assert set(FIXES) == set(CODES)
    for code, fix in FIXES.items():
        assert isinstance(fix, Fix) and fix.name and fix.description
    with pytest.raises(KeyError, match="no fix row"):
        fix_for("not_a_code")


@pytest.mark.parametrize("code", [c for c, f in FIXES.items() if not f.available])
def test_no_fix_rows_carry_the_codes_advice(code):
    fix = fix_for(code)
    assert fix.apply_config is None and CODES[code].fix in fix.description


@pytest.mark.parametrize("activation,scheme", [("relu", "kaiming_normal"), ("leaky_relu", "kaiming_normal"),
                                               ("tanh", "xavier_normal"), ("sigmoid", "xavier_normal"),
                                               ("identity", "xavier_normal"), ("selu", "lecun_normal"),
                                               ("gelu", "kaiming_normal")])
def test_reinit_matches_the_activation(activation, scheme):
    assert matching_init(activation) == scheme
    cfg = build_config({"model": {"activation": activation, "init": {"scheme": "normal", "std": 10.0},
                                  "bias_init": {"scheme": "constant", "value": 1.0}}})
    fixed = fix_for("loss_at_init").apply_config(cfg)
    assert fixed.model.init.scheme == scheme and fixed.model.init.std is None
    assert fixed.model.bias_init.scheme == "zeros"
    assert cfg.model.init.scheme == "normal"  # the input is never changed
    with pytest.raises(NotApplicable, match="already"):
        fix_for("loss_at_init").apply_config(fixed)


CASES = [  # code, raw config, the changes describe_change must list (key prefixes)
    ("unnormalized_inputs", {"data": {"scale": 100.0, "offset": 3.0}},
     ["data.offset: 3.0 -> 0.0", "data.scale: 100.0 -> 1.0", "data.transforms: [] -> [{'name': 'standardize'}]"]),
    ("lr_too_high", {"optim": {"lr": 0.3}}, ["optim.lr: 0.3 -> 0.03"]),
    ("nonfinite_loss", {"optim": {"lr": 100.0}}, ["optim.lr: 100.0 -> 10.0"]),
    ("lr_too_low", {"optim": {"lr": 0.001}}, ["optim.lr: 0.001 -> 0.01"]),
    ("loss_plateau", {"optim": {"lr": 0.01}}, ["optim.lr: 0.01 -> 0.1"]),
    ("loss_oscillation", {"model": {"dropout": {"hidden": 0.5, "input": 0.1}}},
     ["model.dropout.hidden: 0.5 -> 0.25", "model.dropout.input: 0.1 -> 0.0"]),
    ("loss_oscillation", {"optim": {"lr": 0.5}}, ["optim.lr: 0.5 -> 0.05"]),  # no dropout: the lr instead
    ("overfitting", {"model": {"dropout": {"hidden": 0.2}}}, ["model.dropout.hidden: 0.2 -> 0.5"]),
    ("symmetric_init", {"model": {"init": {"scheme": "zeros"}}}, ["model.init.scheme: 'zeros' -> 'kaiming_normal'"]),
]


@pytest.mark.parametrize("code,raw,changes", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fix_changes_what_it_says(code, raw, changes):
    cfg = build_config(raw)
    fixed = fix_for(code).apply_config(cfg)
    assert describe_change(cfg, fixed) == changes


@pytest.mark.parametrize("code,raw,why", [
    ("unnormalized_inputs", {"data": {"transforms": [{"name": "standardize"}]}}, "already standardized"),
    ("overfitting", {"model": {"dropout": {"hidden": 0.5}}}, "already 0.5"),
])
def test_not_applicable_says_why(code, raw, why):
    with pytest.raises(NotApplicable, match=why):
        fix_for(code).apply_config(build_config(raw))
    with pytest.raises(NotApplicable, match="no dropout"):
        lower_dropout(build_config({}))


BASE = {"data": {"n_train": 100, "n_val": 500}, "model": {"hidden": [6, 3]}, "train": {"steps": 300},
        "population": {"seed_list": [1]}, "run": {"device": "cpu", "save_weights": False, "threads": 1}}


@pytest.fixture
def keep_threads():
    """run.threads sets torch's thread count for the process: put it back afterwards."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("code,broken", [
    ("loss_at_init", {"model": {"hidden": [6, 3], "init": {"std": 10.0}}}),  # the lab's sigma 10
    ("unnormalized_inputs", {"data": {"n_train": 100, "n_val": 500, "scale": 100.0}, "model": {"hidden": [6, 3], "init": {"std": 0.5}}}),
    ("nonfinite_loss", {"optim": {"lr": 50.0}, "model": {"hidden": [6, 3], "init": {"scheme": "kaiming_normal"}}}),
])
def test_fix_cures_the_broken_run(code, broken, keep_threads):
    cfg = build_config(BASE | broken)
    fixed = fix_for(code).apply_config(cfg)
    before = run_config(cfg).arrays["train_loss"][-1, 0]
    after = run_config(fixed).arrays["train_loss"][-1, 0]
    assert np.isfinite(after) and (not np.isfinite(before) or after < before), (before, after)
