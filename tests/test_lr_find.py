"""LR range test: exact restore of model/optimizer/RNG, robustness to early spikes, the plot."""
from __future__ import annotations

import math
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainlab.diag_cli import plot_lr_find
from trainlab.diagnose.lr_find import (DIVERGE_FACTOR, lr_find, lr_schedule, smooth_losses, suggest_lr,
                                       centered_smooth)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def problem(opt_name: str = "sgd") -> tuple[nn.Module, torch.optim.Optimizer, list]:
    torch.manual_seed(0)
    x = torch.randn(512, 8)
    y = (x @ torch.randn(8, 4)).argmax(1)
    batches = [(x[i:i + 64], y[i:i + 64]) for i in range(0, 512, 64)]
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 4))
    opt = (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt_name == "sgd"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    for xb, yb in batches[:3]:  # some optimizer state to restore
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model, opt, batches


def spiky_loss(at_call: int, factor: float = 100.0) -> Callable:
    """Cross-entropy whose *value* spikes once (the gradient is untouched)."""
    calls = [0]

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        loss = F.cross_entropy(out, y)
        return loss + (factor - 1) * loss.detach() if calls[0] == at_call else loss
    return loss_fn


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_restores_weights_optimizer_state_and_rng(opt_name: str) -> None:
    model, opt, batches = problem(opt_name)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    opt_before = opt.state_dict()
    state = {i: {k: torch.as_tensor(v).clone() for k, v in s.items()} for i, s in opt_before["state"].items()}
    groups = [dict((k, v) for k, v in g.items() if k != "params") for g in opt_before["param_groups"]]
    rng = torch.get_rng_state()
    result = lr_find(model, opt, batches, F.cross_entropy, steps=60)
    assert len(result.lrs) > 10
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    after = opt.state_dict()
    for i, s in state.items():
        for k, v in s.items():
            assert torch.equal(v, torch.as_tensor(after["state"][i][k])), (i, k)
    assert [dict((k, v) for k, v in g.items() if k != "params") for g in after["param_groups"]] == groups
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.training


@pytest.mark.parametrize("spike_at", [3, 5, 12, 20])
def test_suggestion_ignores_an_early_spike(spike_at: int) -> None:
    model, opt, batches = problem()
    clean = lr_find(model, opt, batches, F.cross_entropy)
    spiked = lr_find(model, opt, batches, spiky_loss(spike_at))
    assert clean.suggestion is not None and 1e-3 < clean.suggestion < 5.0
    assert spiked.suggestion == clean.suggestion
    assert len(spiked.lrs) == len(clean.lrs)  # the spike did not trigger the divergence stop


def naive_smooth(losses: list[float], beta: float = 0.98) -> list[float]:
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def test_a_plain_ema_would_be_fooled_by_the_same_spike() -> None:
    """Why the running median exists: on the same losses a plain EMA points at a tiny LR."""
    model, opt, batches = problem()
    spiked = lr_find(model, opt, batches, spiky_loss(20))
    clean_suggestion = suggest_lr(spiked.lrs, centered_smooth(spiked.losses))[0]
    naive = suggest_lr(spiked.lrs, naive_smooth(spiked.losses))[0]
    assert clean_suggestion == spiked.suggestion
    assert naive is not None and naive < 1e-4 < clean_suggestion


@pytest.mark.parametrize("steps", [40, 60, 100, 200])
def test_suggestion_stable_across_ramp_lengths(steps: int) -> None:
    """A short ramp must not make the smoother's warm-up look like a descent (it did: 6.5e-7 on moons)."""
    model, opt, batches = problem()
    result = lr_find(model, opt, batches, F.cross_entropy, steps=steps)
    ref = lr_find(model, opt, batches, F.cross_entropy, steps=200)
    assert result.suggestion is not None and ref.suggestion is not None
    assert abs(math.log10(result.suggestion) - math.log10(ref.suggestion)) < 1.0, (result.suggestion, ref.suggestion)


def test_stops_when_the_loss_diverges() -> None:
    model, opt, batches = problem()
    result = lr_find(model, opt, batches, F.cross_entropy, lr_max=1e4, steps=150)
    assert len(result.lrs) < 150
    assert result.smoothed[-1] > DIVERGE_FACTOR * min(result.smoothed) or not math.isfinite(result.smoothed[-1])


@pytest.mark.parametrize("lr_min,lr_max,steps", [(1e-7, 10.0, 100), (1e-4, 1.0, 5), (0.1, 0.2, 2)])
def test_schedule_is_exponential_between_the_ends(lr_min: float, lr_max: float, steps: int) -> None:
    lr_at = lr_schedule(lr_min, lr_max, steps)
    assert lr_at(0) == pytest.approx(lr_min) and lr_at(steps - 1) == pytest.approx(lr_max)
    if steps > 2:
        assert lr_at(1) / lr_at(0) == pytest.approx(lr_at(2) / lr_at(1))


def test_short_run_falls_back_with_a_reason() -> None:
    suggestion, reason = suggest_lr([1e-3, 1e-2, 1e-1], [1.0, 0.9, 0.8])
    assert suggestion is None and "too few" in reason
    lrs = [10 ** (-5 + i / 10) for i in range(30)]
    suggestion, reason = suggest_lr(lrs, [1.0 + i for i in range(30)])  # rising from the start
    assert suggestion == pytest.approx(lrs[0] / 10) and "divided by 10" in reason


def test_bad_arguments_raise() -> None:
    model, opt, batches = problem()
    with pytest.raises(ValueError):
        lr_find(model, opt, batches, F.cross_entropy, lr_min=1.0, lr_max=0.1)


def test_plot_writes_a_png(tmp_path: pytest.TempPathFactory) -> None:
    model, opt, batches = problem()
    result = lr_find(model, opt, batches, F.cross_entropy, steps=40)
    path = plot_lr_find(result, tmp_path / "lr" / "find.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.to_dict()["suggestion"] == result.suggestion
