"""2-D toy datasets and the ``Dataset``/``Split`` containers the whole project uses.

Every generator has the signature ``fn(n, generator, **params) -> Split``: it draws ``n`` points
with balanced classes (``n`` split as evenly as possible, lower class ids get the remainder) and
returns them shuffled. ``make_toy`` builds train/val/test from three *independent* random streams
derived from the seed, so changing ``n_val`` never changes the training set.

The lab (seed 000) uses ``circles`` with its defaults: radii 1 and 2, Gaussian noise std 0.15,
centre (0, 0); 100 train points and a 10,000 point validation set.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from trainlab.errors import UsageError, unknown_choice
from trainlab.rng import member_generator

# The random stream of each split: one per split, so split sizes never interact.
SPLIT_STREAMS = {"train": "data/train", "val": "data/val", "test": "data/test"}


@dataclass
class Split:
    """One split of a dataset: inputs ``x`` (N, d) float32 and class labels ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"Split: x has {self.x.shape[0]} rows but y has {self.y.shape[0]}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def empty(cls, dim: int) -> "Split":
        """A split with 0 rows, e.g. the test set the lab protocol leaves untouched."""
        return cls(torch.zeros(0, dim, dtype=torch.float32), torch.zeros(0, dtype=torch.int64))


@dataclass
class Dataset:
    """Train/val/test splits plus where the data came from.

    ``input_shape`` is the shape of one example before flattening ((2,) for toy data, (28, 28)
    for MNIST); ``x`` is always flattened to (N, input_dim). ``notes`` records anything a reader
    of the results should know: fallbacks taken, transforms applied.
    """

    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int
    source: str = ""
    input_shape: tuple = ()
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.input_shape:
            self.input_shape = tuple(self.train.x.shape[1:])

    @property
    def input_dim(self) -> int:
        return int(math.prod(self.input_shape))


# ---------------------------------------------------------------- parameter checks


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UsageError(message)


def _number(name: str, value: Any) -> float:
    _check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
           f"{name} must be a finite number, got {value!r}")
    return float(value)


