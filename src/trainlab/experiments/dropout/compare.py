"""The dropout study's ensembles over seeds, next to the student report's Table I, and the He-only run, in words.

Table I of the report (seed 004) gives one test accuracy per dropout probability and ensemble size.
Here each of its rows sits beside the nearest variant of this run (``settings.REPORT_MATCH``): the
val accuracy in eval mode and of the MC ensembles, median [95% CI] over seeds up to ``t_seeds``
passes, and seed 0's value with its Wilson interval over the samples beyond that. The test split
stays untouched (the lab's protocol), so this run's numbers are val accuracies: what differs is
said in the table's own columns.
"""
from __future__ import annotations

from typing import Any, Optional

from trainlab.experiments.dropout.settings import REPORT_MATCH, REPORT_TABLE


def _acc(stat: Optional[dict[str, Any]]) -> str:
    """An error statistic as an accuracy in percent: 'median [lo, hi]' (the interval flips)."""
    if not stat or stat.get("median") is None:
        return "n/a"
    if stat.get("n", 2) == 1:
        return f"{100 * (1 - stat['median']):.1f}%"
    return f"{100 * (1 - stat['median']):.1f}% [{100 * (1 - stat['hi']):.1f}, {100 * (1 - stat['lo']):.1f}]"


def _ours(v: dict[str, Any], size: str) -> str:
    if size == "None":
        return _acc(v["eval_mode_error"]) + " (eval mode)"
    if not v.get("p_input") and not v.get("p_hidden"):  # no dropout: every pass is the eval-mode net
        return _acc(v["eval_mode_error"]) + " (no dropout: every pass is the same net, so eval mode)"
    seeds = v.get("ensemble_seeds") or {}
    if size in seeds.get("error", {}):
        return _acc(seeds["error"][size]) + f" ({seeds['seeds']} seeds)"
    iv = (v.get("ensemble_error_interval") or {}).get(size)
    if iv is not None:
        return f"{100 * (1 - iv['error']):.1f}% [{100 * (1 - iv['hi']):.1f}, {100 * (1 - iv['lo']):.1f}] (seed 0, Wilson)"
    return f"not run (passes: {seeds.get('t', 0)} every seed, {(v.get('ensemble') or {}).get('t_max', 0)} seed 0)"


def report_table(summary: dict[str, Any], init: str = "lab") -> dict[str, Any]:
    """Table I of the student report beside this run's nearest variants (one init)."""
    by = {v["name"]: v for v in summary["variants"] if v["init"] == init}
    rows = []
    for p, sizes in REPORT_TABLE.items():
        name, how = REPORT_MATCH[p]
        v = by.get(name)
        for size, acc in sizes.items():
            rows.append([f"p = {p:g}", size, f"{100 * acc:.2f}%", f"{name}: {how}",
                         _ours(v, size) if v is not None else "variant not trained"])
    samples = summary["ensemble_settings"]["samples"]
    return {"title": f"Ensembles next to the student report's Table I ({init} init; ours: val accuracy on {samples:,} "
                     "val samples, median [95% CI]; the report: test accuracy of one run)",
            "columns": ["report p", "ensemble size", "report (test acc)", "our variant", "ours (val acc)"],
            "rows": rows}


def seed_ensemble_sentences(summary: dict[str, Any]) -> list[str]:
    """Per variant with ensembles over seeds: the change from eval mode at 1 pass and at the largest size."""
    out = []
    for v in summary["variants"]:
        es = v.get("ensemble_seeds")
        if not es:
            continue
        first, last = str(es["sizes"][0]), str(es["sizes"][-1])
        d1, dl = es["minus_eval_mode"][first], es["minus_eval_mode"][last]
        out.append(f"MC dropout over {es['seeds']} seed(s), {v['init']} init, {v['label']}: ensemble minus eval-mode "
                   f"error {_pts(d1)} at {first} pass and {_pts(dl)} at {last} passes.")
    return out


def _pts(d: dict[str, Any]) -> str:
    if d.get("median") is None:
        return "n/a"
    if d.get("n", 0) < 2:
        return f"{100 * d['median']:+.1f} points (one seed, no interval)"
    return f"{100 * d['median']:+.1f} points [{100 * d['lo']:+.1f}, {100 * d['hi']:+.1f}]"


def he_extension_sentence(summary: dict[str, Any]) -> Optional[str]:
    """Whether He's best epoch is the last, and what the He-only run found."""
    ext = summary.get("he_extension")
    if not ext:
        return None
    counts = ", ".join(f"{k} {n}/{ext['seeds_main']}" for k, n in ext.get("best_is_last", {}).items())
    head = f"He init, seeds whose best epoch is the last of {ext['last_epoch']}: {counts or 'n/a'}."
    if not ext["ran"]:
        return f"{head} No He-only run: {ext['reason']}."
    parts = [f"{r['label']} best at epoch {_epochs(r)} ({r['found']}/{r['seeds']} found), val error "
             f"{100 * r['val_error_at_best']['median']:.1f}%" for r in ext["variants"]]
    how = ("stopped early: every member was past its best" if ext["stopped_early"]
           else f"ran to the cap of {ext['epochs_cap']} epochs")
    return f"{head} The He-only run ({ext['seeds']} seeds, {how}, {ext['epochs_run']} epochs): " + "; ".join(parts) + "."


def _epochs(r: dict[str, Any]) -> str:
    return ", ".join(str(b) for b in r["best_epochs"])
