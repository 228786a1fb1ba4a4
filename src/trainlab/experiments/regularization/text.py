"""What the regularization study says, computed from its summary by rules (never canned).

Each claim's verdict is recomputed from its stored paired difference (``claims.verdict``), so the
words follow the numbers. An arm's ends are named by rule: the weakest strength is "as none" when
its val loss interval overlaps the baseline's, and the strongest "underfits" when its training
loss is above the best strength's val loss (it no longer fits even the training points).
"""
from __future__ import annotations

from typing import Optional

from trainlab.experiments import claims
from trainlab.experiments.claims import fmt
from trainlab.experiments.regularization.summary import arm_label
from trainlab.report.folder import RunData


def _stat(block: dict, metric: str, pct: bool = False) -> str:
    s = block[metric]
    if s["median"] is None:
        return "n/a"
    if pct:
        return f"{100 * s['median']:.1f}% [{100 * s['lo']:.1f}, {100 * s['hi']:.1f}]"
    return f"{fmt(s['median'])} [{fmt(s['lo'])}, {fmt(s['hi'])}]"


def _claim(summary: dict, cid: str) -> dict:
    return next(c for c in summary["claims"] if c["id"] == cid)


def _cfg(summary: dict, index: int) -> dict:
    return summary["configs"][index]


def _overlap(a: dict, b: dict) -> bool:
    if None in (a["lo"], a["hi"], b["lo"], b["hi"]):
        return False
    return a["lo"] <= b["hi"] and b["lo"] <= a["hi"]


def _ends(summary: dict, arm: dict) -> str:
    """The under- and over-regularized ends of an arm, named by rule from its numbers."""
    weak, strong = _cfg(summary, arm["configs"][0]), _cfg(summary, arm["configs"][-1])
    best, base = _cfg(summary, arm["best"]), _cfg(summary, arm["baseline"])
    sym = arm["symbol"]
    weak_word = "as without regularization" if _overlap(weak["val_loss"], base["val_loss"]) else "already differs"
    under = (strong["train_loss"]["median"] or 0) > (best["val_loss"]["median"] or 0)
    strong_word = "underfits (its training loss exceeds the best's val loss)" if under else "still fits"
    if strong["val_loss"].get("nonfinite"):
        strong_word = (f"diverged in {strong['val_loss']['nonfinite']} of "
                       f"{strong['val_loss']['n'] + strong['val_loss']['nonfinite']} seeds (loss non-finite)")
    return (f"{arm['label']}: weakest {sym}={weak['strength']:g} val loss {_stat(weak, 'val_loss')} ({weak_word}); "
            f"best {sym}={best['strength']:g} {_stat(best, 'val_loss')}; strongest {sym}={strong['strength']:g} "
            f"{_stat(strong, 'val_loss')}, training loss {_stat(strong, 'train_loss')}: {strong_word}")


def _baseline_sentence(summary: dict) -> str:
    t = summary["task"]
    base = _cfg(summary, next(a["baseline"] for a in summary["arms"] if a["optimizer"] == "sgd"))
    return (f"{t['n_train']} two-moons points (noise {t['noise']:g}), {'-'.join(map(str, t['sizes']))} ReLU, "
            f"{t['steps']} full-batch steps, {t['seeds']} seeds: without regularization the training loss ends at "
            f"{_stat(base, 'train_loss')} (accuracy {_stat(base, 'train_acc', True)}) and the val loss at "
            f"{_stat(base, 'val_loss')} (accuracy {_stat(base, 'val_acc', True)}), {_stat(base, 'val_rise')} above "
            f"its minimum during training")


def helped(summary: dict) -> dict[str, list[str]]:
    """Arm labels by the verdict of their claim "lowers the held-out loss"."""
    out: dict[str, list[str]] = {"confirmed": [], "refuted": [], "inconclusive": []}
    for arm in summary["arms"]:
        out[claims.verdict(_claim(summary, f"{arm['name']}_helps"))].append(arm["label"])
    return out


def _best_arm(summary: dict) -> Optional[dict]:
    done = [a for a in summary["arms"] if _cfg(summary, a["best"])["test_loss"]["median"] is not None]
    return min(done, key=lambda a: _cfg(summary, a["best"])["test_loss"]["median"], default=None)


