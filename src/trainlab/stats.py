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


def summarize_many(arrays: Iterable[Iterable[float]], n_boot: int = N_BOOT, level: float = 0.95,
                   block_values: int = 2**22) -> list[dict[str, Any]]:
    """``summarize`` of each array, the same numbers, batched: arrays with the same number of finite
    values share one resample index (the bootstrap is seeded the same for every call), so thousands
    of configurations cost a few large numpy operations instead of one bootstrap each."""
    out: list[Any] = []
    by_n: dict[int, list[tuple[int, np.ndarray]]] = {}
    for i, values in enumerate(arrays):
        arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64).ravel()
        finite = arr[np.isfinite(arr)]
        if finite.size <= 1:
            out.append(summarize(arr, n_boot, level))
            continue
        st: dict[str, Any] = {"median": None, "lo": None, "hi": None, "n": int(finite.size)}
        n_bad = int(arr.size - finite.size)
        if n_bad:
            st["nonfinite"] = n_bad
            st["flag"] = "nan" if np.isnan(arr).any() else "overflow"
        out.append(st)
        by_n.setdefault(finite.size, []).append((i, finite))
    alpha = (1.0 - level) / 2.0
    for n, items in by_n.items():
        idx = np.random.default_rng(BOOT_SEED).integers(0, n, size=(n_boot, n))
        # a resample's median depends on which values it drew, not on their order: with a few seeds
        # most resamples repeat one of few multisets (35 for n = 4), so each is computed once and
        # spread back to its resamples; the same numbers in the same order as resampling all of them
        uniq, inverse = np.unique(np.sort(idx, axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        block = max(1, block_values // (len(uniq) * n))  # resampled values held at once: 32 MB
        for start in range(0, len(items), block):
            part = items[start:start + block]
            vals = np.stack([f for _, f in part])
            meds = _median_last(vals[:, uniq])[:, inverse]
            lo, hi = np.quantile(meds, [alpha, 1.0 - alpha], axis=1)
            med = _median_last(vals)
            for j, (i, _) in enumerate(part):
                out[i].update(median=float(med[j]), lo=float(lo[j]), hi=float(hi[j]))
    return out


def _median_last(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=-1)`` for finite values, by sorting (faster for a short last axis); the
    same numbers: the middle value, or the mean of the two middle values."""
    s = np.sort(a, axis=-1)
    n = a.shape[-1]
    if n % 2:
        return s[..., n // 2]
    return (s[..., n // 2 - 1] + s[..., n // 2]) / 2.0


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


VERDICTS = ("confirmed", "refuted", "inconclusive")  # of a claim tested on paired seeds


def verdict_of(diff: dict[str, Any], claimed: str) -> str:
    """The verdict on a claim from its paired difference ``{median, lo, hi, n}`` (a - b per seed).

    ``claimed`` is the direction the claim predicts: ``"positive"`` (a > b) or ``"negative"``
    (a < b). Confirmed when the 95% interval excludes 0 in that direction, refuted when it excludes
    0 in the other, inconclusive otherwise (including too few seeds for an interval).
    """
    if claimed not in ("positive", "negative"):
        raise ValueError(f"claimed must be 'positive' or 'negative', got {claimed!r}")
    lo, hi, n = diff.get("lo"), diff.get("hi"), diff.get("n", 0)
    if lo is None or hi is None or n < 2:
        return "inconclusive"
    if lo > 0:
        return "confirmed" if claimed == "positive" else "refuted"
    if hi < 0:
        return "confirmed" if claimed == "negative" else "refuted"
    return "inconclusive"


def claim_on_seeds(a: Iterable[float], b: Iterable[float], claimed: str, n_boot: int = N_BOOT) -> dict[str, Any]:
    """A claim about paired seeds: ``{"difference": paired_difference(a, b), "claimed", "verdict"}``."""
    diff = paired_difference(a, b, n_boot=n_boot)
    return {"difference": diff, "claimed": claimed, "verdict": verdict_of(diff, claimed)}


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
