"""Claims of the seeds, tested on paired seeds: the record in summary.json and its sentence.

A claim record is what ``claim`` returns and the summary stores::

    {"id", "claim", "metric", "a", "b", "claimed", "difference": {median, lo, hi, n, conclusive},
     "verdict", "unit", "values": {"a": [per seed], "b": [per seed]}}

``difference`` is the median over seeds of (a - b) with its 95% bootstrap interval
(``stats.claim_on_seeds``); ``claimed`` is the direction the claim predicts. The words never read
the stored ``verdict``: ``verdict(record)`` recomputes it from the interval (``stats.verdict_of``),
so a sentence always says what the numbers say. A claim with several parts (``compound``) is
confirmed when every part is, refuted when any part is, and inconclusive otherwise.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from trainlab.stats import claim_on_seeds, verdict_of


def claim(cid: str, text: str, metric: str, a: str, b: str, a_vals: Sequence[float], b_vals: Sequence[float],
          claimed: str, unit: str = "") -> dict[str, Any]:
    """Test ``text`` on paired per-seed values: ``claimed`` is the predicted sign of a - b."""
    av, bv = [float(v) for v in a_vals], [float(v) for v in b_vals]
    c = claim_on_seeds(av, bv, claimed)
    return {"id": cid, "claim": text, "metric": metric, "a": a, "b": b, "unit": unit, **c,
            "values": {"a": av, "b": bv}}


def verdict(record: dict) -> str:
    """confirmed / refuted / inconclusive, from the record's interval and claimed direction."""
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
    return f"{prefix}\"{record['claim']}\": {verdict(record)} ({record['metric']}: {interval(record)})."


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
