"""Words of the dropout study, computed from its run folder: ``observations``, ``tables``,
``key_findings`` (``RunData``: the summary, and the stored curves for what is paired over seeds)
and the console ``headline``.

Every observation is a sentence computed from the numbers: a paired difference whose 95% interval
crosses zero is called inconclusive, never an effect. Tables are for display, so their error cells
are preformatted as percents.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.experiments.dropout.settings import SRIVASTAVA_T, VARIANTS
from trainlab.experiments.dropout.summary import per_seed
from trainlab.report.folder import RunData
from trainlab.stats import paired_difference

MIN_SEEDS_FOR_INTERVAL = 3  # below this a bootstrap interval of a median says nothing


def _pct(stat: dict[str, Any]) -> str:
    if stat.get("median") is None:
        return f"n/a ({stat.get('flag', 'no finite values')})"
    if stat["n"] == 1:
        return f"{100 * stat['median']:.1f}%"
    return f"{100 * stat['median']:.1f}% [{100 * stat['lo']:.1f}, {100 * stat['hi']:.1f}]"


def _num(stat: dict[str, Any], digits: int = 3) -> str:
    if stat.get("median") is None:
        return f"n/a ({stat.get('flag', 'no finite values')})"
    if stat["n"] == 1:
        return f"{stat['median']:.{digits}g}"
    return f"{stat['median']:.{digits}g} [{stat['lo']:.{digits}g}, {stat['hi']:.{digits}g}]"


def paired_phrase(ref: np.ndarray, new: np.ndarray, noun: str, down: str, up: str) -> str:
    """How ``new`` changes ``noun`` against ``ref`` over paired seeds, in points, with its 95% interval.

    "val error drops by 2.1 points [1.2, 3.0]"; "... : +0.3 points [-0.4, 1.1], inconclusive" when the
    interval crosses 0; and no interval at all below MIN_SEEDS_FOR_INTERVAL seeds.
    """
    diff = np.asarray(new, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    n = int(np.isfinite(diff).sum())
    if n < MIN_SEEDS_FOR_INTERVAL:
        med = 100 * float(np.nanmedian(diff)) if n else float("nan")
        return f"{noun} {med:+.1f} points from {n} seed(s), too few for an interval: inconclusive"
    d = paired_difference(new, ref)
    if not d["conclusive"]:
        return (f"{noun} {100 * d['median']:+.1f} points [{100 * d['lo']:+.1f}, {100 * d['hi']:+.1f}]: inconclusive "
                f"(the interval crosses 0)")
    sign = -1.0 if d["median"] < 0 else 1.0  # the size of the change, its direction in words
    lo, hi = sorted((sign * d["lo"], sign * d["hi"]))
    verb = down if sign < 0 else up
    return f"{noun} {verb} by {100 * sign * d['median']:.1f} points [{100 * lo:.1f}, {100 * hi:.1f}]"


OVERFIT_POINTS = 2.0  # a train-val error gap (points) that counts as clear overfitting


def _loss_tolerance(ln_c: float) -> float:
    """How far from ln C a loss at init may be: the rule of trainlab.diagnose.checks' loss_at_init finding."""
    try:
        from trainlab.diagnose.findings import CODES

        spec = CODES["loss_at_init"]
        return max(float(spec.threshold), float(spec.extra["rel"]) * ln_c)
    except (ImportError, KeyError):
        return max(0.5, 0.25 * ln_c)


def data_observations(summary: dict[str, Any]) -> list[str]:
    """A data fallback (auto -> mnist-5k) is said first: every number below depends on it."""
    fallback = [n for n in summary["data_notes"] if "fell back" in n]
    if not fallback:
        return []
    return [f"Data: {fallback[0]}. So this ran on {summary['train_size']:,} train / {summary['val_size']:,} "
            f"val digits, not the lab's 5,000 / 10,000 from full MNIST."]


