"""A live run without the server: the page's fast forward equals the model's, pausing and stepping
change no number, and the per-member diagnosis fires on broken members and stays silent on healthy
ones (each member judged on its own evidence, in one population)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainlab.config import build_config
from trainlab.members import expand_members
from trainlab.play.adapter import hidden_activations, population_logits
from trainlab.play.run import Run
from trainlab.runner import build_population, run_config


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu", "selu", "identity", "leaky_relu", "elu"])
def test_grid_forward_equals_model_forward(activation):
    cfg = build_config({"model": {"hidden": [5, 4], "activation": activation, "init": {"scheme": "xavier_normal"}},
                        "population": {"seeds": 2, "zip": {"data.scale": [1.0, 3.0, 0.5], "data.offset": [0.0, -2.0, 4.0]}}})
    model = build_population(cfg, expand_members(cfg), 2, 3)
    x = torch.randn(50, 2)
    ref = model.forward(x)
    np.testing.assert_allclose(population_logits(model, x).numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    acts = hidden_activations(model, x)
    assert [tuple(a.shape) for a in acts] == [(6, 50, 5), (6, 50, 4)]


def _run(raw: dict, pause_at: tuple[int, ...] = ()) -> Run:
    cfg = build_config(raw)
    run = Run(cfg, "main", torch.device("cpu"), autoplay=not pause_at).start()
    for _ in pause_at:
        run.advance()
        t_end = 60
        while run.status != "paused" and t_end > 0:
            run.thread.join(0.05)
            t_end -= 0.05
    run.play()
    assert run.wait(120)
    assert run.status == "done", run.error
    return run


def test_pausing_and_stepping_change_no_number():
    raw = {"data": {"n_train": 60, "n_val": 100}, "model": {"hidden": [6, 3], "dropout": {"hidden": 0.2}},
           "train": {"steps": 40, "eval_every": 5, "batch_size": 20}, "population": {"seeds": 3},
           "run": {"device": "cpu", "save_weights": False}}
    stepped = _run(raw, pause_at=(1, 2, 3))
    ref = run_config(build_config(raw)).arrays
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        np.testing.assert_array_equal(np.array(stepped.final[key]), ref[key][-1])
    assert [r["step"] for r in stepped.rows] == list(ref["steps"])


def _codes(run: Run, member: int, floor: str = "warning") -> set[str]:
    ranks = {"info": 0, "warning": 1, "error": 2}
    return {f["code"] for f in run.findings if f["member"] == member and ranks[f["severity"]] >= ranks[floor]}


def test_diagnosis_per_member_fires_on_broken_members_only():
    # members: 0 healthy (He), 1 sigma 10 (the lab's), 2 zero init, 3 inputs x100, 4 lr 1e4 (inf loss at step 3)
    raw = {"data": {"n_train": 200, "n_val": 300}, "model": {"hidden": [16, 16], "init": {"scheme": "kaiming_normal"}},
           "optim": {"lr": 0.1}, "train": {"steps": 150, "eval_every": 10}, "population": {
               "seed_list": [1], "zip": {"model.init.scheme": ["kaiming_normal", "normal", "zeros", "kaiming_normal",
                                                                "kaiming_normal"],
                                         "model.init.std": [None, 10.0, None, None, None],
                                         "data.scale": [1.0, 1.0, 1.0, 100.0, 1.0],
                                         "optim.lr": [0.1, 0.1, 0.1, 0.1, 1e4]}},
           "run": {"device": "cpu", "save_weights": False}}
    run = _run(raw)
    assert _codes(run, 0) == set()
    assert "loss_at_init" in _codes(run, 1)
    assert "symmetric_init" in _codes(run, 2)
    assert "unnormalized_inputs" in _codes(run, 3)
    assert "nonfinite_loss" in _codes(run, 4) and 4 in run.frozen
    for f in run.findings:
        assert f["fix"]["name"] and isinstance(f["fix"]["available"], bool)
    scales = run.scales
    assert len(scales["act_std"]) == 5 and len(scales["grad_norm"][0]) == 3
    assert all(v is None or math.isfinite(v) for row in scales["grad_norm"] for v in row)


def test_dead_units_fire_on_a_dead_relu_population():
    raw = {"data": {"n_train": 200, "n_val": 300}, "model": {"hidden": [16, 16], "bias_init": {"scheme": "constant", "value": -10.0},
                                                          "init": {"scheme": "kaiming_normal"}},
           "train": {"steps": 30, "eval_every": 10}, "population": {"seeds": 2}, "run": {"device": "cpu"}}
    run = _run(raw)
    assert all("dead_units" in _codes(run, m) for m in range(2))


def test_a_fix_that_does_not_apply_to_a_member_says_why():
    from trainlab.play.adapter import fix_applies

    cfg = build_config({"model": {"activation": "tanh", "init": {"scheme": "xavier_normal"}},
                        "population": {"seeds": 1, "grid": {"model.dropout.hidden": [0.0, 0.5]}}})
    zero_dropout, half_dropout = expand_members(cfg)
    assert "already xavier_normal" in fix_applies(cfg, zero_dropout, "loss_at_init")
    assert fix_applies(cfg, zero_dropout, "loss_oscillation") is None  # no dropout: the lr instead
    assert fix_applies(cfg, half_dropout, "loss_oscillation") is None
    assert fix_applies(cfg, zero_dropout, "grad_accumulation") is None  # the no-fix path has its own note
    run = Run(cfg, "main", torch.device("cpu"))
    f = {"member": 0, "code": "loss_at_init", "fix": {"name": "x", "description": "y", "available": True}}
    assert run._with_fix_note(f)["fix"] == {"name": "x", "description": "y", "available": False,
                                            "why_not": "the init is already xavier_normal with zero biases"}
