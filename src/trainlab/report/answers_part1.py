"""Part 1 of the lab answered (seed 000: initialization of a shallow network), from the shallow study.

Each function fills an ``Answer`` from the shallow summary: sentences built from its numbers,
checks judged on 95% intervals over seeds, the figures to look at. The thresholds are the study's
own (``regime_criteria``: ``acc_good`` for a good solution, ``plateau_tol`` around ln 2).
"""
from __future__ import annotations

import math
from typing import Any, Optional

from trainlab.report.answers import Answer, Question, inconclusive_notes, quick_note, stat_text, verdict_word
from trainlab.report.lookup import Sources, find
from trainlab.report.verdicts import Above, Check, Direction, Evidence, Highest, Near

LN2 = math.log(2.0)
PART = "Part 1: Initialization, a shallow network"
# what the assignment fixes for Part 1, and how it reads in words
ASSIGNMENT = {"n_train": (100, "a training set of 100 points"), "lr": (0.1, "SGD at a fixed lr of 0.1"),
              "steps": (1000, "about 1000 full-batch steps")}
NETWORK = ([2, 6, 3, 2], "relu")


def ev(sources: Sources, label: str, *path: Any) -> Evidence:
    value, where = find(sources, "shallow", *path)
    return Evidence(label, where, value)


def check(label: str, evidence: list[Evidence], rule) -> Check:
    return Check(label, evidence, rule).run()


def _crit(s: dict) -> tuple[float, float]:
    c = s["regime_criteria"]
    return float(c["acc_good"]), float(c["plateau_tol"])


def _row(s: dict, sigma: Optional[float]) -> Optional[dict]:
    return next((r for r in s["sigmas"] if sigma is not None and r["sigma"] == sigma), None)


