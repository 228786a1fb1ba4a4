"""The fast statistics pass (trainlab.probes.layer_stats) against an independent reference.

The reference builds a plain ``nn.Sequential`` from member k's weights, records every layer with
forward hooks, runs autograd on ``F.cross_entropy`` and computes each statistic in float64. The
pass must agree for every supported activation, with shared or per-member inputs, biases or none,
and a chunk size that does not divide the rows. Then the claims the deep study rests on.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainlab.nn.activations import ACTIVATIONS, HAND_WRITTEN
from trainlab.probes import layer_stats


def _population(k: int, widths: list[int], std: float | None, bias: float, seed: int = 0):
    """Weights (K, fan_in, fan_out) with N(0, std^2) entries (He std when None), biases N(0, bias^2)."""
    g = torch.Generator().manual_seed(seed)
    ws, bs = [], []
    for fi, fo in zip(widths[:-1], widths[1:]):
        s = std if std is not None else math.sqrt(2.0 / fi)
        ws.append(torch.randn(k, fi, fo, generator=g) * s)
        bs.append(torch.randn(k, fo, generator=g) * bias)
    return ws, bs


def _reference(ws, bs, activation: str, x: torch.Tensor, y: torch.Tensor, k: int) -> dict[str, np.ndarray]:
    """Member k's statistics from a float32 nn.Sequential + forward hooks + autograd, summarized in float64."""
    layers: list[nn.Module] = []
    for i, (w, b) in enumerate(zip(ws, bs)):
        lin = nn.Linear(w.shape[1], w.shape[2])
        with torch.no_grad():
            lin.weight.copy_(w[k].T)
            lin.bias.copy_(b[k])
        layers.append(lin)
        if i < len(ws) - 1:
            layers.append(ACTIVATIONS[activation].module(None))
    model = nn.Sequential(*layers)
    zs, acts = [], []

    def grab(store):
        def hook(mod, inp, out):
            out.retain_grad()
            store.append(out)
        return hook

    for i, mod in enumerate(model):
        if i % 2 == 0 and i < len(model) - 1:
            mod.register_forward_hook(grab(zs))
        elif i % 2 == 1:
            mod.register_forward_hook(grab(acts))
    xk = x if x.dim() == 2 else x[k]
    yk = y if y.dim() == 1 else y[k]
    loss = F.cross_entropy(model(xk), yk)
    loss.backward()
    out = {"loss": np.array(float(loss.detach()))}
    rows = {name: [] for name in ("preact_mean", "preact_std", "act_mean", "act_std", "act_abs_mean", "act_abs_std",
                                  "zero_frac", "act_grad_std", "grad_std", "grad_mean")}
    for z, a, lin in zip(zs, acts, model[0::2]):
        z, a, ag, wg = z.detach().double(), a.detach().double(), a.grad.double(), lin.weight.grad.double()
        rows["preact_mean"].append(float(z.mean()))
        rows["preact_std"].append(float(z.std(correction=0)))
        rows["act_mean"].append(float(a.mean()))
        rows["act_std"].append(float(a.std(correction=0)))
        rows["act_abs_mean"].append(float(a.abs().mean()))
        rows["act_abs_std"].append(float(a.abs().std(correction=0)))
        rows["zero_frac"].append(float((a == 0).double().mean()))
        rows["act_grad_std"].append(float(ag.std(correction=0)))
        rows["grad_std"].append(float(wg.std(correction=0)))
        rows["grad_mean"].append(float(wg.mean()))
    out.update({name: np.array(v) for name, v in rows.items()})
    return out


CASES = [
    # activation, widths, init std (None: He), bias std, shared x, chunk rows
    ("relu", [6, 16, 16, 16, 3], None, 0.0, True, 37),
    ("tanh", [6, 16, 16, 16, 3], 0.3, 0.1, False, 50),
    ("sigmoid", [6, 16, 12, 3], 0.5, 0.1, True, None),
    ("leaky_relu", [6, 16, 16, 16, 3], None, 0.1, False, 64),
    ("elu", [6, 16, 16, 3], 0.3, 0.1, True, 33),
    ("selu", [6, 16, 16, 3], 0.25, 0.0, False, None),
    ("gelu", [6, 16, 16, 16, 3], None, 0.1, True, 41),
    ("identity", [6, 16, 16, 3], 0.25, 0.1, False, 29),
]