def _int(name: str, value: Any, low: int) -> int:
    _check(isinstance(value, int) and not isinstance(value, bool) and value >= low,
           f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _nonneg(name: str, value: Any) -> float:
    v = _number(name, value)
    _check(v >= 0, f"{name} must be >= 0, got {value!r}")
    return v


def _pair(name: str, value: Any) -> tuple[float, float]:
    _check(isinstance(value, (list, tuple)) and len(value) == 2, f"{name} must be a pair (x, y), got {value!r}")
    return (_number(name, value[0]), _number(name, value[1]))


def _radii(value: Any, min_len: int) -> list[float]:
    _check(isinstance(value, (list, tuple)) and len(value) >= min_len,
           f"radii must be a list of at least {min_len} numbers, got {value!r}")
    r = [_number("radii", v) for v in value]
    _check(r[0] > 0 and all(a < b for a, b in zip(r, r[1:])),
           f"radii must be positive and strictly increasing, got {list(value)!r}")
    return r


# ---------------------------------------------------------------- helpers


def class_counts(n: int, n_classes: int) -> list[int]:
    """``n`` split as evenly as possible over classes; lower class ids get the remainder."""
    _int("n", n, 1)
    base, extra = divmod(n, n_classes)
    return [base + (1 if c < extra else 0) for c in range(n_classes)]


def _labels(counts: list[int]) -> torch.Tensor:
    return torch.cat([torch.full((c,), k, dtype=torch.int64) for k, c in enumerate(counts)])


def _shuffled(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> Split:
    perm = torch.randperm(len(y), generator=generator)
    return Split(x[perm].to(torch.float32).contiguous(), y[perm].contiguous())


def _noise(n: int, std: float, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(n, 2, generator=generator, dtype=torch.float64) * std


def _angles(n: int, generator: torch.Generator, low: float = 0.0, high: float = 2 * math.pi) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _unit(theta: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)


# ---------------------------------------------------------------- generators


def ring_radii(n_rings: int | None, radii) -> list[float]:
    """The radii of ``rings``: given ``radii``, or 1, 2, ..., n_rings (3 rings when neither is set)."""
    if radii is None:
        return [float(i) for i in range(1, _int("n_rings", 3 if n_rings is None else n_rings, 2) + 1)]
    r = _radii(radii, 2)
    _check(n_rings is None or n_rings == len(r),
           f"n_rings={n_rings!r} does not match the {len(r)} radii {list(radii)!r}")
    return r


def rings(n: int, generator: torch.Generator, n_rings: int | None = None, radii=None, noise: float = 0.1,
          center=(0.0, 0.0)) -> Split:
    """Circles within circles: one class per ring (class 0 innermost), uniform angles, Gaussian noise.

    ``n_rings`` alone gives radii 1..n_rings; ``radii`` sets them explicitly; default 3 rings.
    """
    r = ring_radii(n_rings, radii)
    noise, (cx, cy) = _nonneg("noise", noise), _pair("center", center)
    counts = class_counts(n, len(r))
    y = _labels(counts)
    radius = torch.tensor(r, dtype=torch.float64)[y]
    x = radius[:, None] * _unit(_angles(n, generator)) + _noise(n, noise, generator)
    x = x + torch.tensor([cx, cy], dtype=torch.float64)
    return _shuffled(x, y, generator)


def circles(n: int, generator: torch.Generator, radii=(1.0, 2.0), noise: float = 0.15,
            center=(0.0, 0.0)) -> Split:
    """The lab's data: two concentric rings (class 0 inner, class 1 outer)."""
    _check(isinstance(radii, (list, tuple)) and len(radii) == 2,
           f"circles takes exactly 2 radii, got {radii!r}; use 'rings' for more")
    return rings(n, generator, radii=_radii(radii, 2), noise=noise, center=center)


def moons(n: int, generator: torch.Generator, noise: float = 0.1) -> Split:
    """Two interleaving half circles (as sklearn's make_moons, but with random angles)."""
    noise = _nonneg("noise", noise)
    counts = class_counts(n, 2)
    y = _labels(counts)
    theta = _angles(n, generator, 0.0, math.pi)
    upper = _unit(theta)
    lower = torch.stack([1.0 - torch.cos(theta), 0.5 - torch.sin(theta)], dim=1)
    x = torch.where((y == 0)[:, None], upper, lower) + _noise(n, noise, generator)
    return _shuffled(x, y, generator)


def gaussians(n: int, generator: torch.Generator, k: int = 3, std: float = 0.5, radius: float = 3.0,
              center=(0.0, 0.0)) -> Split:
    """A mixture of ``k`` isotropic Gaussians, one per class, centred evenly on a circle."""
    k = _int("k", k, 2)
    std, radius, (cx, cy) = _nonneg("std", std), _nonneg("radius", radius), _pair("center", center)
    y = _labels(class_counts(n, k))
    means = radius * _unit(2 * math.pi * torch.arange(k, dtype=torch.float64) / k)
    x = means[y] + _noise(n, std, generator) + torch.tensor([cx, cy], dtype=torch.float64)
    return _shuffled(x, y, generator)


def xor(n: int, generator: torch.Generator, std: float = 0.25, spread: float = 1.0) -> Split:
    """Four blobs at (+-spread, +-spread); the label is the XOR of the coordinate signs."""
    std, spread = _nonneg("std", std), _nonneg("spread", spread)
    _check(spread > 0, f"spread must be > 0, got {spread!r}")
    y = _labels(class_counts(n, 2))
    # each class owns two diagonal quadrants: class 0 (+,+),(-,-); class 1 (+,-),(-,+)
    side = torch.where(torch.rand(n, generator=generator) < 0.5, 1.0, -1.0).to(torch.float64)
    sy = torch.where(y == 0, side, -side)
    x = torch.stack([side, sy], dim=1) * spread + _noise(n, std, generator)
    return _shuffled(x, y, generator)


def spirals(n: int, generator: torch.Generator, k: int = 2, turns: float = 1.0, noise: float = 0.05,
            radius: float = 1.0) -> Split:
    """``k`` interleaved spiral arms, one class per arm; radius grows linearly along an arm."""
    k = _int("k", k, 2)
    turns, noise, radius = _nonneg("turns", turns), _nonneg("noise", noise), _nonneg("radius", radius)
    _check(turns > 0 and radius > 0, f"turns and radius must be > 0, got turns={turns}, radius={radius}")
    y = _labels(class_counts(n, k))
    t = torch.rand(n, generator=generator, dtype=torch.float64)
    theta = 2 * math.pi * (turns * t + y.to(torch.float64) / k)
    x = (radius * t)[:, None] * _unit(theta) + _noise(n, noise, generator)
    return _shuffled(x, y, generator)


ToyFn = Callable[..., Split]

TOY_GENERATORS: dict[str, ToyFn] = {
    "circles": circles,
    "moons": moons,
    "gaussians": gaussians,
    "xor": xor,
    "spirals": spirals,
    "rings": rings,
}

# Number of classes, from a generator's resolved parameters (defaults filled in).
TOY_CLASSES: dict[str, Callable[[dict], int]] = {
    "circles": lambda p: 2,
    "moons": lambda p: 2,
    "gaussians": lambda p: int(p["k"]),
    "xor": lambda p: 2,
    "spirals": lambda p: int(p["k"]),
    "rings": lambda p: len(ring_radii(p["n_rings"], p["radii"])),
}


def toy_params(name: str) -> dict[str, Any]:
    """The parameters of one generator with their defaults (for docs, configs and errors)."""
    fn = toy_generator(name)
    params = list(inspect.signature(fn).parameters.values())[2:]
    return {p.name: p.default for p in params}


def toy_generator(name: str) -> ToyFn:
    """The generator called ``name``; an unknown name is a UsageError suggesting the nearest."""
    if name not in TOY_GENERATORS:
        valid = sorted(TOY_GENERATORS)
        raise UsageError(unknown_choice("toy dataset", name, valid))
    return TOY_GENERATORS[name]


def resolve_toy_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``params``; an unknown key is a UsageError naming the valid ones."""
    defaults = toy_params(name)
    for key in params:
        if key not in defaults:
            valid = sorted(defaults)
            raise UsageError(unknown_choice("parameter", key, valid, where=f" for toy dataset {name!r}"))
    return {**defaults, **params}


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _describe(name: str, seed: int, params: dict[str, Any]) -> str:
    defaults = toy_params(name)
    changed = [f"{k}={_plain(v)}" for k, v in params.items() if _plain(v) != _plain(defaults[k])]
    return f"generated: {name}({', '.join([f'seed={seed}', *changed])})"


def make_toy(name: str, n_train: int, n_val: int, n_test: int, seed: int, **params: Any) -> Dataset:
    """A 2-D toy dataset; each split is drawn from its own stream of ``seed``.

    ``n_train`` must be >= 1; ``n_val`` and ``n_test`` may be 0 (an empty split).
    """
    fn = toy_generator(name)
    resolved = resolve_toy_params(name, params)
    _int("n_train", n_train, 1)
    sizes = {"train": n_train, "val": _int("n_val", n_val, 0), "test": _int("n_test", n_test, 0)}
    _int("seed", seed, 0)
    splits = {split: fn(n, member_generator(seed, 0, SPLIT_STREAMS[split]), **resolved) if n > 0 else Split.empty(2)
              for split, n in sizes.items()}
    return Dataset(name=name, train=splits["train"], val=splits["val"], test=splits["test"],
                   n_classes=TOY_CLASSES[name](resolved), source=_describe(name, seed, resolved),
                   input_shape=(2,), notes=[])
