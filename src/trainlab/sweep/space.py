"""The search space of a sweep, as typed on the command line: lists, ranges, distributions, stages.

- ``--grid key=v1,v2,...``: values split on commas outside brackets; each value is read as a number,
  a YAML list or mapping (``[32, 32]``) or a word (``relu``). Ranges expand in place:
  ``logspace(a,b,n)`` is ``10**a .. 10**b`` in n points (``numpy.logspace``), ``linspace(a,b,n)``
  is ``a .. b``; lists and ranges mix: ``optim.lr=0.5,logspace(-3,-1,3)``.
- ``--random key=DIST``: ``loguniform(a,b)``, ``uniform(a,b)``, ``intuniform(a,b)`` (a..b
  inclusive) or ``choice(v1,v2,...)``. Draws come from ``numpy.random.default_rng(run.seed)``, key
  by key in the order given, trial by trial, so the same command draws the same configurations.
- ``--stages "k=...; k2=... k3=...; ..."``: stages separated by ``;``; within a stage, several
  ``key=values`` items separated by spaces form a grid.
- coarse to fine: ``fine_values`` gives 12 log-spaced points around the coarse winner.

Every parse error is a ``UsageError`` (exit 2) naming the text and what is valid.
"""
from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab.errors import UsageError

RANGES = {"logspace": lambda a, b, n: np.logspace(a, b, n), "linspace": lambda a, b, n: np.linspace(a, b, n)}
DISTS = ("loguniform", "uniform", "intuniform", "choice")
FINE_POINTS = 12  # coarse to fine: points of the fine stage
_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.S)
_ITEM = re.compile(r"\s+(?=[A-Za-z_][\w.]*\s*=)")  # a stage's items: split before "key="


@dataclass(frozen=True)
class Axis:
    """One swept key of a grid and its values, in order."""

    key: str
    values: tuple

    def to_json(self) -> dict:
        return {"key": self.key, "values": list(self.values)}


@dataclass(frozen=True)
class Dist:
    """One randomly drawn key: ``kind`` in DISTS and its arguments."""

    key: str
    kind: str
    args: tuple

    def to_json(self) -> dict:
        return {"key": self.key, "kind": self.kind, "args": list(self.args)}

    def sample(self, rng: np.random.Generator) -> Any:
        a = self.args
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(a[0]), math.log(a[1]))))
        if self.kind == "uniform":
            return float(rng.uniform(a[0], a[1]))
        if self.kind == "intuniform":
            return int(rng.integers(int(a[0]), int(a[1]) + 1))
        return a[int(rng.integers(0, len(a)))]

    def suggest(self, trial: Any) -> Any:
        """The same distribution through an Optuna trial (ask-and-tell)."""
        a = self.args
        if self.kind == "loguniform":
            return trial.suggest_float(self.key, a[0], a[1], log=True)
        if self.kind == "uniform":
            return trial.suggest_float(self.key, a[0], a[1])
        if self.kind == "intuniform":
            return trial.suggest_int(self.key, int(a[0]), int(a[1]))
        return trial.suggest_categorical(self.key, list(a))


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets and parentheses."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def scalar(text: str) -> Any:
    """A value as typed: int, float (``1e-3`` too, which YAML 1.1 reads as text), list, mapping or word."""
    t = text.strip()
    if not t:
        raise UsageError("an empty value (two commas in a row, or a trailing comma?)")
    for conv in (int, float):
        try:
            v = conv(t)
        except ValueError:
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise UsageError(f"value {t!r} is not a finite number")
        return v
    from trainlab.config import parse_value

    v = parse_value(t)
    if isinstance(v, list):
        return [scalar(str(x)) if isinstance(x, str) else x for x in v]
    return v


def _numbers(args: str, what: str, n: int) -> list[float]:
    parts = split_top(args)
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) != n or not all(math.isfinite(v) for v in vals):
        raise UsageError(f"{what} takes {n} finite numbers, got {args!r}")
    return vals