def seeds_at_best(run: RunData) -> dict[str, dict[str, np.ndarray]]:
    """Per group: each seed's train and val error at its best epoch, from the stored curves."""
    return per_seed(run.npz("curves.npz"), run.summary["training"]["steps_per_epoch"], run.json("groups.json"))


def observations(run: RunData) -> list[str]:
    """Sentences computed from the numbers; paired over seeds where the claim is a comparison."""
    summary = run.summary
    n, inits, variants = (summary["settings"][k] for k in ("seeds", "inits", "variants"))
    raw = seeds_at_best(run)
    obs: list[str] = data_observations(summary)
    ln_c = summary["ln_n_classes"]
    parts = [f"{r['label']} {r['loss_at_init']['median']:.3g} (logit std {r['logit_std']['median']:.2g})"
             for r in summary["init_check"] if r["loss_at_init"]["median"] is not None]
    if parts:
        obs.append(f"Loss at init (dropout off, training set, median over {n} seed(s)) against "
                   f"ln 10 = {ln_c:.2f}: " + "; ".join(parts) + ".")
    for init in inits:
        per = [f"{v['name']} {v['loss_at_init_dropout_on']['median']:.3g}" for v in summary["variants"]
               if v["init"] == init and v["loss_at_init_dropout_on"]["median"] is not None]
        obs.append(f"{init} init, loss at init with dropout on (one pass, as step 1 sees it): " + ", ".join(per) + ".")
    for init in inits:
        entries = {v["name"]: v for v in summary["variants"] if v["init"] == init}
        none = entries.get("none")
        if none is not None and none["gap"]["median"] is not None:
            verdict = ("it overfits" if 100 * none["gap"]["median"] >= OVERFIT_POINTS else "no clear overfitting")
            obs.append(f"{init} init, no dropout: train error {_pct(none['train_error'])} vs val "
                       f"{_pct(none['val_error'])} at its best epoch, a gap of {100 * none['gap']['median']:.1f} "
                       f"points: {verdict}.")
        for name, v in entries.items():
            if name == "none" or none is None:
                continue
            ref, new = raw[f"{init}__none"], raw[f"{init}__{name}"]
            obs.append(f"{init} init, {v['label']} vs no dropout (paired over {n} seed(s)): "
                       + paired_phrase(ref["gap"], new["gap"], "the train-val gap", "narrows", "widens") + "; "
                       + paired_phrase(ref["val"], new["val"], "val error", "drops", "rises") + ".")
    if "lab" in inits and "he" in inits:
        for name in variants:
            ref, new = raw.get(f"lab__{name}"), raw.get(f"he__{name}")
            if ref is not None and new is not None:
                obs.append(f"{VARIANTS[name].label}, He init vs the lab's init (paired over {n} seed(s)): "
                           + paired_phrase(ref["val"], new["val"], "val error", "drops", "rises") + ".")
    obs += _ensemble_observations(summary["variants"])
    obs += _verdict(summary)
    return obs


def _ensemble_observations(variants: list[dict]) -> list[str]:
    out = []
    at_t = []
    for v in variants:
        e = v.get("ensemble")
        if not e:
            continue
        ens = v["ensemble_error"]
        t_max = str(e["t_max"])
        shown = ", ".join(f"{s} pass{'es' if s != '1' else ''} {100 * ens[s]:.1f}%"
                          for s in ("1", str(SRIVASTAVA_T), t_max) if s in ens)
        reach = (f"it first matches eval mode at {e['reaches_eval_mode_at']} passes" if e["reaches_eval_mode_at"]
                 else f"it stays above eval mode up to {e['t_max']} passes")
        out.append(f"MC dropout, {v['init']} init, {v['label']} (seed {e['seed']}, {e['samples']:,} val samples, "
                   f"1 sample = {100 / e['samples']:.2f} points): {shown}; eval mode (weight scaling) "
                   f"{100 * e['eval_mode_error']:.1f}%; {reach}.")
        if str(SRIVASTAVA_T) in ens:
            at_t.append(ens[str(SRIVASTAVA_T)] - e["eval_mode_error"])
    if at_t:
        n_ok = sum(d <= 0 for d in at_t)
        out.append(f"Srivastava et al. 2014 (sec. 7.5): MC averaging matches weight scaling at about {SRIVASTAVA_T} "
                   f"samples. Here, at {SRIVASTAVA_T} passes the ensembles are {100 * min(at_t):+.1f} to "
                   f"{100 * max(at_t):+.1f} points from eval mode ({n_ok} of {len(at_t)} at or below it).")
    return out


