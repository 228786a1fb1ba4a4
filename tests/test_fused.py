"""The hand-written training step (trainlab.nn.fused) equals the autograd reference, case by case.

Both of its paths: the tensor operations, and the compiled kernel for small nets
(``trainlab.nn.ckernel``, taken without dropout when a C compiler is there); ``path`` picks one.
"""
from __future__ import annotations

import pytest
import torch

from trainlab.loop import TrainSpec, autograd_loss_and_grads, evaluate, fit
from trainlab.nn import ckernel, fused
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer

K, B, D = 4, 12, 3
ACTIVATIONS = ["identity", "relu", "leaky_relu", "tanh", "sigmoid", "elu", "selu", "gelu"]
# (loss, classes): two-class cross-entropy takes the logit-difference head, three classes the general one
LOSSES = [("cross_entropy", 2), ("cross_entropy", 3), ("mse_softmax", 3), ("mse_sigmoid", 2)]
REL_TOL = 5e-6  # float32: max |fused - reference| relative to max |reference|, per tensor
HAS_KERNEL = ckernel.enabled() and ckernel.library((D, 7, 4, 2), "relu", "cross_entropy", False) is not None
# a platform without a C compiler runs the tensor path only: that skip is allowed under CI=true
needs_kernel = [pytest.mark.skipif(not HAS_KERNEL, reason="no C compiler for the kernel"), pytest.mark.allow_skip_in_ci]
# (dropout, path): the kernel applies without dropout; with dropout the tensor path always runs
MODES = [pytest.param((False, "kernel"), id="nodrop-kernel", marks=needs_kernel),
         pytest.param((False, "tensors"), id="nodrop-tensors"), pytest.param((True, "tensors"), id="drop")]


@pytest.fixture
def use_path(monkeypatch):
    def use(path: str) -> None:
        if path == "tensors":
            monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    return use


def _population(activation: str, classes: int, dropout: bool = False, affine: bool = False,
                sizes: tuple[int, ...] = (D, 7, 4)) -> PopulationMLP:
    kw = {}
    if dropout:
        kw |= {"p_input": torch.tensor([0.0, 0.1, 0.2, 0.3]), "p_hidden": torch.tensor([0.5, 0.0, 0.2, 0.1])}
    if affine:
        kw |= {"input_scale": torch.tensor([1.0, 0.5, 2.0, 1.5]), "input_offset": torch.tensor([0.0, -1.0, 0.3, 1.0])}
    inits = [MemberInit(s, "normal", 0.7, "normal", 0.3) for s in range(K)]
    return PopulationMLP.create([*sizes, classes], activation, inits, run_seed=11, **kw)


def _spec(loss: str, penalties: bool) -> TrainSpec:
    if not penalties:
        return TrainSpec(loss=loss)
    return TrainSpec(loss=loss, l1=torch.tensor([0.0, 0.01, 0.003, 0.02]), l2=torch.tensor([0.05, 0.0, 0.01, 0.2]))


