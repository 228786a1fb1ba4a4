"""Input transforms, fitted on the training split only and applied to every split.

Each transform has ``fit(x_train) -> self`` and ``apply(x) -> x``. Statistics come from train
alone, so validation and test numbers never leak into the model's input pipeline (the habit the
lab's "normalize with training statistics" asks for). ``apply_transforms`` runs a list of specs
such as ``[{"name": "standardize"}, {"name": "pca", "n_components": 1}]`` and records each step in
``Dataset.notes``.

Conventions: statistics are computed in float64 and results returned as float32; variances and
covariances are population ones (divide by N), so a standardized train split has std exactly 1.
"""
from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any, Mapping

import torch

from trainlab.data.toy import Dataset, Split
from trainlab.errors import DataError, UsageError, unknown_choice

CONSTANT_STD = 1e-12  # a feature whose train std is at or below this is treated as constant


def _finite(x: torch.Tensor, what: str) -> torch.Tensor:
    """``x`` as float64; NaN or inf is a DataError (a transform would silently spread it)."""
    x = torch.as_tensor(x)
    if x.dim() != 2:
        raise DataError(f"{what}: transforms expect (N, d) inputs, got shape {tuple(x.shape)}")
    x = x.to(torch.float64)
    bad = ~torch.isfinite(x)
    if bad.any():
        rows = torch.nonzero(bad.any(dim=1)).flatten()
        raise DataError(f"{what}: {int(bad.sum())} non-finite values (NaN/inf) in {len(rows)} rows, "
                        f"first at row {int(rows[0])}; clean the data first")
    return x


class Transform:
    """Base class: subclasses set fitted state in ``fit`` and use it in ``apply``."""

    name = "transform"

    def __init__(self) -> None:
        self.fitted = False
        self.note = ""  # one line for Dataset.notes, set by fit

    def fit(self, x_train: torch.Tensor) -> "Transform":
        x = _finite(x_train, f"{self.name}.fit")
        if x.shape[0] == 0:
            raise DataError(f"{self.name}: cannot fit on an empty training split")
        self._fit(x)
        self.fitted = True
        return self

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fitted:
            raise RuntimeError(f"{self.name}: apply() called before fit()")
        return self._apply(_finite(x, f"{self.name}.apply")).to(torch.float32)

    def _fit(self, x: torch.Tensor) -> None:  # default: nothing to learn
        self.note = self.name

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _vector(name: str, value: Any) -> torch.Tensor:
    """A scalar or per-feature list of finite numbers, as a float64 tensor."""
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise UsageError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if t.dim() > 1 or not torch.isfinite(t).all():
        raise UsageError(f"{name} must be a finite number or a list of finite numbers, got {value!r}")
    return t


def _broadcast(name: str, t: torch.Tensor, d: int) -> torch.Tensor:
    if t.dim() == 1 and t.numel() != d:
        raise DataError(f"{name} has {t.numel()} values but the data has {d} features")
    return t


class Standardize(Transform):
    """Per-feature zero mean and unit std, from train. Constant features keep scale 1."""

    name = "standardize"

    def _fit(self, x: torch.Tensor) -> None:
        self.mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False)
        constant = std <= CONSTANT_STD
        self.std = torch.where(constant, torch.ones_like(std), std)
        self.note = f"standardize: per-feature mean/std from train (n={x.shape[0]})"
        if constant.any():
            idx = torch.nonzero(constant).flatten().tolist()
            self.note += f"; features {idx} are constant on train: centred only, scale left at 1"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Center(Transform):
    """Subtract the per-feature train mean."""

    name = "center"

    def _fit(self, x: torch.Tensor) -> None:
        self.mean = x.mean(dim=0)
        self.note = f"center: per-feature mean from train (n={x.shape[0]})"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.mean


class Scale(Transform):
    """Multiply by a fixed factor (scalar or per feature): the lab's data-scaling experiment."""

    name = "scale"

    def __init__(self, factor: float | list[float] = 1.0) -> None:
        super().__init__()
        self.factor = _vector("factor", factor)

    def _fit(self, x: torch.Tensor) -> None:
        _broadcast("scale.factor", self.factor, x.shape[1])
        self.note = f"scale: x * {self.factor.tolist()}"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class Offset(Transform):
    """Add a fixed value (scalar or per feature), e.g. [10, 10] to move circles off the origin."""

    name = "offset"

    def __init__(self, value: float | list[float] = 0.0) -> None:
        super().__init__()
        self.value = _vector("value", value)

    def _fit(self, x: torch.Tensor) -> None:
        _broadcast("offset.value", self.value, x.shape[1])
        self.note = f"offset: x + {self.value.tolist()}"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.value


