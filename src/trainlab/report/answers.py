""""The lab, answered": seed 000's questions in its own order, answered from one run's numbers.

Each entry of ``QUESTIONS`` is one set-up item or question of the assignment: its part, a brief
quote, the study that answers it and the function that does. A function reads the run's summaries
(``lookup.Sources``) and returns an ``Answer``: two to five sentences built from the numbers,
``Check``s (a statement, its evidence with 95% intervals, a rule and the verdict, ``verdicts.py``),
the figures that show it, and for a set-up item each departure from the assignment. Nothing is
canned: a run with other numbers gets other sentences and other verdicts. Where a check is
inconclusive or the run is a quick one, the answer says so in plain words (``notes``).

The functions live in ``answers_part1.py`` (Part 1) and ``answers_part23.py`` (Parts 2 and 3);
``answers_page.py`` draws the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from trainlab.report.lookup import Missing, Sources
from trainlab.report.verdicts import INCONCLUSIVE, Check


@dataclass
class Answer:
    """One item of the assignment, answered."""

    id: str
    part: str
    item: str
    question: str
    kind: str  # "setup" (what was used, each departure) or "question"
    study: str
    sentences: list[str] = field(default_factory=list)  # the answer: two to five sentences
    details: list[str] = field(default_factory=list)  # the numbers per set-up behind it (a list below the answer)
    checks: list[Check] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # files of the study's folder
    departures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: Optional[str] = None  # why it is not answered (the study is not in this run)


@dataclass(frozen=True)
class Question:
    id: str
    part: str
    item: str
    question: str
    kind: str
    study: str
    answer: Callable[[Sources, Answer], None]  # fills the answer in place


def stat_text(stat: Any, percent: bool = False, digits: int = 3) -> str:
    """'median [lo, hi]' of a statistic (as percent points when ``percent``), or why it is missing."""
    if not isinstance(stat, dict):
        return "n/a"
    if stat.get("median") is None:
        if stat.get("flag") == "overflow":
            return "inf (overflows float32)"
        return f"n/a ({stat.get('flag', 'no finite values')})"
    k = 100.0 if percent else 1.0
    unit = "%" if percent else ""
    if percent:  # errors are counts over a split: float noise below 1e-6 points is zero
        stat = stat | {x: round(stat[x], 8) for x in ("median", "lo", "hi") if stat.get(x) is not None}
    med = f"{k * stat['median']:.{digits}g}{unit}"
    if stat.get("n", 0) < 2 or stat.get("lo") is None:
        return med + (" (one seed)" if stat.get("n") == 1 and not stat.get("exact") else "")
    return f"{med} [{k * stat['lo']:.{digits}g}, {k * stat['hi']:.{digits}g}]"


def verdict_word(check: Check, yes: str = "holds", no: str = "does not hold") -> str:
    """A check's verdict in the words of a sentence."""
    return {"confirmed": yes, "refuted": no}.get(check.verdict, "is inconclusive here")


def tally(checks: list[Check], verdict: str = "confirmed") -> str:
    """'3 of 4': how many of ``checks`` have ``verdict``."""
    return f"{sum(c.verdict == verdict for c in checks)} of {len(checks)}"


def inconclusive_notes(a: Answer, seeds: Optional[int]) -> None:
    """Say plainly which checks the run could not decide, and what would."""
    open_ = [c for c in a.checks if c.verdict == INCONCLUSIVE]
    if open_:
        more = f" with {seeds} seed(s); more seeds (seeds=...) narrow the intervals" if seeds else ""
        a.notes.append("Inconclusive: " + "; ".join(c.label for c in open_) + f": the 95% interval straddles the "
                       f"rule's line{more}.")


def quick_note(a: Answer, summary: dict) -> None:
    if summary.get("settings", {}).get("preset") == "quick":
        a.notes.append("This is a quick run (a first look with small budgets): the numbers, and so the answer, can "
                       "differ from a default run's.")


def build(sources: Sources) -> list[Answer]:
    """Every question answered from the run (missing studies say so), in the assignment's order."""
    from trainlab.report.answers_part1 import PART1
    from trainlab.report.answers_part23 import PART2, PART3

    out = []
    for q in (*PART1, *PART2, *PART3):
        a = Answer(q.id, q.part, q.item, q.question, q.kind, q.study)
        if not sources.has(q.study):
            a.missing = f"Not answered: this run has no {q.study} study (run `trainlab lab {q.study}` or `lab all`)."
        else:
            try:
                q.answer(sources, a)
            except (Missing, KeyError, TypeError, IndexError, ValueError) as e:
                a.missing = f"Not answered: the {q.study} summary does not hold what this answer reads ({e!r})."
            for c in a.checks:
                if not c.reason:
                    c.run()
        out.append(a)
    return out
