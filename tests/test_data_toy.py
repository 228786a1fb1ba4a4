"""Toy 2-D datasets: determinism, balance, shapes, geometry, independent splits, errors."""
from __future__ import annotations

import math

import pytest
import torch

from trainlab.data.toy import TOY_GENERATORS, Dataset, Split, class_counts, make_toy, toy_params
from trainlab.errors import UsageError

NAMES = sorted(TOY_GENERATORS)
EXPECTED_CLASSES = {"circles": 2, "moons": 2, "gaussians": 3, "xor": 2, "spirals": 2, "rings": 3}


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_class_count(name):
    d = make_toy(name, 101, 37, 5, seed=3)
    assert isinstance(d, Dataset) and d.name == name
    assert d.n_classes == EXPECTED_CLASSES[name]
    assert d.input_shape == (2,) and d.input_dim == 2
    for split, n in ((d.train, 101), (d.val, 37), (d.test, 5)):
        assert split.x.shape == (n, 2) and split.x.dtype == torch.float32
        assert split.y.shape == (n,) and split.y.dtype == torch.int64
        assert torch.isfinite(split.x).all()
        assert int(split.y.min()) >= 0 and int(split.y.max()) < d.n_classes


@pytest.mark.parametrize("name", NAMES)
def test_balanced_and_shuffled(name):
    d = make_toy(name, 301, 1, 1, seed=0)
    counts = torch.bincount(d.train.y, minlength=d.n_classes)
    assert counts.tolist() == class_counts(301, d.n_classes)
    assert int(counts.max() - counts.min()) <= 1
    assert not torch.equal(d.train.y, torch.sort(d.train.y).values), "labels come out sorted: not shuffled"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_by_seed(name):
    a, b, c = (make_toy(name, 64, 16, 16, seed=s) for s in (7, 7, 8))
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(a, split).x, getattr(b, split).x)
        assert torch.equal(getattr(a, split).y, getattr(b, split).y)
    assert not torch.equal(a.train.x, c.train.x)


@pytest.mark.parametrize("name", NAMES)
def test_splits_independent_of_other_sizes(name):
    small = make_toy(name, 50, 10, 20, seed=1)
    big = make_toy(name, 50, 500, 20, seed=1)
    assert torch.equal(small.train.x, big.train.x) and torch.equal(small.test.x, big.test.x)
    assert not torch.equal(small.train.x, small.test.x[:20].repeat(3, 1)[:50])  # streams differ
    assert not torch.equal(small.train.x[:10], small.val.x)


def test_circles_radii_and_noise_statistics():
    d = make_toy("circles", 4000, 1, 1, seed=0)
    r = d.train.x.double().norm(dim=1)
    means = [float(r[d.train.y == c].mean()) for c in range(2)]
    # noise std 0.15 in 2-D adds about sigma^2 / (2 r) to the mean radius
    assert means[0] == pytest.approx(1.0, abs=0.03) and means[1] == pytest.approx(2.0, abs=0.03)
    stds = [float(r[d.train.y == c].std()) for c in range(2)]
    assert stds == pytest.approx([0.15, 0.15], abs=0.02)
    angles = torch.atan2(d.train.x[:, 1], d.train.x[:, 0])
    hist = torch.histc(angles, bins=8, min=-math.pi, max=math.pi)
    assert float(hist.min()) > 0.8 * 4000 / 8, "angles are not uniform"


def test_circles_centre_shift():
    base = make_toy("circles", 2000, 1, 1, seed=0)
    moved = make_toy("circles", 2000, 1, 1, seed=0, center=[10, 10])
    assert torch.allclose(moved.train.x - 10.0, base.train.x, atol=1e-5)
    assert moved.train.x.mean(dim=0).tolist() == pytest.approx([10.0, 10.0], abs=0.1)
    assert moved.source == "generated: circles(seed=0, center=(10, 10))"
    assert base.source == "generated: circles(seed=0)"


def test_lab_circles_are_separable_enough():
    # the lab reaches ~0.99 val accuracy: the radius threshold 1.5 must do at least that well
    d = make_toy("circles", 100, 10000, 0, seed=0)
    pred = (d.val.x.norm(dim=1) > 1.5).long()
    assert float((pred == d.val.y).float().mean()) > 0.99
    assert len(d.test) == 0 and d.test.x.shape == (0, 2)


