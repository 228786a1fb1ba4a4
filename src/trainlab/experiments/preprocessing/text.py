"""What the preprocessing study says, computed from its summary by rules (never canned).

Verdicts are recomputed from the stored paired differences (``claims.verdict``). One more rule:
"speed follows conditioning" holds when, for every two transforms whose second-moment condition
numbers differ by more than ``SAME_COND`` (a factor), the better conditioned one needs no more
median steps at its best rate. Transforms with the same conditioning (centering and PCA: a
rotation changes no eigenvalue) may come in either order.
"""
from __future__ import annotations

from trainlab.experiments import claims
from trainlab.experiments.claims import fmt
from trainlab.report.folder import RunData


def _best(arm: dict) -> dict:
    return arm["rates"][arm["best"]]


def steps_text(arm: dict, budget: int) -> str:
    r = _best(arm)
    s = r["steps"]
    n = s["n"]
    if r["reached"] == 0:
        return f"not reached within {budget} steps at any learning rate"
    tail = "" if r["reached"] == n else f", {n - r['reached']} of {n} seeds not reached (counted as {budget + 1})"
    return f"{fmt(s['median'])} [{fmt(s['lo'])}, {fmt(s['hi'])}] steps at lr {arm['best_lr']:g}{tail}"


SAME_COND = 1.1  # condition numbers within this factor count as the same conditioning


def follows_conditioning(summary: dict) -> bool:
    """No transform with clearly better conditioning needs more median steps than a worse conditioned one."""
    arms = summary["arms"]
    for a in arms:
        for b in arms:
            ca, cb = a["conditioning"]["second_moment"], b["conditioning"]["second_moment"]
            sa, sb = _best(a)["steps"]["median"], _best(b)["steps"]["median"]
            if ca * SAME_COND < cb and (sa is None or sb is None or sa > sb):
                return False
    return True


def _arm_sentence(arm: dict, budget: int) -> str:
    c = arm["conditioning"]
    return (f"{arm['label']}: condition number of the input covariance {fmt(c['covariance'])}, of the second moment "
            f"with a bias column {fmt(c['second_moment'])}; {steps_text(arm, budget)}; val accuracy "
            f"{100 * (_best(arm)['val_acc']['median'] or 0):.1f}%")


def _setup(summary: dict) -> str:
    t = summary["task"]
    return (f"{'-'.join(map(str, t['sizes']))} ReLU, {t['optimizer']}, {t['n_train']} points, {t['seeds']} seeds, each "
            f"transform at its best of {len(t['lrs'])} learning rates; target: training loss <= {t['target']:g} "
            f"within {t['steps']} steps")


def _speed_key(arm: dict) -> tuple:
    """Fewest steps first; among equal medians (all censored), the lowest final loss."""
    r = _best(arm)
    return (r["steps"]["median"] or 0, r["final_loss"]["median"] if r["final_loss"]["median"] is not None else 1e9)


def _order_sentence(summary: dict) -> str:
    arms = sorted(summary["arms"], key=_speed_key)
    word = "follows" if follows_conditioning(summary) else "does not follow"
    return (f"Fastest to slowest: {', '.join(a['label'] for a in arms)}; the order {word} the condition number of "
            f"the second-moment matrix")


def observations(run: RunData) -> list[str]:
    s = run.summary
    budget = s["task"]["steps"]
    out = [s["data_source"], _setup(s)]
    out += [_arm_sentence(a, budget) for a in s["arms"]]
    out.append(_order_sentence(s))
    out += [claims.sentence(c) for c in s["claims"]]
    for a in s["arms"]:
        div = [r for r in a["rates"] if r["diverged"]]
        if div:
            out.append(f"{a['label']}: diverged (loss non-finite) at lr " + ", ".join(
                f"{r['lr']:g} ({r['diverged']} of {r['steps']['n']} seeds)" for r in div))
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    budget = s["task"]["steps"]
    rows = [[a["label"], fmt(a["conditioning"]["covariance"]), fmt(a["conditioning"]["second_moment"]),
             f"{a['best_lr']:g}", steps_text(a, budget), f"{_best(a)['reached']}/{_best(a)['steps']['n']}",
             fmt(_best(a)["final_loss"]["median"])] for a in s["arms"]]
    grid = [[a["label"]] + [f"{fmt(r['steps']['median'])} ({r['reached']}/{r['steps']['n']})" for r in a["rates"]]
            for a in s["arms"]]
    return [
        {"title": "Each transform at its best learning rate (GD steps to the target: median [95% CI])",
         "columns": ["transform", "cond(cov)", "cond(second moment)", "best lr", "steps to target", "reached",
                     "final train loss"], "rows": rows},
        {"title": f"Median steps to the target (seeds reaching it) at every learning rate; {budget + 1} = not reached",
         "columns": ["transform"] + [f"lr {lr:g}" for lr in s["task"]["lrs"]], "rows": grid},
        claims.claims_table(s["claims"], "Claims (paired by seed)"),
    ]


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    budget = s["task"]["steps"]
    by = {a["name"]: a for a in s["arms"]}
    first = _order_sentence(s)
    if "none" in by and "whiten" in by:
        n, w = by["none"], by["whiten"]
        first = (f"Raw inputs (condition number {fmt(n['conditioning']['covariance'])}; "
                 f"{fmt(n['conditioning']['second_moment'])} with the offset): {steps_text(n, budget)}; whitened "
                 f"({fmt(w['conditioning']['covariance'])}): {steps_text(w, budget)}. " + first)
    return ([first + "."] + [claims.sentence(c) for c in s["claims"]])[:5]


def headline(summary: dict) -> str:
    arms = sorted(summary["arms"], key=_speed_key)
    order = " < ".join(a["name"] for a in arms)
    return f"steps to target: {order}"
