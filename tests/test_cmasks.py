"""Compiled dropout masks (trainlab.nn.cmasks) are counter_uniform's masks, bit for bit, in both
layouts; without the C code the torch expression runs and gives the same training."""
from __future__ import annotations

import pytest
import torch

from trainlab.nn import ckernel, cmasks
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.rng import counter_uniform, member_keys

HAS_C = cmasks.library() is not None
needs_c = [pytest.mark.skipif(not HAS_C, reason="no C compiler"), pytest.mark.allow_skip_in_ci]


def _reference(keys, step, salt, b, w, p, feature_major, keep_only=False):
    u = counter_uniform(keys, step, salt, (b, w))
    pk = p.view(-1, 1, 1)
    out = (u >= pk).float() if keep_only else (u >= pk).float() / (1.0 - pk)
    return out.transpose(1, 2).contiguous() if feature_major else out


@pytest.mark.parametrize("feature_major", [True, False])
@pytest.mark.parametrize("keep_only", [True, False])
@pytest.mark.parametrize("b,w,step,salt", [(16, 33, 0, 0), (7, 5, 10 ** 6, 2), (128, 20, 3, 1)])
@pytest.mark.parametrize("mark", [pytest.param(0, marks=needs_c)])
def test_masks_equal_counter_uniform(feature_major, keep_only, b, w, step, salt, mark):
    """Every bit, rates of 0 and 1 (NaN there, as torch's 0 / 0) and per-member rates included."""
    keys = member_keys(5, list(range(9)))
    p = torch.tensor([0.0, 1.0, 0.5, 0.1, 0.2, 0.3, 0.9, 2 ** -20, 0.5])
    got = cmasks.scale(keys, step, salt, b, w, p, feature_major, keep_only)
    ref = _reference(keys, step, salt, b, w, p, feature_major, keep_only)
    assert got.shape == ref.shape
    assert torch.equal(torch.isnan(got), torch.isnan(ref))
    assert torch.equal(torch.nan_to_num(got, 7.0), torch.nan_to_num(ref, 7.0))


def _train_mode_logits() -> torch.Tensor:
    inits = [MemberInit(s, "normal", 0.5) for s in range(4)]
    pop = PopulationMLP.create([5, 8, 3], "relu", inits, run_seed=2, p_input=torch.tensor([0.1, 0.0, 0.3, 0.5]),
                               p_hidden=torch.tensor([0.5, 0.2, 0.0, 0.1]))
    x = torch.randn(10, 5, generator=torch.Generator().manual_seed(1))
    return pop.forward(x, train=True, step=4)


def test_without_c_the_torch_masks_run(monkeypatch):
    """No compiler: ``scale`` says None, the module's forward takes counter_uniform, same logits."""
    got = _train_mode_logits()
    monkeypatch.setattr(cmasks, "_LIB", {})
    monkeypatch.setattr(ckernel, "_compiler", lambda: None)
    assert cmasks.scale(member_keys(0, [1]), 0, 0, 2, 2, torch.tensor([0.5]), True) is None
    assert "unavailable" in cmasks.status()["masks"]
    assert torch.equal(_train_mode_logits(), got)
    monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    assert cmasks.library() is None
