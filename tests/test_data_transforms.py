"""Transforms: fitted on train only, exact where they should be, loud on bad specs and data."""
from __future__ import annotations

import pytest
import torch

from trainlab.data.toy import Dataset, Split, make_toy
from trainlab.data.transforms import TRANSFORMS, Standardize, apply_transforms, make_transform
from trainlab.errors import DataError, UsageError


def _correlated(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 3, generator=g, dtype=torch.float64)
    mix = torch.tensor([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [1.0, 0.0, 0.1]], dtype=torch.float64)
    return (z @ mix + torch.tensor([5.0, -3.0, 1.0], dtype=torch.float64)).float()


def _dataset(n_train=500, n_val=200) -> Dataset:
    y = lambda n: torch.zeros(n, dtype=torch.int64)  # noqa: E731
    return Dataset("corr", Split(_correlated(n_train, 0), y(n_train)), Split(_correlated(n_val, 1) * 2, y(n_val)),
                   Split.empty(3), n_classes=1, source="test", notes=["original"])


def _cov(x: torch.Tensor) -> torch.Tensor:
    xc = x.double() - x.double().mean(dim=0)
    return xc.T @ xc / x.shape[0]


def test_table_names():
    assert set(TRANSFORMS) == {"standardize", "center", "scale", "offset", "pca", "whiten"}


def test_standardize_uses_train_statistics_only():
    d = _dataset()
    out = apply_transforms(d, [{"name": "standardize"}])
    assert out.train.x.double().mean(dim=0).abs().max() < 1e-5
    std = out.train.x.double().std(dim=0, unbiased=False)
    assert torch.allclose(std, torch.ones(3, dtype=torch.float64), atol=1e-5)
    mean, std = d.train.x.double().mean(dim=0), d.train.x.double().std(dim=0, unbiased=False)
    assert torch.allclose(out.val.x, ((d.val.x.double() - mean) / std).float(), atol=1e-6)
    assert out.val.x.double().mean(dim=0).abs().max() > 0.5, "val was standardized with its own stats"
    assert out.notes[0] == "original" and out.notes[1].startswith("standardize")
    assert d.notes == ["original"] and out.test.x.shape == (0, 3)


def test_standardize_constant_feature_keeps_scale_one():
    x = torch.stack([torch.arange(10.0), torch.full((10,), 4.0)], dim=1)
    t = Standardize().fit(x)
    out = t.apply(x)
    assert torch.equal(out[:, 1], torch.zeros(10))
    assert "constant" in t.note and "[1]" in t.note
    assert t.apply(torch.tensor([[0.0, 6.0]]))[0, 1] == 2.0  # centred only, scale 1


def test_scale_and_offset_are_exact():
    d = make_toy("circles", 50, 20, 0, seed=0)
    out = apply_transforms(d, [{"name": "scale", "factor": 0.01}])
    assert torch.equal(out.train.x, (d.train.x.double() * 0.01).float())
    out = apply_transforms(d, [{"name": "offset", "value": [10, 10]}])
    assert torch.equal(out.val.x, (d.val.x.double() + 10).float())
    out = apply_transforms(d, [{"name": "offset", "value": -1.5}, {"name": "scale", "factor": [2, 3]}])
    shifted = (d.train.x.double() - 1.5).float()  # each step hands float32 to the next
    assert torch.equal(out.train.x, (shifted.double() * torch.tensor([2.0, 3.0], dtype=torch.float64)).float())
    assert len(out.notes) == 2


def test_center_subtracts_train_mean():
    d = _dataset()
    out = apply_transforms(d, [{"name": "center"}])
    assert out.train.x.double().mean(dim=0).abs().max() < 1e-5
    assert torch.allclose(out.val.x, d.val.x - d.train.x.double().mean(dim=0).float(), atol=1e-5)


@pytest.mark.parametrize("zca", [False, True])
def test_whiten_gives_identity_covariance_on_train(zca):
    d = _dataset()
    out = apply_transforms(d, [{"name": "whiten", "eps": 1e-8, "zca": zca}])
    assert torch.allclose(_cov(out.train.x), torch.eye(3, dtype=torch.float64), atol=1e-4)
    assert not torch.allclose(_cov(out.val.x), torch.eye(3, dtype=torch.float64), atol=0.1)
    if zca:  # ZCA stays close to the input axes: each output correlates most with its own input
        corr = torch.corrcoef(torch.cat([out.train.x, d.train.x], dim=1).T)[:3, 3:]
        assert torch.equal(corr.abs().argmax(dim=1), torch.arange(3))


def test_pca_reduces_dims_and_orders_by_variance():
    d = _dataset()
    out = apply_transforms(d, [{"name": "pca", "n_components": 2}])
    assert out.train.x.shape == (500, 2) and out.val.x.shape == (200, 2) and out.test.x.shape == (0, 2)
    assert out.input_shape == (2,) and out.input_dim == 2
    var = out.train.x.double().var(dim=0, unbiased=False)
    assert var[0] > var[1]
    full = _cov(d.train.x)
    assert float(var.sum()) <= float(torch.trace(full)) + 1e-4
    assert torch.allclose(_cov(out.train.x) - torch.diag(var), torch.zeros(2, 2, dtype=torch.float64), atol=1e-4)
    same = apply_transforms(d, [{"name": "pca", "n_components": None}])
    assert same.train.x.shape == (500, 3)


def test_pca_signs_are_deterministic():
    d = _dataset()
    a = apply_transforms(d, [{"name": "pca"}])
    b = apply_transforms(d, [{"name": "pca"}])
    assert torch.equal(a.train.x, b.train.x)


@pytest.mark.parametrize("spec, words", [
    ({"factor": 2}, ["'name'", "standardize"]),
    ({"name": "standardise"}, ["standardise", "did you mean 'standardize'"]),
    ({"name": "scale", "factr": 2}, ["factr", "did you mean 'factor'", "valid keys: factor"]),
    ({"name": "standardize", "eps": 1}, ["eps", "standardize", "none"]),
    ({"name": "scale", "factor": "big"}, ["factor", "big"]),
    ({"name": "whiten", "eps": -1}, ["eps", "-1"]),
    ({"name": "whiten", "zca": "yes"}, ["zca", "yes"]),
    ({"name": "pca", "n_components": 5}, ["n_components", "1..3", "5"]),
    ({"name": "pca", "n_components": 0}, ["n_components", "0"]),
])
def test_bad_spec_is_a_usage_error(spec, words):
    with pytest.raises(UsageError) as err:
        apply_transforms(_dataset(), [spec])
    for w in words:
        assert w in str(err.value)


def test_per_feature_value_of_wrong_length_is_a_data_error():
    with pytest.raises(DataError, match="3 values but the data has 2 features"):
        apply_transforms(make_toy("circles", 10, 1, 0, seed=0), [{"name": "offset", "value": [1, 2, 3]}])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("where", ["train", "val"])
def test_nonfinite_inputs_are_a_data_error(bad, where):
    d = _dataset()
    getattr(d, where).x[3, 1] = bad
    with pytest.raises(DataError, match="non-finite"):
        apply_transforms(d, [{"name": "scale", "factor": 1.0}])


def test_apply_before_fit_and_empty_train():
    with pytest.raises(RuntimeError, match="before fit"):
        make_transform({"name": "center"}).apply(torch.zeros(2, 2))
    with pytest.raises(DataError, match="empty"):
        make_transform({"name": "center"}).fit(torch.zeros(0, 2))
