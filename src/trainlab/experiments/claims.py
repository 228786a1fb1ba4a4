"""Claims of the seeds, tested on paired seeds: the record in summary.json and its sentence.

A claim compares two arms seed by seed (member seed s of one arm against member seed s of the
other: same initial weights, same data). A claim record is what ``claim`` or ``equivalence``
returns and the summary stores::

    {"id", "claim", "metric", "a", "b", "unit", "kind", "claimed", "tol",
     "difference": {median, lo, hi, n, conclusive}, "verdict", "values": {"a": [per seed], "b": [...]}}

plus any study-specific keys (``short``, ``configs``, ...). ``difference`` is the median over
seeds of (a - b) with its 95% bootstrap interval (``stats.paired_difference``). Two kinds:

- directional (``claimed`` = ``"positive"``: a > b, or ``"negative"``: a < b): confirmed where the
  interval excludes 0 in the claimed direction, refuted where it excludes 0 in the other,
  inconclusive otherwise (``stats.verdict_of``);
- equivalence ("a equals b", ``claimed`` = ``"equal"``) with a tolerance ``tol``: confirmed where
  the whole interval lies within [-tol, tol], refuted where it lies wholly outside, inconclusive
  otherwise.

The words never read the stored ``verdict``: ``verdict(record)`` recomputes it from the interval,
so a sentence always says what the numbers say. A claim with several parts (``compound``) is
confirmed when every part is, refuted when any part is, and inconclusive otherwise.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from trainlab.stats import claim_on_seeds, paired_difference, verdict_of


def _values(a_vals: Sequence[float], b_vals: Sequence[float]) -> tuple[list[float], list[float]]:
    return [float(v) for v in a_vals], [float(v) for v in b_vals]


def claim(cid: str, text: str, metric: str, a: str, b: str, a_vals: Sequence[float], b_vals: Sequence[float],
          claimed: str, unit: str = "", **extra: Any) -> dict[str, Any]:
    """Test ``text`` on paired per-seed values: ``claimed`` is the predicted sign of a - b."""
    av, bv = _values(a_vals, b_vals)
    c = claim_on_seeds(av, bv, claimed)
    return {"id": cid, "claim": text, "metric": metric, "a": a, "b": b, "unit": unit, "kind": "directional",
            "tol": None, **c, "values": {"a": av, "b": bv}, **extra}


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


def equivalence(cid: str, text: str, metric: str, a: str, b: str, a_vals: Sequence[float],
                b_vals: Sequence[float], tol: float, unit: str = "", **extra: Any) -> dict[str, Any]:
    """Test ``text`` ("a equals b") on paired per-seed values: equal means within +-``tol``."""
    av, bv = _values(a_vals, b_vals)
    diff = paired_difference(av, bv)
    return {"id": cid, "claim": text, "metric": metric, "a": a, "b": b, "unit": unit, "kind": "equivalence",
            "tol": float(tol), "difference": diff, "claimed": "equal", "verdict": equivalence_verdict(diff, tol),
            "values": {"a": av, "b": bv}, **extra}


def verdict(record: dict) -> str:
    """confirmed / refuted / inconclusive, recomputed from the record's interval by the rule of its kind."""
    if record.get("kind") == "equivalence":
        return equivalence_verdict(record["difference"], record["tol"])
    return verdict_of(record["difference"], record["claimed"])


def compound(verdicts: Iterable[str]) -> str:
    """Several parts of one claim: all confirmed -> confirmed; any refuted -> refuted; else inconclusive."""
    vs = list(verdicts)
    if vs and all(v == "confirmed" for v in vs):
        return "confirmed"
    if "refuted" in vs:
        return "refuted"
    return "inconclusive"


def num(v: Optional[float], unit: str = "", signed: bool = False) -> str:
    """A number for a sentence: 3 significant digits, accuracies (unit "pp") as percentage points."""
    if v is None:
        return "n/a"
    if unit == "pp":
        return f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}"
    if unit == "steps":
        return f"{v:+.0f}" if signed else f"{v:.0f}"
    return f"{v:+.3g}" if signed else f"{v:.3g}"


def fmt(v: Optional[float], digits: int = 3) -> str:
    """A number for a sentence: ``digits`` significant digits, or n/a."""
    return "n/a" if v is None else f"{v:.{digits}g}"


def interval(record: dict) -> str:
    """``a - b = median [lo, hi] unit (n seeds)`` of a record's paired difference."""
    d, u = record["difference"], record.get("unit", "")
    if d.get("median") is None:
        return f"{record['a']} - {record['b']}: no finite pairs"
    shown = {"pp": " points", "steps": " steps"}.get(u, "")
    return (f"{record['a']} - {record['b']} = {num(d['median'], u, True)} [{num(d['lo'], u, True)}, "
            f"{num(d['hi'], u, True)}]{shown} ({d['n']} seeds)")


def sentence(record: dict, prefix: str = "") -> str:
    """One sentence: the claim, its verdict (recomputed) and the interval it rests on."""
    tol = ""
    if record.get("kind") == "equivalence":
        tol = f"; equal means within +-{num(record['tol'], record.get('unit', ''))}"
        tol += " points" if record.get("unit") == "pp" else ""
    return f"{prefix}\"{record['claim']}\": {verdict(record)} ({record['metric']}: {interval(record)}{tol})."


def tally(records: Iterable[dict]) -> dict[str, int]:
    """How many records get each verdict (recomputed)."""
    out = {"confirmed": 0, "refuted": 0, "inconclusive": 0}
    for r in records:
        out[verdict(r)] += 1
    return out


def tally_text(counts: dict[str, int]) -> str:
    """``3 confirmed, 1 refuted, 0 inconclusive``."""
    return ", ".join(f"{counts[k]} {k}" for k in ("confirmed", "refuted", "inconclusive"))


def claims_table(records: Sequence[dict], title: str) -> dict:
    """A report table of claims: the claim, what was compared, the paired difference, the verdict."""
    return {"title": title, "columns": ["claim", "measured", "paired difference [95% interval]", "verdict"],
            "rows": [[r["claim"], r["metric"], interval(r), verdict(r)] for r in records]}