def _verdict(summary: dict[str, Any]) -> list[str]:
    """What the diagnostics say about the lab's set-up, from loss at init and the He comparison."""
    rows = {r["init"]: r for r in summary["init_check"]}
    lab = rows.get("lab", {}).get("loss_at_init", {}).get("median")
    if lab is None:
        return []
    ln_c = summary["ln_n_classes"]
    watched = summary.get("watch", {}).get("by_init", {})
    codes = sorted({f["code"] for f in watched.get("lab", [])})
    found = ("trainlab.watch did not run on it" if "lab" not in watched
             else f"trainlab.watch on it reports {', '.join(codes)}" if codes else "trainlab.watch reports nothing")
    far = abs(lab - ln_c) > _loss_tolerance(ln_c)
    state = ("far from it: the untrained net is confidently wrong, and training first spends its steps "
             "shrinking the logits" if far else "close to it: the init scale is sound")
    text = (f"Diagnosis of the lab's set-up: with N(0, 0.1) read as a std, the loss at init is {lab:.3g}, "
            f"{lab / ln_c:.1f}x ln 10 = {ln_c:.2f}, {state} ({found}).")
    val = {(v["init"], v["name"]): v["val_error"]["median"] for v in summary["variants"]}
    he = [(n, val[("he", n)], val[("lab", n)]) for (i, n) in val if i == "he" and ("lab", n) in val]
    he = [(n, h, lab_v) for n, h, lab_v in he if h is not None and lab_v is not None]
    if he:
        diffs = [100 * (lab_v - h) for _, h, lab_v in he]
        text += (f" He init, on the same variants and seeds, changes the median val error by "
                 f"{-max(diffs):+.1f} to {-min(diffs):+.1f} points (negative = He better).")
    return [text]


def tables(run: RunData) -> list[dict[str, Any]]:
    summary = run.summary
    t_max = summary["settings"]["t_max"]
    sizes = [s for s in ("1", "5", str(SRIVASTAVA_T), str(t_max)) if int(s) <= t_max]
    sizes = list(dict.fromkeys(sizes))
    res = {"title": f"Per variant at the best epoch (median [95% CI] over seeds; errors in %)",
           "columns": ["init", "variant", "loss at init", "loss at init, dropout on", "best epoch", "train error",
                       "val error", "val loss",
                       f"eval-mode error ({summary['ensemble_settings']['samples']} val)"],
           "rows": []}
    ens = {"title": "MC-dropout ensemble vs eval mode (one seed; errors in %)",
           "columns": ["init", "variant", "eval mode"] + [f"T={s}" for s in sizes] + ["first T <= eval mode"],
           "rows": []}
    for v in summary["variants"]:
        res["rows"].append([v["init"], v["label"], _num(v["loss_at_init"]), _num(v["loss_at_init_dropout_on"]),
                            _num(v["best_epoch"]), _pct(v["train_error"]),
                            _pct(v["val_error"]), _num(v["val_loss"]), _pct(v["eval_mode_error"])])
        e = v.get("ensemble")
        if e:
            ens["rows"].append([v["init"], v["label"], f"{100 * e['eval_mode_error']:.1f}%"]
                               + [f"{100 * v['ensemble_error'][s]:.1f}%" for s in sizes]
                               + [e["reaches_eval_mode_at"] or f"> {e['t_max']}"])
    init = {"title": f"Loss at init by init reading (ln 10 = {summary['ln_n_classes']:.3f})",
            "columns": ["init", "meaning", "std", "loss at init", "x ln 10", "logit std"],
            "rows": [[r["label"], r["meaning"], "sqrt(2/fan_in)" if r["std"] is None else f"{r['std']:.3g}",
                      _num(r["loss_at_init"]), f"{r['ratio_to_ln_c']:.1f}" if r["ratio_to_ln_c"] else "n/a",
                      _num(r["logit_std"])] for r in summary["init_check"]]}
    tables = [res, init] + ([ens] if ens["rows"] else [])
    watch = summary.get("watch", {})
    if watch.get("by_init"):
        rows = [[i, f["code"], f["severity"], f["message"]] for i, fs in watch["by_init"].items() for f in fs]
        rows += [[i, "(none)", "", ""] for i, fs in watch["by_init"].items() if not fs]
        tables.append({"title": f"trainlab.watch findings ({watch['steps']} steps, {watch['variant']}, seed 0)",
                       "columns": ["init", "code", "severity", "message"], "rows": rows})
    return tables


