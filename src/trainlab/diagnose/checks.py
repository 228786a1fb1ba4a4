"""Health rules: plain functions from measured numbers to Findings.

Measuring and deciding are separate. ``watch.py`` (and ``doctor.py``) measure numbers on a
schedule and put them into an ``Evidence`` record (``evidence.py``); every rule here reads only
that record and returns a list of ``Finding``. So a rule can be tested with hand-made numbers, and
the watcher can be tested for what it measures. ``RULES`` is the table of rules (this module's
rules on the loss, gradients and units, then ``checks_wiring.py``'s on how the program is wired);
each rule's thresholds come from its row in ``findings.CODES``.

A rule whose numbers are missing (no optimizer, no validation, too few steps) returns ``[]``.
*State* rules (a plateau, oscillation, overfitting, ...) judge something that can end: they
return ``None`` when they cannot judge, and ``[]`` when they judged it absent, which lets the
watcher mark an earlier finding of theirs as ended (``FindingLog.resolve``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Callable, Sequence

from trainlab.diagnose.checks_wiring import WIRING, Judgement
from trainlab.diagnose.evidence import Evidence, ValPoint, finite
from trainlab.diagnose.findings import CODES, Finding, make_finding

__all__ = ["Evidence", "ValPoint", "Rule", "RULES", "run_rules", "evaluate_rules"]

_finite = finite


def _start_level(ev: Evidence) -> float | None:
    return ev.start_level()


def _reference_level(ev: Evidence) -> float | None:
    return ev.reference_level()


def check_nonfinite_loss(ev: Evidence) -> list[Finding]:
    """NaN or inf in the loss: training is lost from here on."""
    bad = [x for x in ev.recent_losses if not math.isfinite(x)]
    if not bad:
        return []
    return [make_finding("nonfinite_loss", ev.step, f"loss is {bad[-1]} ({len(bad)} non-finite "
                         f"of the last {len(ev.recent_losses)} steps)", value=bad[-1])]


def check_loss_at_init(ev: Evidence) -> list[Finding]:
    """First loss far from ln C for a C-class cross-entropy problem (needs n_classes).

    Off by more than the tolerance: info; above ``warn_ratio`` x ln C: a warning (the size at
    which an init costs results; ``CODES``)."""
    if not ev.n_classes or ev.n_classes < 2 or not ev.first_losses:
        return []
    first = float(ev.first_losses[0])
    if not math.isfinite(first):
        return []
    spec = CODES["loss_at_init"]
    expected = math.log(ev.n_classes)
    tol = max(float(spec.threshold), spec.extra["rel"] * expected)
    if abs(first - expected) <= tol:
        return []
    ratio = first / expected
    severity = "warning" if ratio > spec.extra["warn_ratio"] else "info"
    side = (f"{ratio:.2g}x ln C" if first > expected else
            "below ln C (fine when the output bias was set to the class prior)")
    return [make_finding("loss_at_init", 1, f"first loss {first:.3g}, expected about "
                         f"ln({ev.n_classes}) = {expected:.3g} (tolerance {tol:.2g}): {side}",
                         value=first, threshold=tol, severity=severity)]


def check_unnormalized_inputs(ev: Evidence) -> list[Finding]:
    """The first layer's inputs are far from zero mean and unit scale (info; a warning when far
    enough to cost training, ``CODES``)."""
    if ev.input_mean is None or ev.input_rms is None:
        return []
    spec, x = CODES["unnormalized_inputs"], CODES["unnormalized_inputs"].extra
    mean, rms = ev.input_mean, ev.input_rms
    if abs(mean) > spec.threshold:
        why, value, thr, warn = f"mean {mean:.3g}", mean, spec.threshold, abs(mean) > x["warn_mean"]
    elif rms > x["rms_high"]:
        why, value, thr, warn = f"rms {rms:.3g}", rms, x["rms_high"], rms > x["warn_rms_high"]
    elif rms < x["rms_low"]:
        why, value, thr, warn = f"rms {rms:.3g}", rms, x["rms_low"], rms < x["warn_rms_low"]
    else:
        return []
    return [make_finding("unnormalized_inputs", ev.step, f"inputs to the first layer have {why} "
                         f"(mean {mean:.3g}, rms {rms:.3g}); expected about 0 and 1",
                         layer=ev.input_layer, value=value, threshold=thr,
                         severity="warning" if warn else "info")]


def _ends(ev: Evidence) -> tuple[str, str, float, float] | None:
    order = [n for n in ev.layer_order if n in ev.grad_norms]
    if len(order) < 3:
        return None
    first, last = order[0], order[-1]
    return first, last, ev.grad_norms[first], ev.grad_norms[last]


def check_exploding_gradients(ev: Evidence) -> list[Finding]:
    """A huge (or infinite) weight gradient, or gradients growing a lot towards the input."""
    spec = CODES["exploding_gradients"]
    out = []
    for name, g in ev.grad_norms.items():
        if math.isinf(g) or (math.isfinite(g) and g > spec.threshold):
            out.append(make_finding("exploding_gradients", ev.step, f"weight-gradient norm "
                                    f"{g:.3g} > {spec.threshold:g}", layer=name, value=g))
    ends = _ends(ev)
    if not out and ends:
        first, last, g0, gl = ends
        if math.isfinite(g0) and gl > 0 and g0 / gl > spec.extra["depth_ratio"]:
            out.append(make_finding("exploding_gradients", ev.step, f"gradient norm of the first "
                                    f"layer ({first}: {g0:.3g}) is {g0 / gl:.3g}x that of the last "
                                    f"({last}: {gl:.3g})", layer=first, value=g0 / gl,
                                    threshold=spec.extra["depth_ratio"]))
    return out


def check_vanishing_gradients(ev: Evidence) -> list[Finding]:
    """Gradients that shrink by orders of magnitude towards the input, or vanish everywhere."""
    spec = CODES["vanishing_gradients"]
    ends = _ends(ev)
    if ends:
        first, last, g0, gl = ends
        if math.isfinite(gl) and gl > 0 and math.isfinite(g0) and g0 / gl < spec.threshold:
            return [make_finding("vanishing_gradients", ev.step, f"gradient norm of the first "
                                 f"layer ({first}: {g0:.3g}) is only {g0 / gl:.2g}x that of the "
                                 f"last ({last}: {gl:.3g})", layer=first, value=g0 / gl)]
    tops = _finite(list(ev.max_grad_history[-3:]))
    start, recent = _start_level(ev), _finite(ev.recent_losses[-10:])
    if len(tops) == 3 and start and recent and max(tops) < spec.extra["abs_norm"] \
            and median(recent) > 0.5 * start:
        return [make_finding("vanishing_gradients", ev.step, f"every weight gradient stayed "
                             f"below {spec.extra['abs_norm']:g} on the last 3 measured steps "
                             f"(largest {max(tops):.3g}) while the loss is still "
                             f"{median(recent):.3g}", value=max(tops),
                             threshold=spec.extra["abs_norm"])]
    return []


def check_dead_units(ev: Evidence) -> list[Finding]:
    """ReLU layers with most units never active."""
    thr = CODES["dead_units"].threshold
    return [make_finding("dead_units", ev.step, f"{frac:.0%} of the units never activate "
                         f"(output 0 on every sample seen)", layer=name, value=frac)
            for name, frac in ev.dead_fraction.items() if frac > thr]


def check_saturated_units(ev: Evidence) -> list[Finding]:
    """tanh/sigmoid layers with most units stuck in the flat tails."""
    thr = CODES["saturated_units"].threshold
    return [make_finding("saturated_units", ev.step, f"{frac:.0%} of the units are saturated "
                         f"on most samples (their gradient is ~0)", layer=name, value=frac)
            for name, frac in ev.saturated_fraction.items() if frac > thr]


def check_symmetric_init(ev: Evidence) -> list[Finding]:
    """Hidden layers whose units all have identical weights: they can never differ."""
    thr = CODES["symmetric_init"].threshold
    return [make_finding("symmetric_init", ev.step, f"all units have identical weights "
                         f"(relative spread {spread:.2g}); they compute the same thing and get "
                         f"the same update", layer=name, value=spread)
            for name, spread in ev.row_spread.items() if spread < thr]


def _median_ratios(ev: Evidence) -> dict[str, float]:
    window = int(CODES["lr_too_high"].extra["window"])
    out = {}
    for name, ratios in ev.update_ratios.items():
        vals = _finite(list(ratios)[-window:])
        if len(vals) >= window:
            out[name] = median(vals)
    return out


def _oscillation(ev: Evidence) -> tuple[float, float, float] | None:
    """(sign-flip rate, mean |step change| / level, level) over the oscillation window."""
    window = int(CODES["loss_oscillation"].extra["window"])
    vals = ev.recent_losses[-window:]
    if len(vals) < window or not all(math.isfinite(x) for x in vals):
        return None
    diffs = [b - a for a, b in zip(vals[:-1], vals[1:])]
    flips = sum(1 for a, b in zip(diffs[:-1], diffs[1:]) if a * b < 0) / max(len(diffs) - 1, 1)
    level = max(median(vals), 0.2 * (ev.reference_level() or 0.0), 1e-12)
    return flips, sum(abs(d) for d in diffs) / len(diffs) / level, median(vals)


def _oscillating(ev: Evidence) -> bool:
    osc, spec = _oscillation(ev), CODES["loss_oscillation"]
    return osc is not None and osc[0] > spec.extra["sign_rate"] and osc[1] > spec.threshold


def _loss_rise(ev: Evidence) -> tuple[float, float] | None:
    """(start, recent level) when the loss rose above ``loss_rise`` x where it started."""
    spec = CODES["lr_too_high"]
    starts = [x for x in (ev.first_loss(), ev.start_level()) if x is not None and x > 0]
    if not starts or len(ev.recent_losses) < 20 or ev.step < 20:
        return None
    start = min(starts)
    level = median(float(x) if math.isfinite(x) else math.inf for x in ev.recent_losses[-10:])
    return (start, level) if level > spec.extra["loss_rise"] * start else None


def check_lr_too_high(ev: Evidence) -> list[Finding]:
    """A loss that rose above where it started; updates far larger than 1e-3 of the weights are
    a warning only with such evidence from the loss (or jumps, or a non-finite loss), else info."""
    spec = CODES["lr_too_high"]
    out = []
    rise = _loss_rise(ev)
    if rise:
        start, level = rise
        out.append(make_finding("lr_too_high", ev.step, f"the loss rose from {start:.3g} to "
                                f"{level:.3g} (median of the last 10 steps)", value=level / start,
                                threshold=spec.extra["loss_rise"]))
    ratios = {n: r for n, r in _median_ratios(ev).items() if r > spec.threshold}
    if ratios:
        trouble = ("the loss rose" if rise else "the loss jumps" if _oscillating(ev) else
                   "the loss is not finite" if any(not math.isfinite(x) for x in ev.recent_losses[-10:])
                   else None)
        for name, r in ratios.items():
            note = f"; {trouble}" if trouble else "; the loss shows no trouble yet (a prior, not evidence)"
            out.append(make_finding("lr_too_high", ev.step, f"update/weight ratio {r:.3g} "
                                    f"(healthy: about 1e-3){note}", layer=name, value=r,
                                    severity="warning" if trouble else "info"))
    return out


def _relative_change(losses: Sequence[float]) -> float | None:
    vals = _finite(losses)
    if len(vals) < len(losses) or len(vals) < 4:
        return None
    half = len(vals) // 2
    a, b = median(vals[:half]), median(vals[half:])
    return (a - b) / max(abs(a), 1e-12)


def check_lr_too_low(ev: Evidence) -> Judgement:
    """Tiny updates in every layer while the loss stays flat (a state: a warm-up ends it)."""
    spec = CODES["lr_too_low"]
    ratios = _median_ratios(ev)
    change = _relative_change(ev.recent_losses[-20:])
    if not ratios or change is None or max(ratios.values()) <= 0:
        return None
    top = max(ratios.values())
    if top >= spec.threshold:
        return []  # the updates are no longer tiny (a warm-up ended): judged over
    if abs(change) < spec.extra["flat"]:
        return [make_finding("lr_too_low", ev.step, f"largest update/weight ratio {top:.2g} "
                             f"(healthy: about 1e-3); loss changed {change:.2%} over 20 steps",
                             value=top)]
    return None  # tiny updates, but the loss moved (noise?): no judgement either way


def check_loss_plateau(ev: Evidence) -> Judgement:
    """The loss stopped improving while still near the level of a model that learned nothing
    (and, for class scores, its predictions carry almost no information about the input)."""
    spec = CODES["loss_plateau"]
    window = int(spec.extra["window"])
    change, ref = _relative_change(ev.recent_losses[-window:]), ev.reference_level()
    if len(ev.recent_losses) < window or ev.step < 2 * window or change is None or not ref:
        return None
    level = median(finite(ev.recent_losses[-window // 2:]))
    informative = (ev.class_scores() and ev.output_info is not None
                   and ev.output_info > spec.extra["info_floor"] * ref)
    if level <= spec.extra["still_high"] * ref or informative:
        return []  # away from the level of a model that learned nothing: no plateau there
    if abs(change) < spec.threshold:
        return [make_finding("loss_plateau", ev.step, f"loss {level:.3g} changed by {change:.2%} "
                             f"over the last {window} steps and is {level / ref:.0%} of the level of "
                             f"a model that learned nothing ({ref:.3g})", value=change)]
    return None  # near that level but moving: no judgement either way


def check_loss_oscillation(ev: Evidence) -> Judgement:
    """Step-to-step loss changes that flip sign often and are large against the loss level."""
    spec = CODES["loss_oscillation"]
    osc = _oscillation(ev)
    if osc is None:
        return None
    flips, amplitude, level = osc
    if flips > spec.extra["sign_rate"] and amplitude > spec.threshold:
        return [make_finding("loss_oscillation", ev.step, f"loss changes direction on "
                             f"{flips:.0%} of steps with mean jump {amplitude:.2f}x its level "
                             f"{level:.3g}", value=amplitude)]
    if flips <= spec.extra["sign_rate"] or amplitude < spec.extra["calm"] * spec.threshold:
        return []  # a trend, or clearly calmer: judged over
    return None


def check_overfitting(ev: Evidence) -> Judgement:
    """Validation loss rising clearly above its best (not noise at a tiny level, not while val
    accuracy holds) while the training loss keeps falling."""
    spec = CODES["overfitting"]
    x = spec.extra
    hist = [p for p in ev.val_history if math.isfinite(p.val_loss)]
    if len(hist) < x["min_evals"]:
        return None
    n_last = int(x["sustained"])
    best = min(range(len(hist)), key=lambda i: hist[i].val_loss)
    last, at_best = hist[-1], hist[best]
    if at_best.val_loss <= 0 or best >= len(hist) - n_last:
        return []
    gl = last.val_loss / at_best.val_loss - 1.0
    risen = all(p.val_loss > (1 + spec.threshold) * at_best.val_loss for p in hist[-n_last:])
    ref = ev.reference_level()
    clear = ref is None or last.val_loss - at_best.val_loss > x["abs_rise"] * ref
    accs = [p.val_acc for p in hist if p.val_acc is not None]
    acc_fell = (last.val_acc is None or not accs or max(accs) - last.val_acc > x["acc_drop"]
                or (ref is not None and last.val_loss > ref))  # worse than a model that learned nothing
    gap_now, gap_best = last.val_loss - last.train_loss, at_best.val_loss - at_best.train_loss
    if risen and clear and acc_fell and last.train_loss < at_best.train_loss and gap_now > gap_best:
        acc = f", val acc {last.val_acc:.3g} (best {max(accs):.3g})" if last.val_acc is not None else ""
        return [make_finding("overfitting", last.step, f"val loss {last.val_loss:.3g} is "
                             f"{gl:.0%} above its best {at_best.val_loss:.3g} (step "
                             f"{at_best.step}); train loss {last.train_loss:.3g}, gap "
                             f"{gap_best:.3g} -> {gap_now:.3g}{acc}", value=gl)]
    return []


def check_probabilities_into_ce(ev: Evidence) -> list[Finding]:
    """CrossEntropyLoss fed probabilities: seen in the loss graph (Softmax -> log_softmax -> NLL),
    or, without a loss graph, outputs that already are probabilities (non-negative, rows sum to 1)."""
    thr = CODES["probabilities_into_ce"].threshold
    if ev.loss_patterns is not None:
        if "softmax->cross_entropy" in ev.loss_patterns:
            return [make_finding("probabilities_into_ce", ev.step, "the loss applies log_softmax "
                                 "(CrossEntropyLoss) to the output of a Softmax: the softmax is "
                                 "taken twice, so the loss can never get near 0")]
        return []
    if ev.output_sum_error is None or ev.output_min is None:
        return []
    if ev.output_min >= 0 and ev.output_sum_error < thr:
        return [make_finding("probabilities_into_ce", ev.step, "the model outputs probabilities "
                             f"(>= 0, rows sum to 1 within {ev.output_sum_error:.1g}); a "
                             "logits loss such as CrossEntropyLoss applies softmax again",
                             value=ev.output_sum_error)]
    return []


def check_grad_accumulation(ev: Evidence) -> list[Finding]:
    """A .grad that holds gradients from earlier steps: zero_grad() is missing."""
    thr = CODES["grad_accumulation"].threshold
    out = []
    for name, (stale, scale) in ev.stale_grad.items():
        if stale > thr or scale > 1.0 + thr:
            out.append(make_finding("grad_accumulation", ev.step, f".grad is {scale:.3g}x this "
                                    f"step's gradient and {stale:.1%} of it comes from earlier "
                                    f"steps", layer=name, value=max(stale, scale - 1.0)))
    return out


@dataclass(frozen=True)
class Rule:
    """One row of the rule table. ``once`` rules judge the start of training only; ``state``
    rules judge something that can end (they return None when they cannot judge)."""

    code: str
    fn: Callable[[Evidence], Judgement]
    once: bool = False
    state: bool = False


RULES: tuple[Rule, ...] = (
    Rule("nonfinite_loss", check_nonfinite_loss),
    Rule("loss_at_init", check_loss_at_init, once=True),
    Rule("unnormalized_inputs", check_unnormalized_inputs),
    Rule("exploding_gradients", check_exploding_gradients),
    Rule("vanishing_gradients", check_vanishing_gradients),
    Rule("dead_units", check_dead_units),
    Rule("saturated_units", check_saturated_units),
    Rule("symmetric_init", check_symmetric_init),
    Rule("lr_too_high", check_lr_too_high),
    Rule("lr_too_low", check_lr_too_low, state=True),
    Rule("loss_plateau", check_loss_plateau, state=True),
    Rule("loss_oscillation", check_loss_oscillation, state=True),
    Rule("overfitting", check_overfitting, state=True),
    Rule("probabilities_into_ce", check_probabilities_into_ce),
    Rule("grad_accumulation", check_grad_accumulation),
) + tuple(Rule(code, fn, state=state) for code, fn, state in WIRING)


def evaluate_rules(ev: Evidence, skip: frozenset[str] = frozenset(),
                   rules: Sequence[Rule] = RULES) -> tuple[list[Finding], set[str]]:
    """Apply every rule whose code is not in ``skip``: (their findings, the codes of the state
    rules that judged their state absent)."""
    out: list[Finding] = []
    cleared: set[str] = set()
    for rule in rules:
        if rule.code in skip:
            continue
        found = rule.fn(ev)
        if found:
            out.extend(found)
        elif found is not None and rule.state:
            cleared.add(rule.code)
    return out, cleared


def run_rules(ev: Evidence, skip: frozenset[str] = frozenset(),
              rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Apply every rule whose code is not in ``skip``; concatenate their findings."""
    return evaluate_rules(ev, skip, rules)[0]