def setup(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    st, net = s["settings"], s["network"]
    a.sentences.append(f"Circles data: {st['n_train']:,} training and {st['n_val']:,} validation points; a "
                       f"{'-'.join(map(str, net['sizes']))} {net['activation']} net with weights N(0, sigma^2) (sigma "
                       f"the standard deviation) and zero biases; full-batch SGD at lr {st['lr']:g}, cross-entropy, "
                       f"{st['steps']} steps; every set-up over {s['seeds']} seeds, {len(s['sigmas'])} sigmas from "
                       f"{min(r['sigma'] for r in s['sigmas']):g} to {max(r['sigma'] for r in s['sigmas']):g}.")
    a.departures.append("Data: trainlab's circles generator (radii 1 and 2, Gaussian noise 0.15) stands in for the "
                        "template's CircleDataGenerator, which is not part of this repository.")
    for key, (want, words) in ASSIGNMENT.items():
        if st[key] != want:
            a.departures.append(f"{key} = {st[key]:g} instead of {want:g} ({words}), set by the run's settings.")
    if [net["sizes"], net["activation"]] != list(NETWORK):
        a.departures.append(f"Network {'-'.join(map(str, net['sizes']))} {net['activation']} instead of 2-6-3-2 ReLU.")
    if st["n_curve"] < st["n_val"]:
        a.departures.append(f"The val curves over training use the first {st['n_curve']:,} of the {st['n_val']:,} "
                            "val points (evaluating every member on all of them 50 times costs more than training); "
                            "the final val metrics use all of them.")
    a.departures.append(f"In addition to the assignment: {s['seeds']} seeds per set-up (the assignment trains one), so "
                        "every number has a 95% interval over seeds.")
    quick_note(a, s)


def three_sigmas(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    acc_good, tol = _crit(s)
    for key in ("small", "good", "large"):
        v = s["picked"][key]
        r = _row(s, v)
        if r is None:
            a.sentences.append(f"No {key} sigma: none of the sweep meets the rule (a {key} pick is chosen because "
                               f"{s['pick_rules'][key]}).")
            continue
        c = check(f"sigma = {v:g} ({key}): loss at init within {tol:g} of ln 2", [ev(
            sources, f"loss at init, sigma = {v:g}", "sigmas", {"sigma": v}, "loss_at_init")], Near(LN2, tol))
        a.checks.append(c)
        a.sentences.append(
            f"{key.capitalize()} sigma = {v:g}, picked because {s['pick_rules'][key]}. It is {r['regime']} in "
            f"{r['regime_share']:.0%} of seeds, ends at val acc {stat_text(r['val_acc'])}; its loss at init "
            f"{stat_text(r['loss_at_init'])} {_passes(c, r['loss_at_init'], tol, f'the ln 2 = {LN2:.3f} check')}.")
    if s.get("good_pick_note"):
        a.sentences.append(f"The good sigma departs from the check because {s['good_pick_note']}.")
    a.figures += ["sigma_sweep.png", "boundary_grid.png"]
    inconclusive_notes(a, s["seeds"])


def _passes(c: Check, stat: dict, tol: float, what: str) -> str:
    """'passes WHAT' / 'fails WHAT', or, when the interval straddles the line, how the median falls."""
    if c.verdict in ("confirmed", "refuted"):
        return f"{verdict_word(c, 'passes', 'fails')} {what}"
    med = stat.get("median") if isinstance(stat, dict) else None
    if med is None:
        return f"cannot be judged on {what}"
    side = "passes" if abs(med - LN2) <= tol else "fails"
    return f"{side} {what} on its median, though its 95% interval straddles the {tol:g} line: undecided"


def discuss(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    acc_good, tol = _crit(s)
    p = s["picked"]
    small, good, large = (_row(s, p[k]) for k in ("small", "good", "large"))
    if small and good:
        a.checks.append(check(f"the small sigma ({small['sigma']:g}) stays longer on its initial plateau than the "
                              f"good one ({good['sigma']:g})",
                              [ev(sources, f"plateau steps, sigma = {small['sigma']:g}", "sigmas", {"sigma": small["sigma"]}, "leave_step"),
                               ev(sources, f"plateau steps, sigma = {good['sigma']:g}", "sigmas", {"sigma": good["sigma"]}, "leave_step")],
                              Highest()))
        a.checks.append(check(f"the small sigma still ends above val acc {acc_good:g}",
                              [ev(sources, f"val acc, sigma = {small['sigma']:g}", "sigmas", {"sigma": small["sigma"]}, "val_acc")],
                              Above(acc_good)))
        a.sentences.append(f"The small sigma leaves its initial plateau (loss {tol:g} below its value at init) at step "
                           f"{stat_text(small['leave_step'])}, the good one at step {stat_text(good['leave_step'])}; "
                           f"final train loss {stat_text(small['final_train_loss'])} vs {stat_text(good['final_train_loss'])}.")
    if large and good:
        a.checks.append(check(f"the large sigma ({large['sigma']:g}) ends below val acc {acc_good:g}: it does not recover",
                              [ev(sources, f"val acc, sigma = {large['sigma']:g}", "sigmas", {"sigma": large["sigma"]}, "val_acc")],
                              Above(acc_good, below=True)))
        a.checks.append(check(f"the large sigma's loss at init is more than {tol:g} above ln 2",
                              [ev(sources, f"loss at init, sigma = {large['sigma']:g}", "sigmas", {"sigma": large["sigma"]}, "loss_at_init")],
                              Above(LN2 + tol)))
        a.sentences.append(f"The large sigma starts at loss {stat_text(large['loss_at_init'])} (ln 2 = {LN2:.3f}): the "
                           f"untrained net is confidently wrong; training moves its weights by "
                           f"{stat_text(large['weight_change'], digits=2)} of their norm (good sigma: "
                           f"{stat_text(good['weight_change'], digits=2)}) and leaves {stat_text(large['dead_units_end'])} "
                           f"hidden units dead, ending at val acc {stat_text(large['val_acc'])}.")
    exp = _loss_exponent(s["sigmas"])
    if exp is not None:
        a.sentences.append(f"Above 10 ln 2 the loss at init grows as sigma^{exp:.2f}: with zero biases the logits of "
                           "three weight layers scale as sigma^3.")
    a.figures += ["loss_curves.png", "accuracy_curves.png", "boundary_snapshots.png", "decision_boundaries.png"]
    inconclusive_notes(a, s["seeds"])


def _loss_exponent(rows: list[dict]) -> Optional[float]:
    pts = [(math.log(r["sigma"]), math.log(r["loss_at_init"]["median"])) for r in rows
           if r["loss_at_init"]["median"] is not None and r["loss_at_init"]["median"] >= 10 * LN2]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den > 0 else None


def glorot(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    acc_good, tol = _crit(s)
    for name in ("xavier_normal", "xavier_uniform"):
        r = next((x for x in s["schemes"] if x["name"] == name), None)
        if r is None:
            continue
        std = ", ".join(f"{v:.2g}" for v in r["layer_std"])
        vs = r.get("vs_good_sigma")
        text = (f"{r['label']} (per-layer std {std}) is {r['regime']} in {r['regime_share']:.0%} of seeds with val acc "
                f"{stat_text(r['val_acc'])} and loss at init {stat_text(r['loss_at_init'])}")
        a.checks.append(check(f"{r['label']}: loss at init within {tol:g} of ln 2",
                              [ev(sources, f"loss at init, {r['label']}", "schemes", {"name": name}, "loss_at_init")],
                              Near(LN2, tol)))
        if vs:
            c = check(f"{r['label']} ends with a higher val acc than sigma = {vs['sigma']:g}",
                      [ev(sources, f"{r['label']} - sigma {vs['sigma']:g}, val acc, paired over seeds", "schemes",
                          {"name": name}, "vs_good_sigma", "val_acc_diff")], Direction("positive"))
            a.checks.append(c)
            text += (f"; minus the good sigma {vs['sigma']:g}, paired over seeds: {stat_text(vs['val_acc_diff'])} "
                     f"({'better' if c.verdict == 'confirmed' else 'worse' if c.verdict == 'refuted' else 'no measurable difference'})")
        a.sentences.append(text + ".")
    he = next((x for x in s["schemes"] if x["name"] == "kaiming_normal"), None)
    if he:
        a.sentences.append(f"He normal, for comparison: {he['regime']}, val acc {stat_text(he['val_acc'])}.")
    a.figures += ["schemes_breakers.png", "boundary_grid.png"]
    inconclusive_notes(a, s["seeds"])


def data_scaling(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    lab = sorted((r for r in s["data_scaling"] if "equivalent_sigma" in r), key=lambda r: r["factor"])
    scaled = [r for r in lab if r["factor"] != 1.0 and "vs_unscaled" in r]
    if lab:
        worst = max(r["init_equivalence_max_rel_diff"] for r in lab)
        a.sentences.append(f"Multiplying the inputs by f gives, at init, the very logits of sigma * f^(1/3) (zero biases, "
                           f"three weight layers; measured on the same seeds, largest relative difference of the loss "
                           f"at init {worst:.1g}): scaling the data is scaling the init, at first.")
    for r in (scaled[0], scaled[-1]) if scaled else ():
        c = check(f"inputs x{r['factor']:g} end with a lower val acc than unscaled",
                  [ev(sources, f"x{r['factor']:g} - x1, val acc, paired over seeds", "data_scaling",
                      {"transform": r["transform"]}, "vs_unscaled")], Direction("negative"))
        a.checks.append(c)
        a.sentences.append(f"Inputs x{r['factor']:g}: {r['regime']}, val acc {stat_text(r['val_acc'])}, "
                           f"{stat_text(r['vs_unscaled'])} from unscaled; the sweep at the equivalent sigma "
                           f"{r['equivalent_sigma']:.3g} reaches {_g(r['sweep_val_acc_at_equivalent_sigma'])}.")
    rows = {r["transform"]: r for r in s["data_scaling"] if r["setup"].startswith("lab")}
    raw, std = rows.get("centred at (10, 10), raw"), rows.get("centred at (10, 10), standardized")
    if raw and std:
        a.checks.append(check("circles centred at (10, 10): standardized ends above raw",
                              [ev(sources, "standardized, val acc", "data_scaling", {"transform": std["transform"]}, "val_acc"),
                               ev(sources, "raw, val acc", "data_scaling", {"transform": raw["transform"]}, "val_acc")],
                              Highest()))
        a.sentences.append(f"Circles centred at (10, 10): val acc {stat_text(raw['val_acc'])} raw, "
                           f"{stat_text(std['val_acc'])} standardized.")
    a.figures += ["data_scaling.png", "boundary_grid.png"]
    inconclusive_notes(a, s["seeds"])


def _g(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def breakers(sources: Sources, a: Answer) -> None:
    s = sources.summaries["shallow"]
    acc_good, _ = _crit(s)
    broken = []
    for b in s["breakers"]:
        c = check(f"{b['name']}: val acc stays below {acc_good:g}",
                  [ev(sources, f"val acc, {b['name']}", "breakers", {"name": b["name"]}, "val_acc")],
                  Above(acc_good, below=True))
        a.checks.append(c)
        if c.verdict == "confirmed":
            broken.append(b["name"])
    a.sentences.append(f"Of {len(s['breakers'])} simple changes, {len(broken)} break convergence measurably (val acc "
                       f"below {acc_good:g} over the seeds' 95% interval): {', '.join(broken) or 'none'}.")
    a.sentences += [f"{b['name']}: {b['note']}." for b in s["breakers"][:4]]
    a.figures += ["schemes_breakers.png", "boundary_grid.png"]
    inconclusive_notes(a, s["seeds"])


PART1 = (
    Question("p1-setup", PART, "Set-up", "Prepare your training: 100 circles points, a 2-6-3-2 ReLU net parametrized by "
             "sigma, SGD at lr 0.1 on the full batch, cross-entropy, about 1000 steps, and a big validation set.",
             "setup", "shallow", setup),
    Question("p1-item1", PART, "Item 1", "Find three values of sigma: one small enough to slow the training initially "
             "but still arrive at a good solution, one big enough that training converges but does not recover fully, "
             "and one good one.", "question", "shallow", three_sigmas),
    Question("p1-item2", PART, "Item 2", "Discuss the three values and their effect on training: the achieved loss, "
             "its progress, the decision boundary; check the loss at init against -log(1/n_classes).", "question",
             "shallow", discuss),
    Question("p1-item3", PART, "Item 3", "Compare with the Glorot (Xavier) initialization.", "question", "shallow", glorot),
    Question("p1-scaling", PART, "Data scaling", "Check that a similar effect can be observed when scaling the data "
             "themselves.", "question", "shallow", data_scaling),
    Question("p1-breakers", PART, "Other ways", "Are there other simple ways of breaking the convergence of the "
             "training?", "question", "shallow", breakers),
)
