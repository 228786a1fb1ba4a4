"""watch(): it measures the right things, never changes training, and leaves no hooks behind."""
from __future__ import annotations

import math
from typing import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainlab.diagnose.findings import codes_of
from trainlab.diagnose.watch import SCHEDULE_TIERS, Watcher, default_schedule, watch


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 32),
                         nn.Tanh(), nn.Linear(32, 2))


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.dropout(self.act(self.conv(x)), 0.1, self.training).flatten(1))


def data(kind: str, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    if kind == "cnn":
        return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    return x, (x.norm(dim=1) < 0.6).long()


OPTIMIZERS: dict[str, Callable] = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4),
}


def train(kind: str, opt_name: str, with_watch: bool, steps: int = 30) -> tuple[dict, dict]:
    torch.manual_seed(0)
    model = CNN() if kind == "cnn" else mlp()
    opt = OPTIMIZERS[opt_name](model.parameters())
    x, y = data(kind)
    w = watch(model, opt, n_classes=3 if kind == "cnn" else 2) if with_watch else None
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if w:
            w.step(loss)
        opt.step()
    if w:
        w.close()
    return model.state_dict(), opt.state_dict()["state"]


@pytest.mark.parametrize("kind,opt_name", [("mlp", "adam"), ("mlp", "sgd_momentum"), ("cnn", "adam")])
def test_watch_does_not_change_training(kind: str, opt_name: str) -> None:
    """Same seed, same data: the weights and optimizer state are bit-identical with watch."""
    w0, s0 = train(kind, opt_name, with_watch=False)
    w1, s1 = train(kind, opt_name, with_watch=True)
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    for i in s0:
        for k, v in s0[i].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(s1[i][k])), (i, k)


def hook_count(model: nn.Module, opt: torch.optim.Optimizer | None = None) -> int:
    n = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in model.modules())
    n += sum(len(p._backward_hooks or {}) for p in model.parameters())
    if opt is not None:
        n += len(opt._optimizer_step_pre_hooks) + len(opt._optimizer_step_post_hooks)
    return n


def test_hooks_live_only_around_scheduled_steps_and_close_removes_all() -> None:
    model, (x, y) = mlp(), data("mlp")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert hook_count(model, opt) == 0
    w = watch(model, opt, schedule=lambda s: s in (1, 5, 8))
    counts = []
    for _ in range(7):
        counts.append(hook_count(model, opt))  # before this step's forward
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        w.step(loss)
        opt.step()
    # between measured steps only the eval-mode sentinel stays: one forward hook on the model
    # itself, for models with Dropout or BatchNorm (eval_in_train_mode), else none
    sentinel = int(any(isinstance(m, (nn.Dropout, nn.BatchNorm1d)) for m in model.modules()))
    assert counts[0] > sentinel and counts[4] > sentinel  # armed for steps 1 and 5
    assert counts[1] == counts[2] == counts[3] == counts[5] == sentinel
    assert hook_count(model, opt) > sentinel  # armed for step 8
    w.close()
    assert hook_count(model, opt) == 0
    w.step(1.0)  # stepping a closed watcher never re-arms
    assert hook_count(model, opt) == 0


def test_context_manager_closes() -> None:
    model = mlp()
    with watch(model) as w:
        assert isinstance(w, Watcher) and hook_count(model) > 0
    assert hook_count(model) == 0


@pytest.mark.parametrize("step,measured", [(1, True), (20, True), (21, False), (30, True),
                                           (199, False), (200, True), (210, False), (250, True)])
def test_default_schedule(step: int, measured: bool) -> None:
    assert default_schedule(step) is measured
    assert SCHEDULE_TIERS[-1][0] is None


def test_optimizer_omitted_says_which_checks_are_skipped() -> None:
    model, (x, y) = mlp(), data("mlp")
    opt = torch.optim.SGD(model.parameters(), lr=1e-7)  # would be lr_too_low if watched
    with watch(model, n_classes=2) as w:
        for _ in range(60):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            w.step(loss)
            opt.step()
    skipped = [f for f in w.findings if f.code == "checks_skipped"]
    assert len(skipped) == 1 and skipped[0].severity == "info"
    assert "lr_too_low" in skipped[0].message
    assert "lr_too_low" not in codes_of(w.findings)