def _batch(classes: int, per_member: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (K, B) if per_member else (B,)
    return torch.randn(*shape, D, generator=g), torch.randint(0, classes, shape, generator=g)


def _assert_matches(ref, got) -> None:
    r_obj, r_loss, r_grads = ref
    f_obj, f_loss, f_grads = got
    assert len(f_grads) == len(r_grads)
    for name, r, f in [("objective", r_obj, f_obj), ("loss", r_loss, f_loss)] + [
            (f"grad[{i}]", r, f) for i, (r, f) in enumerate(zip(r_grads, f_grads))]:
        assert f.shape == r.shape and f.dtype == r.dtype, name
        err = (f - r).abs().max().item()
        assert err <= REL_TOL * max(r.abs().max().item(), 1e-3), f"{name}: max error {err:.3g}"


@pytest.mark.parametrize("per_member", [False, True], ids=["shared_x", "member_x"])
@pytest.mark.parametrize("penalties", [False, True], ids=["nopen", "l1l2"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("loss,classes", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_matches_autograd(activation, loss, classes, mode, penalties, per_member, use_path):
    dropout, path = mode
    use_path(path)
    pop = _population(activation, classes, dropout)
    spec = _spec(loss, penalties)
    assert fused.supports(pop, spec)
    x, y = _batch(classes, per_member)
    alive = torch.ones(K, dtype=torch.bool)
    params = pop.parameters()
    _assert_matches(autograd_loss_and_grads(pop, params, x, y, spec, 5, alive),
                    fused.loss_and_grads(pop, params, x, y, spec, 5, alive))


@pytest.mark.parametrize("per_member", [False, True], ids=["shared_x", "member_x"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("classes", [2, 3])
def test_input_scale_offset(classes, mode, per_member, use_path):
    dropout, path = mode
    use_path(path)
    pop = _population("tanh", classes, dropout, affine=True)
    x, y = _batch(classes, per_member, seed=1)
    alive = torch.ones(K, dtype=torch.bool)
    spec = TrainSpec()
    _assert_matches(autograd_loss_and_grads(pop, pop.parameters(), x, y, spec, 2, alive),
                    fused.loss_and_grads(pop, pop.parameters(), x, y, spec, 2, alive))


@pytest.mark.parametrize("sizes", [(D,), (D, 5), (D, 6, 5, 4)], ids=["linear", "one_hidden", "three_hidden"])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_depths(sizes, classes, mode, use_path):
    dropout, path = mode
    use_path(path)
    pop = _population("relu", classes, dropout=dropout, sizes=sizes)
    x, y = _batch(classes, False, seed=2)
    alive = torch.ones(K, dtype=torch.bool)
    spec = _spec("cross_entropy", True)
    _assert_matches(autograd_loss_and_grads(pop, pop.parameters(), x, y, spec, 9, alive),
                    fused.loss_and_grads(pop, pop.parameters(), x, y, spec, 9, alive))


@pytest.mark.parametrize("per_member", [False, True], ids=["shared_x", "member_x"])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_frozen_member_touches_no_one(classes, per_member, mode, use_path):
    """A frozen member with NaN weights: the others' numbers are bit-identical to a run where it is
    healthy, and match the reference; its objective is its own (nothing shared is summed)."""
    dropout, path = mode
    use_path(path)
    x, y = _batch(classes, per_member, seed=3)
    spec = _spec("cross_entropy", True)
    alive = torch.tensor([True, True, False, True])
    healthy = _population("relu", classes, dropout=dropout)
    broken = _population("relu", classes, dropout=dropout)
    broken.weights[0][2] = float("nan")
    h = fused.loss_and_grads(healthy, healthy.parameters(), x, y, spec, 4, alive)
    b = fused.loss_and_grads(broken, broken.parameters(), x, y, spec, 4, alive)
    others = [0, 1, 3]
    for th, tb in zip([h[0], h[1]] + h[2], [b[0], b[1]] + b[2]):
        assert torch.equal(th[others], tb[others])
    assert torch.isnan(b[0][2])
    ref = autograd_loss_and_grads(healthy, healthy.parameters(), x, y, spec, 4, alive)
    _assert_matches(ref, h)
    for g in h[2]:  # a frozen member's gradient is zero, as autograd's
        assert torch.all(g[2] == 0)


def test_repeat_calls_identical():
    """Scratch buffers are reused between calls: nothing of one call leaks into the next."""
    pop = _population("relu", 2, dropout=True)
    x, y = _batch(2, False)
    alive = torch.ones(K, dtype=torch.bool)
    first = fused.loss_and_grads(pop, pop.parameters(), x, y, TrainSpec(), 1, alive)
    other = _population("tanh", 2)
    fused.loss_and_grads(other, other.parameters(), x * 3, y, TrainSpec(), 2, alive)
    again = fused.loss_and_grads(pop, pop.parameters(), x, y, TrainSpec(), 1, alive)
    for a, b in zip([first[0], first[1]] + first[2], [again[0], again[1]] + again[2]):
        assert torch.equal(a, b)
    fused.release()


@pytest.mark.parametrize("per_member", [False, True], ids=["shared_x", "member_x"])
def test_in_place_edits_are_seen(per_member):
    """Per-member flags, inputs and labels are memoized per tensor version: editing them in place
    (a callback turning dropout on, a transform rescaling x) changes the next step."""
    pop = _population("relu", 2, affine=False)
    x, y = _batch(2, per_member, seed=5)
    alive = torch.ones(K, dtype=torch.bool)
    fused.loss_and_grads(pop, pop.parameters(), x, y, TrainSpec(), 3, alive)
    pop.p_hidden.fill_(0.3)
    pop.input_scale.fill_(2.0)
    x.mul_(-1.5)
    y[..., 0] = 1 - y[..., 0]
    alive[1] = False
    _assert_matches(autograd_loss_and_grads(pop, pop.parameters(), x, y, TrainSpec(), 3, alive),
                    fused.loss_and_grads(pop, pop.parameters(), x, y, TrainSpec(), 3, alive))


@pytest.mark.parametrize("activation", ["prelu", "maxout"])
def test_unsupported_falls_back(activation):
    pop = _population(activation, 2)
    assert not fused.supports(pop, TrainSpec())


def test_fit_fused_equals_fit_autograd(monkeypatch):
    """Training 40 minibatch steps with dropout through fit gives the same weights either way."""
    x, y = _batch(2, False, seed=4)
    x, y = torch.cat([x] * 4), torch.cat([y] * 4)
    spec = TrainSpec(steps=40, batch_size=16, eval_every=20, l2=torch.full((K,), 0.01))
    results = []
    for use_fused in (True, False):
        if not use_fused:
            monkeypatch.setattr(fused, "supports", lambda model, spec: False)
        pop = _population("relu", 2, dropout=True)
        opt = PopulationOptimizer("momentum", pop.parameters(), {"lr": torch.full((K,), 0.05)})
        results.append(fit(pop, opt, (x, y), None, spec).model.parameters())
    for a, b in zip(*results):
        assert (a - b).abs().max().item() < 1e-5


@pytest.mark.skipif(not HAS_KERNEL, reason="no C compiler for the kernel")
@pytest.mark.allow_skip_in_ci
def test_kernel_runs_where_it_applies(monkeypatch):
    """Without dropout the small net takes the kernel, and its provenance says so; with dropout, or
    TRAINLAB_KERNEL=0, the tensor path."""
    pop = _population("relu", 2)
    assert fused.kernel_for(pop, "cross_entropy", pop.weights[0]) is not None
    assert ckernel.status()["kernel"].startswith("compiled C")
    wide = PopulationMLP.create([D, ckernel.MAX_WIDTH + 1, 2], "relu", [MemberInit(0, "normal", 0.1)])
    assert fused.kernel_for(wide, "cross_entropy", wide.weights[0]) is None
    assert fused.kernel_for(_population("gelu", 2), "cross_entropy", pop.weights[0]) is None
    monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    assert fused.kernel_for(pop, "cross_entropy", pop.weights[0]) is None


@pytest.mark.skipif(not HAS_KERNEL, reason="no C compiler for the kernel")
@pytest.mark.allow_skip_in_ci
@pytest.mark.parametrize("activation", list(ckernel.ACTS))
@pytest.mark.parametrize("loss,classes", LOSSES)
def test_kernel_evaluate_matches_tensor_forward(activation, loss, classes, monkeypatch):
    """The kernel's evaluation (loss and accuracy over 37 rows, a partial last block) equals the
    tensor forward's; a member with a NaN weight reads NaN loss, as there."""
    pop = _population(activation, classes, affine=True)
    pop.weights[1][3, 0, 0] = float("nan")
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(37, D, generator=g), torch.randint(0, classes, (37,), generator=g)
    got = evaluate(pop, x, y, loss)
    monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    ref = evaluate(pop, x, y, loss)
    for a, b in zip(got, ref):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert torch.isnan(got[0][3])


@pytest.mark.skipif(not HAS_KERNEL, reason="no C compiler for the kernel")
@pytest.mark.allow_skip_in_ci
def test_kernel_member_bit_identical_in_any_population():
    """The kernel computes each member on its own, so a member's loss and gradients are bit-identical
    alone and inside a population (and split over threads)."""
    big = _population("tanh", 3, affine=True)
    alone = big.select([2])
    x, y = _batch(3, False, seed=7)
    a = fused.loss_and_grads(big, big.parameters(), x, y, TrainSpec(), 0, torch.ones(K, dtype=torch.bool))
    b = fused.loss_and_grads(alone, alone.parameters(), x, y, TrainSpec(), 0, torch.ones(1, dtype=torch.bool))
    for ta, tb in zip([a[0], a[1]] + a[2], [b[0], b[1]] + b[2]):
        assert torch.equal(ta[2], tb[0])


@pytest.mark.parametrize("fn", ["exp", "log", "tanh"])
@pytest.mark.skipif(not HAS_KERNEL, reason="no C compiler for the kernel")
@pytest.mark.allow_skip_in_ci
def test_kernel_math_against_torch(fn):
    """The kernel's exp, log and tanh (its own polynomials) against torch's: within 2 float32 ulps
    over their range (exp's overflow to inf and its subnormal results included), and the same
    NaN, inf and zero behaviour."""
    values = {"exp": torch.linspace(-110, 90, 40001), "log": torch.logspace(-37, 38, 20001),
              "tanh": torch.linspace(-12, 12, 20001)}[fn]
    got = ckernel.math_check(fn, values)
    ref = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh}[fn](values)
    tiny = torch.finfo(torch.float32).tiny
    normal = (ref.abs() >= tiny) & torch.isfinite(ref)
    assert (((got - ref).abs() / ref.abs())[normal]).max().item() < 2.4e-7
    assert torch.equal(got[torch.isinf(ref)], ref[torch.isinf(ref)])
    assert ((got - ref).abs()[~normal & torch.isfinite(ref)] <= 2 * 2.0 ** -149).all()  # subnormals, 0
    special = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0])
    got, ref = ckernel.math_check(fn, special), {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh}[fn](special)
    assert torch.equal(torch.isnan(got), torch.isnan(ref))
    assert torch.equal(got[~torch.isnan(ref)], ref[~torch.isnan(ref)])
