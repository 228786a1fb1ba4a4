"""Verdicts: a measured statistic, found in a run folder's summaries, judged by a rule.

The answers page (``report/answers.py``) and the claim checker (``report/claims.py``) both reduce a
question to checks. A ``Check`` names what it tests, points at the statistics it reads
(``Evidence``: a value and the path where it sits in the summaries, ``("shallow", "sigmas", 7,
"loss_at_init")``) and judges them with one ``Rule``. Every rule gives one of three verdicts from
95% intervals, never from a point estimate alone:

- ``confirmed``: the whole interval is on the rule's side;
- ``refuted``: the whole interval is on the other side;
- ``inconclusive``: the interval straddles the line (or too few seeds for an interval).

A fourth verdict, ``not comparable``, is given before any rule runs: the study is missing from the
run, or the run measured something else (another dataset). A statistic is ``{median, lo, hi, n}``
(``trainlab.stats``); one flagged ``"overflow"`` (null in JSON) counts as +infinity, one flagged
``"nan"`` is inconclusive. ``Rule.example(verdict, n)`` returns statistics the rule judges as that
verdict: the tests build fake summaries from it on either side of every rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from trainlab.stats import verdict_of

CONFIRMED, REFUTED, INCONCLUSIVE, NOT_COMPARABLE = "confirmed", "refuted", "inconclusive", "not comparable"
VERDICTS = (CONFIRMED, REFUTED, INCONCLUSIVE, NOT_COMPARABLE)
JUDGED = (CONFIRMED, REFUTED, INCONCLUSIVE)  # what a rule can give


def interval(stat: Any) -> Optional[tuple[float, float, float]]:
    """(median, lo, hi) of a statistic; overflow as +inf; None when there is nothing to judge."""
    if not isinstance(stat, dict):
        return None
    if stat.get("median") is None:
        return (math.inf, math.inf, math.inf) if stat.get("flag") == "overflow" else None
    med = float(stat["median"])
    lo = stat.get("lo")
    hi = stat.get("hi")
    if lo is None or hi is None or stat.get("n", 2) < 2 and not _point(stat):
        return None
    return med, float(lo), float(hi)


def _point(stat: dict) -> bool:
    """A value that is exact by construction (``exact: true``), not a median of one seed."""
    return bool(stat.get("exact"))


def point(value: float) -> dict[str, Any]:
    """An exact value as a statistic (a number the student report gives, a threshold)."""
    return {"median": value, "lo": value, "hi": value, "n": 1, "exact": True}


def combine(verdicts: Sequence[str]) -> str:
    """All confirmed: confirmed; any refuted: refuted; else inconclusive (none: inconclusive)."""
    if verdicts and all(v == CONFIRMED for v in verdicts):
        return CONFIRMED
    if any(v == REFUTED for v in verdicts):
        return REFUTED
    return INCONCLUSIVE


def _stat(lo: float, med: float, hi: float, n: int = 8) -> dict[str, Any]:
    return {"median": med, "lo": lo, "hi": hi, "n": n}


@dataclass(frozen=True)
class Rule:
    """Judges the statistics of a check. Subclasses: ``judge_one`` per statistic, or ``judge`` for all."""

    def judge(self, stats: Sequence[Any]) -> str:
        return combine([self.judge_one(s) for s in stats])

    def judge_one(self, stat: Any) -> str:
        raise NotImplementedError

    def example(self, verdict: str, n: int) -> list[dict[str, Any]]:
        """``n`` statistics this rule judges as ``verdict`` (for tests and the rule's own documentation)."""
        return [self.example_one(verdict)] * n

    def example_one(self, verdict: str) -> dict[str, Any]:
        raise NotImplementedError

    def words(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Direction(Rule):
    """A paired difference (a - b per seed) is positive or negative: ``trainlab.stats.verdict_of``."""

    claimed: str  # "positive" or "negative"

    def judge_one(self, stat: Any) -> str:
        if not isinstance(stat, dict) or stat.get("median") is None:
            return INCONCLUSIVE
        return verdict_of(stat, self.claimed)

    def example_one(self, verdict: str) -> dict[str, Any]:
        sign = 1.0 if self.claimed == "positive" else -1.0
        return {CONFIRMED: _stat(0.01 * sign, 0.02 * sign, 0.03 * sign), REFUTED: _stat(-0.03 * sign, -0.02 * sign,
                -0.01 * sign), INCONCLUSIVE: _stat(-0.01, 0.0, 0.01)}[verdict] | {"n": 8}

    def words(self) -> str:
        return f"the paired difference's 95% interval lies {'above' if self.claimed == 'positive' else 'below'} 0"


@dataclass(frozen=True)
class Near(Rule):
    """The interval lies within ``value`` +- ``tol`` (confirmed) or outside it (refuted)."""

    value: float
    tol: float

    def judge_one(self, stat: Any) -> str:
        iv = interval(stat)
        if iv is None:
            return INCONCLUSIVE
        _, lo, hi = iv
        if self.value - self.tol <= lo and hi <= self.value + self.tol:
            return CONFIRMED
        if hi < self.value - self.tol or lo > self.value + self.tol:
            return REFUTED
        return INCONCLUSIVE

    def example_one(self, verdict: str) -> dict[str, Any]:
        v, t = self.value, self.tol
        return {CONFIRMED: _stat(v - t / 2, v, v + t / 2), REFUTED: _stat(v + 2 * t, v + 3 * t, v + 4 * t),
                INCONCLUSIVE: _stat(v, v + t, v + 2 * t)}[verdict]

    def words(self) -> str:
        return f"the 95% interval lies within {self.value:.4g} +- {self.tol:.3g}"


@dataclass(frozen=True)
class Above(Rule):
    """The interval lies above ``threshold`` (``below=True``: below it)."""

    threshold: float
    below: bool = False

    def judge_one(self, stat: Any) -> str:
        iv = interval(stat)
        if iv is None:
            return INCONCLUSIVE
        _, lo, hi = iv
        over, under = lo > self.threshold, hi < self.threshold
        if over or under:
            return CONFIRMED if over != self.below else REFUTED
        return INCONCLUSIVE

    def example_one(self, verdict: str) -> dict[str, Any]:
        t = self.threshold
        d = abs(t) * 0.5 or 0.5
        up, down = _stat(t + d, t + 2 * d, t + 3 * d), _stat(t - 3 * d, t - 2 * d, t - d)
        return {CONFIRMED: down if self.below else up, REFUTED: up if self.below else down,
                INCONCLUSIVE: _stat(t - d, t, t + d)}[verdict]

    def words(self) -> str:
        return f"the 95% interval lies {'below' if self.below else 'above'} {self.threshold:.4g}"


@dataclass(frozen=True)
class Within(Rule):
    """The interval lies inside [low, high] (confirmed) or outside it (refuted)."""

    low: float
    high: float

    def judge_one(self, stat: Any) -> str:
        return Near((self.low + self.high) / 2, (self.high - self.low) / 2).judge_one(stat)

    def example_one(self, verdict: str) -> dict[str, Any]:
        return Near((self.low + self.high) / 2, (self.high - self.low) / 2).example_one(verdict)

    def words(self) -> str:
        return f"the 95% interval lies within [{self.low:.4g}, {self.high:.4g}]"


@dataclass(frozen=True)
class Highest(Rule):
    """The first statistic is above all the others: its interval clear of theirs (confirmed), or some
    other's interval clear above it (refuted)."""

    def judge(self, stats: Sequence[Any]) -> str:
        if len(stats) < 2:
            return INCONCLUSIVE
        first = interval(stats[0])
        others = [interval(s) for s in stats[1:]]
        if first is None:
            return INCONCLUSIVE
        known = [o for o in others if o is not None]
        if any(o[1] > first[2] for o in known):
            return REFUTED
        if len(known) == len(others) and all(first[1] > o[2] for o in known):
            return CONFIRMED
        return INCONCLUSIVE

    def example(self, verdict: str, n: int) -> list[dict[str, Any]]:
        top, low = _stat(2.0, 2.5, 3.0), _stat(0.5, 1.0, 1.5)
        first = {CONFIRMED: top, REFUTED: low, INCONCLUSIVE: _stat(1.2, 1.6, 2.2)}[verdict]
        rest = {CONFIRMED: low, REFUTED: top, INCONCLUSIVE: _stat(1.0, 1.4, 1.8)}[verdict]
        return [first] + [rest] * (n - 1)

    def words(self) -> str:
        return "the first 95% interval lies above every other one"


@dataclass(frozen=True)
class WithinFactor(Rule):
    """The second statistic stays within a ``factor`` of the first's median (e.g. the last layer's
    activation against the first layer's)."""

    factor: float

    def judge(self, stats: Sequence[Any]) -> str:
        ref, iv = interval(stats[0]), interval(stats[1]) if len(stats) > 1 else None
        if ref is None or iv is None or not math.isfinite(ref[0]) or ref[0] <= 0:
            return INCONCLUSIVE if ref is None or iv is None else REFUTED
        lo_ok, hi_ok = ref[0] / self.factor, ref[0] * self.factor
        if lo_ok <= iv[1] and iv[2] <= hi_ok:
            return CONFIRMED
        if iv[2] < lo_ok or iv[1] > hi_ok:
            return REFUTED
        return INCONCLUSIVE

    def example(self, verdict: str, n: int) -> list[dict[str, Any]]:
        f = self.factor
        second = {CONFIRMED: _stat(0.8, 1.0, 1.2), REFUTED: _stat(3 * f, 4 * f, 5 * f),
                  INCONCLUSIVE: _stat(0.5 * f, f, 2 * f)}[verdict]
        return [_stat(0.9, 1.0, 1.1)] + [second] * (n - 1)

    def words(self) -> str:
        return f"the second 95% interval lies within a factor {self.factor:g} of the first's median"


@dataclass
class Evidence:
    """One statistic a check reads: what it is, where it sits in the summaries, and its value."""

    label: str
    where: tuple  # (study, key or index, ...); ("given", ...) for numbers a claim itself gives
    stat: Any
    sign: int = 1  # -1: the check reads the negated statistic (what sits at ``where`` is -stat)


@dataclass
class Check:
    """A statement tested on evidence by a rule; ``verdict`` and ``reason`` are filled by ``run``."""

    label: str
    evidence: list[Evidence]
    rule: Optional[Rule]
    verdict: str = INCONCLUSIVE
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def run(self) -> "Check":
        if self.rule is None:
            self.verdict = NOT_COMPARABLE
        else:
            self.verdict = self.rule.judge([e.stat for e in self.evidence])
            if not self.reason:
                self.reason = f"{self.verdict}: {self.rule.words()}"
        return self


def not_comparable(label: str, reason: str) -> Check:
    return Check(label, [], None, NOT_COMPARABLE, reason)