def test_rings_many_classes():
    d = make_toy("rings", 1200, 1, 1, seed=0, n_rings=4, noise=0.05)
    assert d.n_classes == 4
    r = d.train.x.double().norm(dim=1)
    assert [float(r[d.train.y == c].mean()) for c in range(4)] == pytest.approx([1, 2, 3, 4], abs=0.03)
    e = make_toy("rings", 300, 1, 1, seed=0, radii=[0.5, 1.0, 1.5, 2.0, 2.5])
    assert e.n_classes == 5


def test_gaussian_class_means_on_circle():
    d = make_toy("gaussians", 3000, 1, 1, seed=0, k=5, std=0.2, radius=4.0)
    assert d.n_classes == 5
    for c in range(5):
        mean = d.train.x[d.train.y == c].double().mean(dim=0)
        angle = 2 * math.pi * c / 5
        assert mean.tolist() == pytest.approx([4 * math.cos(angle), 4 * math.sin(angle)], abs=0.05)


def test_xor_labels_follow_quadrants():
    d = make_toy("xor", 2000, 1, 1, seed=0, std=0.1)
    sign_product = torch.sign(d.train.x[:, 0]) * torch.sign(d.train.x[:, 1])
    assert torch.equal((sign_product < 0).long(), d.train.y)


def test_spirals_arms_and_moons_shape():
    d = make_toy("spirals", 600, 1, 1, seed=0, k=3)
    assert d.n_classes == 3 and float(d.train.x.norm(dim=1).max()) < 1.3
    m = make_toy("moons", 1000, 1, 1, seed=0, noise=0.0)
    upper = m.train.x[m.train.y == 0]
    assert torch.allclose(upper.norm(dim=1), torch.ones(len(upper)), atol=1e-5)


def test_toy_params_lists_defaults():
    assert toy_params("circles") == {"radii": (1.0, 2.0), "noise": 0.15, "center": (0.0, 0.0)}


@pytest.mark.parametrize("call, words", [
    (lambda: make_toy("circels", 10, 1, 1, seed=0), ["circels", "did you mean 'circles'", "moons"]),
    (lambda: make_toy("circles", 10, 1, 1, seed=0, nosie=0.1), ["nosie", "did you mean 'noise'", "radii"]),
    (lambda: make_toy("circles", 0, 1, 1, seed=0), ["n_train", "0"]),
    (lambda: make_toy("circles", 10, -1, 1, seed=0), ["n_val", "-1"]),
    (lambda: make_toy("circles", 10, 1, 1, seed=0, noise=-0.1), ["noise", "-0.1"]),
    (lambda: make_toy("circles", 10, 1, 1, seed=0, radii=(2, 1)), ["radii", "increasing"]),
    (lambda: make_toy("circles", 10, 1, 1, seed=0, radii=(1, 2, 3)), ["exactly 2", "rings"]),
    (lambda: make_toy("circles", 10, 1, 1, seed=0, center="middle"), ["center", "middle"]),
    (lambda: make_toy("gaussians", 10, 1, 1, seed=0, k=1), ["k", ">= 2", "1"]),
    (lambda: make_toy("spirals", 10, 1, 1, seed=0, k=1.5), ["k", "1.5"]),
    (lambda: make_toy("rings", 10, 1, 1, seed=0, n_rings=3, radii=[1, 2]), ["n_rings=3", "2 radii"]),
    (lambda: make_toy("moons", 10, 1, 1, seed=0, noise=float("nan")), ["noise", "nan"]),
])
def test_bad_input_is_a_usage_error(call, words):
    with pytest.raises(UsageError) as err:
        call()
    for w in words:
        assert w in str(err.value)


def test_split_checks_lengths():
    with pytest.raises(ValueError):
        Split(torch.zeros(3, 2), torch.zeros(2, dtype=torch.int64))
    assert len(Split.empty(5)) == 0 and Split.empty(5).x.shape == (0, 5)