@pytest.mark.parametrize("activation,widths,std,bias,shared,chunk", CASES)
def test_matches_sequential_with_hooks(activation, widths, std, bias, shared, chunk):
    k, n = 3, 150
    ws, bs = _population(k, widths, std, bias)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, widths[0], generator=g) if shared else torch.randn(k, n, widths[0], generator=g)
    y = torch.randint(0, widths[-1], (n,) if shared else (k, n), generator=g)
    stats = layer_stats(ws, bs, activation, x, y, chunk_rows=chunk)
    for m in range(k):
        ref = _reference(ws, bs, activation, x, y, m)
        assert stats.loss[m] == pytest.approx(float(ref["loss"]), rel=1e-5)
        for name, want in ref.items():
            if name == "loss":
                continue
            got = stats.values[name][m]
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-7, err_msg=f"{activation} member {m}: {name}")


def test_every_activation_of_the_pass_is_in_the_table():
    assert set(HAND_WRITTEN) <= set(ACTIVATIONS)


def test_overflow_is_flagged_not_dropped():
    # N(0, 1) weights at width 256 and ReLU: std x ~11 per layer, float32 overflows by layer ~40
    k, depth, width = 1, 45, 256
    ws, bs = _population(k, [8] + [width] * depth + [2], 1.0, 0.0, seed=3)
    x = torch.randn(64, 8)
    stats = layer_stats(ws, bs, "relu", x, torch.zeros(64, dtype=torch.long))
    std = stats.values["act_std"][0]
    first_bad = int(np.flatnonzero(~np.isfinite(std))[0])
    assert 20 < first_bad < depth
    assert np.all(np.isfinite(std[:first_bad]))
    assert std[first_bad - 1] > 1e30  # it grew all the way to the float32 limit first
    assert set(stats.flags["act_std"][0, first_bad:]) <= {"overflow", "nan"}
    assert stats.values["nonfinite_frac"][0, -1] > 0
    member = stats.member(0)
    assert member["act_std"][first_bad] is None and member["flags"]["act_std"][first_bad] in ("overflow", "nan")
    assert len(member["act_std"]) == depth  # nothing dropped


def test_statistics_of_large_finite_values_do_not_overflow():
    # values ~1e30 square to 1e60: beyond float32, but the statistics must stay finite and exact
    ws = [torch.full((1, 4, 8), 1e29), torch.ones(1, 8, 2)]
    stats = layer_stats(ws, [None, None], "identity", torch.ones(10, 4), torch.zeros(10, dtype=torch.long))
    assert stats.values["preact_mean"][0, 0] == pytest.approx(4e29, rel=1e-6)
    assert stats.values["preact_std"][0, 0] == pytest.approx(0.0, abs=1e24)
    assert stats.flags["preact_std"][0, 0] is None


def test_skipped_backward_of_an_overflowed_member_equals_the_computed_one():
    # alone, the overflowing member's backward is skipped (its loss gradient is NaN); next to a
    # healthy member it is computed: the statistics must agree, NaN with flag "nan" at every layer
    depth, width = 45, 256
    bad, _ = _population(1, [8] + [width] * depth + [2], 1.0, 0.0, seed=3)
    good, _ = _population(1, [8] + [width] * depth + [2], None, 0.0, seed=4)
    pair = [torch.cat([b, g]) for b, g in zip(bad, good)]
    x, y = torch.randn(64, 8), torch.zeros(64, dtype=torch.long)
    alone = layer_stats(bad, [None] * len(bad), "relu", x, y, chunk_rows=16)
    both = layer_stats(pair, [None] * len(pair), "relu", x, y, chunk_rows=16)
    for name in ("act_grad_std", "grad_std", "grad_mean", "act_std", "zero_frac"):
        np.testing.assert_allclose(alone.values[name][0], both.values[name][0], rtol=1e-5, err_msg=name)  # NaN = NaN
        assert list(alone.flags[name][0]) == list(both.flags[name][0]), name
    assert set(alone.flags["grad_std"][0]) == {"nan"} and np.isnan(alone.head_grad_std[0])
    assert np.all(np.isfinite(both.values["grad_std"][1]))  # the healthy member is untouched


def test_tensor_stats_flags_and_exact_moments():
    """A weight gradient's (mean, std, flag): exact float64 moments when finite; "nan" when any
    value is NaN (even beside an inf), "overflow" for infs alone (both signs: their sum is NaN)."""
    from trainlab.probes import _tensor_stats

    t = torch.randn(64, 32, generator=torch.Generator().manual_seed(0)) * 1e30
    mean, std, flag = _tensor_stats(t)
    assert flag is None and mean == float(t.double().mean()) and std == float(t.double().std(correction=0))
    for values, expected in (([float("nan"), 1.0], "nan"), ([float("inf"), float("nan")], "nan"),
                             ([float("inf"), 1.0], "overflow"), ([float("inf"), -float("inf")], "overflow")):
        bad = t.clone()
        bad[0, :2] = torch.tensor(values)
        got = _tensor_stats(bad)
        assert got[2] == expected and np.isnan(got[0]) and np.isnan(got[1])
