"""Claims tested on paired seeds, and the sentences that report them.

A claim compares two arms seed by seed (member seed s of one arm against member seed s of the
other: same initial weights, same data). Its verdict comes from the 95% interval of the median
paired difference ``a - b`` (``trainlab.stats``):

- a directional claim (``claimed`` = ``"positive"``: a > b, or ``"negative"``: a < b) is
  confirmed where the interval excludes 0 in the claimed direction, refuted where it excludes 0
  in the other, inconclusive otherwise (``stats.verdict_of``);
- an equivalence claim ("a equals b") carries a tolerance ``tol``: confirmed where the whole
  interval lies within [-tol, tol], refuted where it lies wholly outside it (the difference is
  surely larger than tol), inconclusive otherwise.

A summary stores each claim with its verdict; the words recompute the verdict from the stored
difference (``verdict``), so a sentence is always what the numbers say.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from trainlab.stats import claim_on_seeds, paired_difference, verdict_of

Fmt = Callable[[Optional[float]], str]


def directional(statement: str, a: Iterable[float], b: Iterable[float], claimed: str, a_label: str,
                b_label: str, metric: str, **extra: Any) -> dict[str, Any]:
    """A claim that a differs from b in the ``claimed`` direction, paired by seed."""
    c = claim_on_seeds(list(a), list(b), claimed)
    return {"statement": statement, "kind": "directional", "claimed": claimed, "a": a_label, "b": b_label,
            "metric": metric, "difference": c["difference"], "tol": None, "verdict": c["verdict"], **extra}


def equivalence_verdict(diff: dict[str, Any], tol: float) -> str:
    """Confirmed when the interval lies within [-tol, tol], refuted when it lies outside, else inconclusive."""
    lo, hi, n = diff.get("lo"), diff.get("hi"), diff.get("n", 0)
    if lo is None or hi is None or n < 2:
        return "inconclusive"
    if lo > tol or hi < -tol:  # the whole interval outside the band: surely unequal
        return "refuted"
    if -tol <= lo and hi <= tol:
        return "confirmed"
    return "inconclusive"


def equivalence(statement: str, a: Iterable[float], b: Iterable[float], tol: float, a_label: str, b_label: str,
                metric: str, **extra: Any) -> dict[str, Any]:
    """A claim that a equals b within ``tol``, paired by seed."""
    diff = paired_difference(list(a), list(b))
    return {"statement": statement, "kind": "equivalence", "claimed": "equal", "a": a_label, "b": b_label,
            "metric": metric, "difference": diff, "tol": float(tol), "verdict": equivalence_verdict(diff, tol),
            **extra}


def verdict(claim: dict[str, Any]) -> str:
    """The claim's verdict, recomputed from its stored difference by the rule of its kind."""
    if claim.get("kind") == "equivalence":
        return equivalence_verdict(claim["difference"], claim["tol"])
    return verdict_of(claim["difference"], claim["claimed"])


def fmt(v: Optional[float], digits: int = 3) -> str:
    """A number for a sentence: 3 significant digits, or n/a."""
    return "n/a" if v is None else f"{v:.{digits}g}"


def signed(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:+.3g}"


def difference_text(claim: dict[str, Any], show: Fmt = signed) -> str:
    """'median [lo, hi] over n seeds' of the paired difference a - b."""
    d = claim["difference"]
    return f"{show(d.get('median'))} [{show(d.get('lo'))}, {show(d.get('hi'))}] over {d.get('n', 0)} seeds"


def sentence(claim: dict[str, Any], show: Fmt = signed) -> str:
    """One sentence: the claim, its verdict, and the paired difference with its 95% interval."""
    v = verdict(claim)
    what = f"{claim['metric']} of {claim['a']} minus {claim['b']}, paired by seed"
    tol = f"; equal means within +-{fmt(claim['tol'])}" if claim.get("kind") == "equivalence" else ""
    return f"\"{claim['statement']}\": {v} ({what}: {difference_text(claim, show)}{tol})."


def time_breakdown(summary: dict[str, Any]) -> str:
    """'12.3 s: train 9.1, figures 2.0, ...' from a summary's timing, for the console headline."""
    parts = ", ".join(f"{k} {v:.1f}" for k, v in (summary.get("timing") or {}).items())
    total = summary.get("seconds")
    return f"{total:.1f} s ({parts})" if isinstance(total, (int, float)) else parts