def run_accumulation(mode: str, steps: int = 12) -> set[str]:
    """Train with one of several .grad handling styles; return the codes found."""
    torch.manual_seed(0)
    model, (x, y) = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)), data("mlp")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, opt) as w:
        for _ in range(steps):
            if mode == "zero_grad":
                opt.zero_grad()
            elif mode == "zeros_not_none":
                opt.zero_grad(set_to_none=False)
            if mode == "micro_batches":
                opt.zero_grad()
                for part in range(4):
                    F.cross_entropy(model(x[part::4]), y[part::4]).div(4).backward()
                loss = torch.tensor(0.5)
            else:
                if mode == "clip":
                    opt.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                if mode == "clip":
                    nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
            w.step(loss)
            opt.step()
    return codes_of(w.findings)


@pytest.mark.parametrize("mode,expect", [("zero_grad", False), ("zeros_not_none", False),
                                         ("clip", False), ("micro_batches", False),
                                         ("missing", True)])
def test_grad_accumulation_only_when_zero_grad_is_missing(mode: str, expect: bool) -> None:
    assert ("grad_accumulation" in run_accumulation(mode)) is expect


def test_conv_dead_channels_and_no_pollution_from_eval_passes() -> None:
    torch.manual_seed(0)
    model, (x, y) = CNN(), data("cnn")
    nn.init.constant_(model.conv.bias, -20.0)  # every channel dead
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with watch(model, opt, n_classes=3) as w:
        for _ in range(10):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            w.step(loss)
            opt.step()
            with torch.no_grad():  # an evaluation pass on wild inputs must not be measured
                model(x * 1000 + 50)
    found = codes_of(w.findings)
    assert "dead_units" in found and "unnormalized_inputs" not in found
    assert [f.layer for f in w.findings if f.code == "dead_units"] == ["act"]


def test_findings_are_deduplicated_and_counted() -> None:
    model, (x, y) = mlp(), data("mlp")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with watch(model, opt, n_classes=2) as w:
        for _ in range(25):
            opt.zero_grad()
            loss = F.cross_entropy(model(x + 10), y)
            loss.backward()
            w.step(loss)
            opt.step()
    hits = [f for f in w.findings if f.code == "unnormalized_inputs"]
    assert len(hits) == 1
    assert (hits[0].count, hits[0].first_step, hits[0].step) == (20, 1, 20)  # measured steps 1-20


@pytest.mark.parametrize("width", [8, 400])  # 400x400 is measured on a strided subsample
def test_update_ratio_and_grad_norm_match_a_direct_computation(width: int) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, 2))
    x, y = data("mlp")
    lr = 1e-3
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with watch(model, opt) as w:
        expected = []
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            w.step(loss)
            g, wt = model[2].weight.grad, model[2].weight.detach()
            expected.append((lr * g.norm() / wt.norm()).item())
            assert w.last_measurement["grad/2"] == pytest.approx(g.norm().item(), rel=1e-5)
            opt.step()
        w.step(loss.detach())  # the ratio of step 3 is collected at the next measured step
    rel = 1e-4 if width == 8 else 0.05
    assert w.update_ratios["2"] == pytest.approx(expected, rel=rel)


def _rows(kind: str) -> nn.Module:
    model = nn.Sequential(nn.Linear(200, 8), nn.Tanh(), nn.Linear(8, 2))
    with torch.no_grad():
        first = model[0]
        if kind in ("constant", "screen_only"):
            first.weight.fill_(0.05)
            first.bias.fill_(0.1)
        if kind == "screen_only":  # rows differ only in column 1, which the screen skips
            first.weight[:, 1] = torch.arange(8.0)
    return model


@pytest.mark.parametrize("kind,expect", [("random", False), ("constant", True), ("screen_only", False)])
def test_symmetric_init_screen_is_confirmed_on_the_full_weights(kind: str, expect: bool) -> None:
    model = _rows(kind)
    x, y = torch.randn(32, 200), torch.randint(0, 2, (32,))
    with watch(model, schedule=lambda s: s == 1) as w:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        w.step(loss)
    assert ("symmetric_init" in codes_of(w.findings)) is expect


def test_sparse_schedule_keeps_memory_bounded_and_still_sees_a_nan() -> None:
    model = mlp()
    with watch(model, schedule=lambda s: False) as w:
        for i in range(1000):
            w.step(torch.tensor(math.nan if i == 300 else 1.0))
            assert len(w._pending) <= 200
    assert "nonfinite_loss" in codes_of(w.findings)