def _helps_sentence(summary: dict) -> str:
    h = helped(summary)
    n = len(summary["arms"])
    s = f"{len(h['confirmed'])} of {n} regularizers lower the held-out loss at their best strength (confirmed)"
    if h["refuted"]:
        s += f"; raise it: {', '.join(h['refuted'])}"
    if h["inconclusive"]:
        s += f"; inconclusive: {', '.join(h['inconclusive'])}"
    best = _best_arm(summary)
    if best is not None:
        b, base = _cfg(summary, best["best"]), _cfg(summary, best["baseline"])
        s += (f". Lowest test loss: {best['label']} at {best['symbol']}={best['best_strength']:g}, "
              f"{_stat(b, 'test_loss')} against {_stat(base, 'test_loss')} without")
    return s


def _max_norm_sentence(summary: dict) -> str:
    """The tightest bound c against the largest unit norm any seed ended with (rounding allowed)."""
    mn = next(a for a in summary["arms"] if a["name"] == "max_norm")
    tight = _cfg(summary, mn["configs"][-1])
    top = tight["max_unit_norm"]["hi"]
    word = ("n/a" if top is None else "the bound holds" if top <= tight["strength"] * (1 + 1e-5)
            else "above the bound c")
    return (f"max-norm at c={tight['strength']:g}: the largest unit norm after training is "
            f"{_stat(tight, 'max_unit_norm')}: {word}")


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = [_baseline_sentence(s)]
    out += [_ends(s, arm) for arm in s["arms"]]
    out += [claims.sentence(c) for c in s["claims"]]
    out.append(_max_norm_sentence(s))
    if s["frozen"]:
        out.append(f"{len(s['frozen'])} members went non-finite and were frozen (their numbers are left out, counted "
                   f"as nonfinite in the statistics)")
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    best_rows = []
    for arm in s["arms"]:
        b = _cfg(s, arm["best"])
        best_rows.append([arm["label"], f"{arm['symbol']}={arm['best_strength']:g}", _stat(b, "val_loss"),
                          _stat(b, "test_loss"), _stat(b, "test_acc", True), _stat(b, "weight_norm"),
                          _stat(b, "near_zero"), claims.verdict(_claim(s, f"{arm['name']}_helps"))])
    for opt in ("sgd", "adam"):
        base = next((c for c in s["configs"] if c["arm"] == "none" and c["optimizer"] == opt), None)
        if base is not None:
            best_rows.append([f"none ({s['optimizers'][opt]['name']})", "-", _stat(base, "val_loss"),
                              _stat(base, "test_loss"), _stat(base, "test_acc", True), _stat(base, "weight_norm"),
                              _stat(base, "near_zero"), "-"])
    sweep = [[arm_label(c["arm"]), "-" if c["strength"] is None else f"{c['strength']:g}", _stat(c, "train_loss"),
              _stat(c, "val_loss"), _stat(c, "val_acc", True), _stat(c, "weight_norm"), _stat(c, "near_zero")]
             for c in s["configs"]]
    return [
        {"title": "Each regularizer at its best strength (lowest median val loss); test = held out; median [95% CI]",
         "columns": ["regularizer", "best", "val loss", "test loss", "test acc", "weight norm", "near-zero frac",
                     "lowers test loss?"], "rows": best_rows},
        {"title": "Every configuration (median [95% CI] over seeds)",
         "columns": ["regularizer", "strength", "train loss", "val loss", "val acc", "weight norm", "near-zero frac"],
         "rows": sweep},
        claims.claims_table(s["claims"], "Claims (paired by seed)"),
    ]


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    overfits = _claim(s, "overfits")
    out = [_baseline_sentence(s) + f": overfitting {claims.verdict(overfits)}.", _helps_sentence(s) + "."]
    out += [claims.sentence(_claim(s, cid)) for cid in ("l1_sparser", "adamw_beats_adam_l2", "sgd_wd_is_l2")]
    return out[:5]


def headline(summary: dict) -> str:
    h = helped(summary)
    best = _best_arm(summary)
    parts = [f"{len(h['confirmed'])}/{len(summary['arms'])} regularizers lower test loss"]
    if best is not None:
        parts.append(f"best {best['label']} ({best['symbol']}={best['best_strength']:g})")
    return "; ".join(parts)