def headline(summary: dict[str, Any]) -> str:
    """One console line: val error per variant for the lab's init, and loss at init lab vs He."""
    vs = summary["variants"]
    first = vs[0]["init"]
    errs = ", ".join(f"{v['name']} {100 * v['val_error']['median']:.1f}%" for v in vs
                     if v["init"] == first and v["val_error"]["median"] is not None)
    inits = {r["init"]: r["loss_at_init"]["median"] for r in summary.get("init_check", [])}
    loss = ", ".join(f"{k} {val:.3g}" for k, val in inits.items() if val is not None)
    return f"val error ({first} init): {errs}; loss at init {loss} (ln 10 = 2.30)"


def key_findings(run: RunData) -> list[str]:
    """The 3-5 sentences the report leads with: the data, the init's loss, overfitting, dropout, MC dropout."""
    s = run.summary
    out = []
    if s.get("data_fallback"):
        out.append(f"Full MNIST was unavailable, so this ran on the {s['data_source'].split()[0]} fallback: "
                   f"{s['train_size']:,} train / {s['val_size']:,} val digits.")
    lab = next((r for r in s["init_check"] if r["init"] == "lab"), None)
    if lab is not None and lab["loss_at_init"]["median"] is not None:
        out.append(f"The lab's init N(0, 0.1) (0.1 as the std) starts at loss {lab['loss_at_init']['median']:.3g}, "
                   f"{lab['ratio_to_ln_c']:.1f}x ln 10: the untrained net is confidently wrong.")
    first = s["variants"][0]["init"]
    errs = {v["name"]: v for v in s["variants"] if v["init"] == first and v["val_error"]["median"] is not None}
    none = errs.get("none")
    if none is not None and none["gap"]["median"] is not None:
        out.append(f"Without dropout ({first} init) the train-val error gap at the best epoch is "
                   f"{100 * none['gap']['median']:.1f} points, at val error {_pct(none['val_error'])}.")
    if errs:
        best = min(errs.values(), key=lambda v: v["val_error"]["median"])
        out.append(f"The lowest median val error with the {first} init: {best['label']}, {_pct(best['val_error'])}.")
    ens = [v for v in s["variants"] if v.get("ensemble")]
    if ens:
        e = ens[0]["ensemble"]
        reach = (f"matches eval mode from {e['reaches_eval_mode_at']} passes" if e["reaches_eval_mode_at"]
                 else f"stays above eval mode up to {e['t_max']} passes")
        out.append(f"MC dropout ({ens[0]['label']}, one seed) {reach} ({100 * e['eval_mode_error']:.1f}% in eval "
                   "mode).")
    return out[:5]
