"""The preprocessing study's data: Gaussian classes in 10-D whose input covariance is badly conditioned.

The shared class covariance is ``S = D C D``: a correlation matrix ``C`` with every off-diagonal
entry ``rho`` (correlated features), scaled per feature by ``D = diag(s)`` with ``s`` log-spaced
(badly scaled features). The spread of ``s`` is solved so that ``cond(S)`` equals the asked-for
condition number. Class means sit on a circle of radius ``separation`` (in whitened units) in the
plane of the two smallest-variance directions of ``S`` (``mean_c = mu0 + S^(1/2) m_c``): the
classes differ where the inputs vary least, the case the seed's advice is about, since gradient
descent moves slowest along those directions. The classes are exactly as separable after any
invertible transform: only the conditioning changes, which is the study's question.
All features carry an offset ``mu0 = offset * s`` (each feature ``offset`` of its own stds away
from 0), which is what centering removes.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from trainlab.data.toy import Dataset, Split
from trainlab.rng import member_generator


def correlation(dim: int, rho: float) -> np.ndarray:
    return (1 - rho) * np.eye(dim) + rho * np.ones((dim, dim))


def condition(m: np.ndarray) -> float:
    """Ratio of the largest to the smallest eigenvalue of a symmetric matrix (inf when singular)."""
    vals = np.linalg.eigvalsh(m)
    return float(vals[-1] / vals[0]) if vals[0] > 0 else math.inf


def _sqrtm(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(m)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def geometry(dim: int, classes: int, rho: float, spread: float, separation: float, offset: float):
    """(within-class covariance, its square root, class means (classes, dim), total input covariance).

    Feature stds are ``10**linspace(-spread/2, spread/2, dim)``; the means sit on a circle of radius
    ``separation`` whitened stds in the plane of the two smallest-variance directions, around
    ``offset`` stds of every feature. The total covariance adds the between-class scatter.
    """
    s = 10.0 ** np.linspace(-spread / 2, spread / 2, dim)
    cov = correlation(dim, rho) * np.outer(s, s)
    root = _sqrtm(cov)
    basis = np.linalg.eigh(cov)[1][:, :2]
    angles = 2 * math.pi * np.arange(classes) / classes
    white = separation * (basis @ np.stack([np.cos(angles), np.sin(angles)]))  # (dim, classes)
    means = (offset * s[:, None] + root @ white).T
    centred = means - means.mean(axis=0)
    return cov, root, means, cov + centred.T @ centred / classes


def spread_for(dim: int, classes: int, rho: float, separation: float, target: float) -> float:
    """The log10 spread of feature stds that makes the total input covariance's condition number ``target``."""
    def cond(spread: float) -> float:
        return condition(geometry(dim, classes, rho, spread, separation, 0.0)[3])

    lo, hi = 0.0, 8.0
    if cond(lo) >= target:
        return 0.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cond(mid) < target else (lo, mid)
    return (lo + hi) / 2


def make_conditioned(n_train: int, n_val: int, seed: int, dim: int = 10, classes: int = 3, cond: float = 1e3,
                     rho: float = 0.75, separation: float = 3.0, offset: float = 3.0) -> Dataset:
    """Train and val splits of the badly conditioned Gaussian classes (balanced, shuffled)."""
    g = member_generator(seed, 0, "preprocessing/data")
    spread = spread_for(dim, classes, rho, separation, cond)
    _, root, means, _ = geometry(dim, classes, rho, spread, separation, offset)

    def split(n: int) -> Split:
        y = torch.arange(n) % classes
        z = torch.randn(n, dim, generator=g, dtype=torch.float64).numpy()
        x = z @ root.T + means[y.numpy()]
        perm = torch.randperm(n, generator=g)
        return Split(torch.tensor(x, dtype=torch.float32)[perm], y[perm].to(torch.int64))

    train, val = split(n_train), split(n_val)
    return Dataset(name="conditioned_gaussians", train=train, val=val, test=Split.empty(dim), n_classes=classes,
                   input_shape=(dim,), source=f"{classes} Gaussian classes in {dim}-D, input covariance condition "
                   f"number {cond:g} (feature correlation {rho:g}, feature stds over 10^{spread:.2f}), means "
                   f"{separation:g} whitened stds apart along the least-varying directions, offset {offset:g} stds "
                   f"(seed {seed})", notes=[])