def _eig(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train mean, covariance eigenvalues (descending) and eigenvectors (columns, sign fixed)."""
    mean = x.mean(dim=0)
    xc = x - mean
    cov = xc.T @ xc / x.shape[0]
    vals, vecs = torch.linalg.eigh(cov)
    vals, vecs = vals.flip(0).clamp_min(0.0), vecs.flip(1)
    # deterministic signs: the largest-magnitude entry of each component is positive
    pick = vecs.abs().argmax(dim=0)
    signs = torch.sign(vecs[pick, torch.arange(vecs.shape[1])])
    return mean, vals, vecs * torch.where(signs == 0, 1.0, signs)


def _components(n_components: Any, d: int) -> int:
    if n_components is None:
        return d
    if isinstance(n_components, bool) or not isinstance(n_components, int) or not 1 <= n_components <= d:
        raise UsageError(f"n_components must be an integer in 1..{d} (or null for all), got {n_components!r}")
    return n_components


class PCA(Transform):
    """Project centred data onto the top ``n_components`` principal axes of train (null = all)."""

    name = "pca"

    def __init__(self, n_components: int | None = None) -> None:
        super().__init__()
        self.n_components = n_components

    def _fit(self, x: torch.Tensor) -> None:
        k = _components(self.n_components, x.shape[1])
        self.mean, vals, vecs = _eig(x)
        self.components = vecs[:, :k]
        kept = float(vals[:k].sum() / vals.sum()) if vals.sum() > 0 else 1.0
        self.note = f"pca: {x.shape[1]} -> {k} dims fitted on train, {kept:.1%} of train variance kept"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) @ self.components


class Whiten(Transform):
    """PCA whitening (identity covariance on train); ``zca`` rotates back to the input axes.

    ``eps`` is added to each eigenvalue before the inverse square root, so near-constant
    directions are not blown up: the train covariance is lambda / (lambda + eps), close to 1.
    """

    name = "whiten"

    def __init__(self, eps: float = 1e-5, zca: bool = False, n_components: int | None = None) -> None:
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
            raise UsageError(f"eps must be a number >= 0, got {eps!r}")
        if not isinstance(zca, bool):
            raise UsageError(f"zca must be true or false, got {zca!r}")
        if zca and n_components is not None:
            raise UsageError("whiten: zca keeps all dims; drop n_components or set zca: false")
        self.eps, self.zca, self.n_components = float(eps), zca, n_components

    def _fit(self, x: torch.Tensor) -> None:
        k = _components(self.n_components, x.shape[1])
        self.mean, vals, vecs = _eig(x)
        vecs, vals = vecs[:, :k], vals[:k]
        if (vals + self.eps <= 0).any():
            raise DataError("whiten: train covariance is singular; set eps > 0 or reduce n_components")
        self.matrix = vecs / torch.sqrt(vals + self.eps)
        if self.zca:
            self.matrix = self.matrix @ vecs.T
        kind = "zca" if self.zca else "pca"
        self.note = f"whiten ({kind}, eps={self.eps:g}): {x.shape[1]} -> {k} dims, fitted on train"

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) @ self.matrix


TRANSFORMS: dict[str, type[Transform]] = {
    "standardize": Standardize,
    "center": Center,
    "scale": Scale,
    "offset": Offset,
    "pca": PCA,
    "whiten": Whiten,
}


def make_transform(spec: Mapping[str, Any]) -> Transform:
    """An unfitted transform from a spec such as ``{"name": "scale", "factor": 0.01}``."""
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise UsageError(f"a transform spec needs a 'name' key, got {spec!r}; valid names: {', '.join(TRANSFORMS)}")
    name = spec["name"]
    if name not in TRANSFORMS:
        raise UsageError(unknown_choice("transform", name, TRANSFORMS))
    cls = TRANSFORMS[name]
    valid = list(inspect.signature(cls.__init__).parameters)[1:]
    params = {k: v for k, v in spec.items() if k != "name"}
    for key in params:
        if key not in valid:
            raise UsageError(unknown_choice("key", key, valid, where=f" for transform {name!r}", label="valid keys"))
    return cls(**params)


def apply_transforms(dataset: Dataset, specs: list[Mapping[str, Any]]) -> Dataset:
    """A new Dataset with each transform fitted on train and applied to train, val and test."""
    train, val, test = dataset.train, dataset.val, dataset.test
    notes = list(dataset.notes)
    shape = dataset.input_shape
    for spec in specs:
        t = make_transform(spec).fit(train.x)
        train, val, test = (Split(t.apply(s.x), s.y) for s in (train, val, test))
        notes.append(t.note)
        if train.x.shape[1] != dataset.input_dim:
            shape = (int(train.x.shape[1]),)  # dims changed (pca): the image shape no longer applies
    return replace(dataset, train=train, val=val, test=test, input_shape=shape, notes=notes)
