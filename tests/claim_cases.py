"""Fake claim intervals for the verdict-rule tests of the seed studies: on either side of a rule, and
one that straddles it. ``faked(record, case)`` returns a copy of a claim record whose paired
difference gives verdict ``case`` for the record's own claimed direction."""
from __future__ import annotations

import copy

CASES = ("confirmed", "refuted", "inconclusive")


def interval(claimed: str, case: str) -> tuple[float, float]:
    sign = 1.0 if claimed == "positive" else -1.0
    lo, hi = {"confirmed": (0.1, 0.3), "refuted": (-0.3, -0.1), "inconclusive": (-0.1, 0.2)}[case]
    return (lo * sign, hi * sign) if sign > 0 else (hi * sign, lo * sign)


def faked(record: dict, case: str) -> dict:
    """A claim record (or a compound one: every part faked the same way) with verdict ``case``."""
    out = copy.deepcopy(record)
    if "parts" in out:
        out["parts"] = [faked(p, case) for p in out["parts"]]
        out["verdict"] = case
        return out
    lo, hi = interval(out["claimed"], case)
    out["difference"] = {"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 8, "conclusive": case != "inconclusive"}
    out["verdict"] = "confirmed" if case == "confirmed" else out["verdict"]  # a stale word the text must not read
    return out