def parse_values(text: str) -> list[Any]:
    """``v1,v2,logspace(a,b,n),...`` as a flat list of values."""
    out: list[Any] = []
    for part in split_top(text):
        m = _CALL.match(part)
        if m and m.group(1) in RANGES:
            a, b, n = _numbers(m.group(2), f"{m.group(1)}(a,b,n)", 3)
            if n < 1 or n != int(n):
                raise UsageError(f"{part}: n must be a whole number >= 1")
            out += [float(v) for v in RANGES[m.group(1)](a, b, int(n))]
        elif m:
            valid = ", ".join(f"{r}(a,b,n)" for r in RANGES)
            raise UsageError(f"unknown range {m.group(1)!r} in {part!r}; valid: {valid}, or a list v1,v2,...")
        else:
            out.append(scalar(part))
    if not out:
        raise UsageError(f"no values in {text!r}")
    return out


def split_assignment(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"{option} {text!r} is not key=values (e.g. optim.lr=logspace(-3,-1,5))")
    key, rest = text.split("=", 1)
    key = key.strip()
    if not key:
        raise UsageError(f"{option} {text!r} has no key before '='")
    return key, rest


def parse_axis(text: str, option: str = "--grid") -> Axis:
    key, rest = split_assignment(text, option)
    return Axis(key, tuple(parse_values(rest)))


def parse_dist(text: str) -> Dist:
    """``key=loguniform(a,b)`` and the others of DISTS."""
    key, rest = split_assignment(text, "--random")
    m = _CALL.match(rest)
    if not m or m.group(1) not in DISTS:
        raise UsageError(f"--random {text!r}: give one of {', '.join(d + '(...)' for d in DISTS)}")
    kind = m.group(1)
    if kind == "choice":
        vals = tuple(parse_values(m.group(2)))
        return Dist(key, kind, vals)
    a, b = _numbers(m.group(2), f"{kind}(a,b)", 2)
    if not a < b:
        raise UsageError(f"--random {text!r}: needs a < b")
    if kind == "loguniform" and a <= 0:
        raise UsageError(f"--random {text!r}: loguniform needs 0 < a < b")
    if kind == "intuniform" and (a != int(a) or b != int(b)):
        raise UsageError(f"--random {text!r}: intuniform needs whole numbers")
    return Dist(key, kind, (a, b))


def parse_stages(text: str) -> list[list[Axis]]:
    """``"k=...; k2=... k3=...; ..."``: one grid (a list of axes) per stage."""
    stages = []
    for i, part in enumerate(split_top(text, ";"), start=1):
        if not part:
            continue
        items = [p for p in _ITEM.split(part) if p.strip()]
        axes = [parse_axis(item, f"--stages (stage {i})") for item in items]
        keys = [a.key for a in axes]
        if len(set(keys)) != len(keys):
            raise UsageError(f"--stages: stage {i} names a key twice ({', '.join(keys)})")
        stages.append(axes)
    if not stages:
        raise UsageError(f"--stages {text!r} holds no stage; e.g. \"optim.lr=logspace(-4,0,9); optim.name=sgd,adam\"")
    return stages


def expand_grid(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every combination, the first key varying slowest."""
    if not axes:
        return [{}]
    keys = [a.key for a in axes]
    return [dict(zip(keys, combo)) for combo in itertools.product(*(a.values for a in axes))]


def draw_random(dists: list[Dist], trials: int, seed: int) -> list[dict[str, Any]]:
    """``trials`` configurations drawn from a generator seeded by ``seed`` (``run.seed``)."""
    rng = np.random.default_rng(seed)
    return [{d.key: d.sample(rng) for d in dists} for _ in range(trials)]


def fine_values(coarse: list[Any], best: Any, n: int = FINE_POINTS) -> list[float]:
    """``n`` log-spaced points around ``best`` of the coarse values: from its lower neighbour to its
    upper one; at an end of the range, as far out as the neighbour on the other side is."""
    vals = sorted({float(v) for v in coarse})
    if any(v <= 0 for v in vals):
        raise UsageError("coarse to fine needs positive values (the fine points are log-spaced)")
    b = float(best)
    i = vals.index(b)
    if len(vals) == 1:
        lo, hi = b / math.sqrt(10), b * math.sqrt(10)
    else:
        lo = vals[i - 1] if i > 0 else b * b / vals[i + 1]
        hi = vals[i + 1] if i + 1 < len(vals) else b * b / vals[i - 1]
    return [float(v) for v in np.geomspace(lo, hi, n)]
