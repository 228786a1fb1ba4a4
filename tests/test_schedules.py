"""Schedules are plain step -> factor functions, testable without an optimizer."""
from __future__ import annotations

import math

import pytest

from trainlab.schedules import SCHEDULES, make_schedule
from trainlab.errors import UsageError

T = 100
CASES = [
    ("constant", {}, [(0, 1.0), (50, 1.0), (99, 1.0)]),
    ("step", {"step_size": 30, "gamma": 0.5}, [(0, 1.0), (29, 1.0), (30, 0.5), (60, 0.25)]),
    ("exponential", {"gamma": 0.01}, [(0, 1.0), (50, 0.1), (100, 0.01)]),
    ("inv_time", {"decay": 0.1}, [(0, 1.0), (10, 0.5), (90, 0.1)]),
    ("sqrt_decay", {}, [(0, 1.0), (75, 0.5), (100, 0.0)]),
    ("cosine", {}, [(0, 1.0), (50, 0.5), (100, 0.0)]),
    ("cosine", {"min_factor": 0.1}, [(100, 0.1)]),
]


@pytest.mark.parametrize("name,params,points", CASES)
def test_schedule_values(name, params, points):
    f = make_schedule(name, T, **params)
    for t, want in points:
        assert math.isclose(f(t), want, rel_tol=1e-9, abs_tol=1e-12), (name, t, f(t))


def test_every_schedule_starts_at_one():
    for name in SCHEDULES:
        assert make_schedule(name, T)(0) == 1.0


def test_unknown_schedule():
    with pytest.raises(UsageError, match="valid"):
        make_schedule("warp", T)
