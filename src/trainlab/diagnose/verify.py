"""``doctor --verify``: apply each root cause's fix to a copy of the set-up and run the checks again.

For every root cause of a doctor report (``causes.root_causes``) the fix table
(``fixes.FIXES[code].setup``) gives a set-up-level fix. It is applied to a deep copy of the user's
(model, optimizer, loss function) with the same list of batches, and the doctor runs again with the
same seed and the same batches. The result says whether the symptom is gone, how the probe's final
loss moved, which of the effects folded under the cause went away with it, and a verdict from
``VERDICTS``. Fixes are tried one at a time, each on a fresh copy; the user's objects are never
changed (a test checks weights, optimizer state, ``requires_grad``, ``.grad`` and batches).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from trainlab.diagnose.causes import RootCause
from trainlab.diagnose.findings import Finding
from trainlab.diagnose.fixes import FIXES
from trainlab.diagnose.setup_fixes import NotApplicable, Setup, SetupFix

# The verdicts, in the order they are tried, with the rule each states. The loss compared is the
# probe's final loss (median of its last 10 steps), before and after the fix, same seed and batches.
LOSS_NO_WORSE = 0.05  # "no worse": at most 5% above the loss before (mini-batch noise of a 100-step probe)
LOSS_BETTER = 0.10  # "improved": at least 10% below it
VERDICTS: dict[str, str] = {
    "fixed": "the symptom is gone and the final loss is no worse (at most 5% above before)",
    "improved": "the symptom remains, but the final loss fell by 10% or more",
    "not fixed": "the symptom remains and the loss did not fall by 10%, or the symptom is gone but "
                 "the loss got worse",
    "not applicable": "the fix table has no set-up fix for this code, or the fix does not apply here",
}
# Fixes that change what the loss is computed on: the loss before and after measure different
# things, so their verdict rests on the symptom alone.
CHANGES_LOSS = frozenset({"fix the output activation for the loss", "reshape the output to the target"})


@dataclass
class FixResult:
    """One root cause's fix, tried on a copy: the figures before and after, and the verdict."""

    code: str
    finding: Finding
    fix: str
    description: str
    verdict: str
    note: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] | None = None
    effects_gone: list[str] = field(default_factory=list)
    effects_remaining: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding.to_dict(), "code": self.code,
                "fix": {"name": self.fix, "description": self.description},
                "before": self.before, "after": self.after, "verdict": self.verdict, "note": self.note,
                "effects_gone": self.effects_gone, "effects_remaining": self.effects_remaining}


@dataclass
class Verification:
    """Every root cause's fix result, in the report's root-cause order."""

    results: list[FixResult]
    seed: int
    steps: int

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "steps": self.steps, "verdicts": VERDICTS,
                "fixes": [r.to_dict() for r in self.results]}


def verdict(gone: bool, before: float | None, after: float | None, by_symptom_only: bool = False) -> str:
    """``VERDICTS`` as a function of the symptom and the final losses (None or NaN: not measured)."""
    change = _relative_change(before, after)
    if by_symptom_only:
        return "fixed" if gone else "not fixed"
    if gone and change is not None and change <= LOSS_NO_WORSE:
        return "fixed"
    if not gone and change is not None and change <= -LOSS_BETTER:
        return "improved"
    return "not fixed"


def _relative_change(before: float | None, after: float | None) -> float | None:
    """(after - before) / |before|; -inf when a non-finite loss became finite, +inf the other way."""
    if before is None or after is None:
        return None
    if not math.isfinite(before):
        return -math.inf if math.isfinite(after) else None
    if not math.isfinite(after):
        return math.inf
    return (after - before) / max(abs(before), 1e-12)


def _figures(report: Any, code: str) -> dict[str, Any]:
    symptom = [f.severity for f in report.findings if f.code == code and f.severity != "info"]
    return {"final_loss": report.probe_final_loss, "first_loss": report.probe_first_loss,
            "init_loss": report.init_loss, "symptom": max(symptom, default=None),
            "warnings": sorted({f.code for f in report.findings if f.severity != "info"})}


def verify_fixes(report: Any, setup: Setup, run: Callable[[Setup], Any], seed: int = 0,
                 steps: int = 100) -> Verification:
    """Try each root cause's fix on a copy of ``setup``; ``run(setup) -> DoctorReport`` runs the
    doctor (same seed, steps and batches) on the fixed copy."""
    results = []
    for group in report.root_causes:
        results.append(_try(group, report, setup, run))
    return Verification(results, seed, steps)


def _try(group: RootCause, report: Any, setup: Setup, run: Callable[[Setup], Any]) -> FixResult:
    code, finding = group.code, group.findings[0]
    fix: SetupFix | None = FIXES[code].setup if code in FIXES else None
    before = _figures(report, code)
    if fix is None:
        return FixResult(code, finding, "no set-up fix", FIXES[code].description if code in FIXES else "",
                         "not applicable", "this is fixed in the training code: " + finding.fix, before)
    model, optimizer, loss_fn = copy.deepcopy((setup.model, setup.optimizer, setup.loss_fn))
    copied = Setup(model, optimizer, list(setup.batches), loss_fn, setup.n_classes)
    try:
        fixed = fix.apply(copied)
    except NotApplicable as e:
        return FixResult(code, finding, fix.name, fix.description, "not applicable", str(e), before)
    after_report = run(fixed)
    after = _figures(after_report, code)
    gone = after["symptom"] is None
    effects = sorted({f.code for f in group.effects})
    still = set(after["warnings"])
    by_symptom = fix.name in CHANGES_LOSS
    result = FixResult(code, finding, fix.name, fix.description,
                       verdict(gone, before["final_loss"], after["final_loss"], by_symptom), before=before,
                       after=after, effects_gone=[c for c in effects if c not in still],
                       effects_remaining=[c for c in effects if c in still])
    change = _relative_change(before["final_loss"], after["final_loss"])
    moved = "not measured" if change is None else f"{change:+.0%}"
    result.note = (f"symptom {'gone' if gone else 'still there'}; final loss "
                   f"{_fmt(before['final_loss'])} -> {_fmt(after['final_loss'])} ({moved})")
    if by_symptom:
        result.note += "; the fix changes what the loss measures, so the verdict rests on the symptom"
    return result


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"
