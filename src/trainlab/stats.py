"""Statistics over seeds, in the JSON form the README fixes ("Concepts", "Statistics").

A statistic over seeds is ``{median, lo, hi, n}``: the median over the n finite values and the
95% percentile-bootstrap interval of that median. Non-finite values are not averaged away: they
are counted and flagged (``"nonfinite": count``) so a reader sees that some seeds blew up.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

N_BOOT = 2000  # bootstrap resamples; enough for a stable 95% interval of a median
BOOT_SEED = 12345  # fixed so that the same values always give the same interval


def summarize(values: Iterable[float], n_boot: int = N_BOOT, level: float = 0.95) -> dict[str, Any]:
    """Median over seeds with its bootstrap interval, as ``{median, lo, hi, n}``."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).ravel()
    finite = arr[np.isfinite(arr)]
    out: dict[str, Any] = {"median": None, "lo": None, "hi": None, "n": int(finite.size)}
    n_bad = int(arr.size - finite.size)
    if n_bad:
        out["nonfinite"] = n_bad
        out["flag"] = "nan" if np.isnan(arr).any() else "overflow"
    if finite.size == 0:
        return out
    med = float(np.median(finite))
    if finite.size == 1:
        lo = hi = med
    else:
        rng = np.random.default_rng(BOOT_SEED)
        idx = rng.integers(0, finite.size, size=(n_boot, finite.size))
        meds = np.median(finite[idx], axis=1)
        alpha = (1.0 - level) / 2.0
        lo, hi = (float(v) for v in np.quantile(meds, [alpha, 1.0 - alpha]))
    out.update(median=med, lo=lo, hi=hi)
    return out


def paired_difference(a: Iterable[float], b: Iterable[float], n_boot: int = N_BOOT) -> dict[str, Any]:
    """Median of the per-seed differences a - b with its bootstrap interval.

    ``conclusive`` is False when the interval contains zero.
    """
    a_arr = np.asarray(list(a), dtype=np.float64)
    b_arr = np.asarray(list(b), dtype=np.float64)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"paired values need equal lengths, got {a_arr.shape} and {b_arr.shape}")
    out = summarize(a_arr - b_arr, n_boot=n_boot)
    out["conclusive"] = bool(out["lo"] is not None and (out["lo"] > 0 or out["hi"] < 0))
    return out


def finite_or_none(x: Any) -> Any:
    """A float that JSON can hold: non-finite values become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def nonfinite_flag(x: float) -> str | None:
    """Why a value was written as null: ``"nan"`` or ``"overflow"``; None when finite."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "overflow"
    return None


def json_clean(obj: Any) -> Any:
    """Recursively turn numpy scalars/arrays into Python values and non-finite floats into None."""
    if isinstance(obj, dict):
        return {str(k): json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return finite_or_none(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
