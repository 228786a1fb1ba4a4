"""Learning-rate schedules as plain functions ``step -> factor``.

The member's lr is multiplied by the factor, so a schedule is testable without an optimizer and a
population with per-member lrs shares one schedule shape. ``total`` is the run's step count.
"""
from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[int], float]


def constant(total: int, **_) -> Schedule:
    return lambda t: 1.0


def step_decay(total: int, step_size: int = 100, gamma: float = 0.1, **_) -> Schedule:
    return lambda t: gamma ** (t // step_size)


def exponential(total: int, gamma: float = 0.1, **_) -> Schedule:
    # reaches gamma at the last step: factor = gamma ** (t / total)
    return lambda t: gamma ** (t / max(total, 1))


def inv_time(total: int, decay: float = 0.001, **_) -> Schedule:
    return lambda t: 1.0 / (1.0 + decay * t)


def sqrt_decay(total: int, **_) -> Schedule:
    # sqrt(1 - t/T): the "square root" decay of seed 002, zero at the end
    return lambda t: math.sqrt(max(0.0, 1.0 - t / max(total, 1)))


def cosine(total: int, min_factor: float = 0.0, **_) -> Schedule:
    return lambda t: min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * min(t, total) / max(total, 1)))


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step": step_decay,
    "exponential": exponential,
    "inv_time": inv_time,
    "sqrt_decay": sqrt_decay,
    "cosine": cosine,
}


def make_schedule(name: str, total: int, **params) -> Schedule:
    if name not in SCHEDULES:
        from trainlab.errors import UsageError

        raise UsageError(f"unknown schedule {name!r}; valid: {', '.join(SCHEDULES)}")
    return SCHEDULES[name](total, **params)
