"""Rules on how a training program is wired: parameters that never update, a loss fed the wrong
kind of output, predictions that do not depend on the input, mode and batch mistakes, data order,
and a schedule stepped per batch.

Like ``checks.py``, each rule is a plain function of an ``Evidence`` record (filled by the
measurements of ``measure_wiring.py`` and ``measurements.OutputStats``) with its thresholds in
``findings.CODES``; ``WIRING`` is their part of ``checks.RULES``: (code, rule, is a state rule).
A state rule returns None when it cannot judge, [] when it judged the state absent.
"""
from __future__ import annotations

import math
from statistics import median
from typing import Callable, Optional

from trainlab.diagnose.evidence import Evidence, finite
from trainlab.diagnose.findings import CODES, Finding, make_finding

Judgement = Optional[list]  # list[Finding], or None: could not judge (state rules only)


def _listing(names: dict, limit: int = 4) -> str:
    shown = ", ".join(str(n) for n in list(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_params_not_updating(ev: Evidence) -> list[Finding]:
    """Parameters the model needs that never change: outside the optimizer, cut off from autograd,
    or frozen at a fresh random init."""
    spec = CODES["params_not_updating"]
    parts, value = [], 0.0
    if ev.unupdated_params:
        n = sum(ev.unupdated_params.values())
        parts.append(f"{len(ev.unupdated_params)} parameter tensor(s) ({n:,} values) the output "
                     f"depends on are not in the optimizer and never changed: "
                     f"{_listing(ev.unupdated_params)} (a plain list instead of nn.ModuleList, or a "
                     f"model built after its optimizer?)")
        value = float(n)
    cut = {k: v for k, v in ev.no_grad_layers.items() if v >= spec.threshold}
    if cut:
        parts.append(f"layer(s) {_listing(cut)} run in forward but never get a gradient (the "
                     f"output does not depend on their weights through autograd: .data or "
                     f".detach() in forward?)")
    if ev.frozen_init_layers:
        inits = _listing({f"{k} ({v})": 0 for k, v in ev.frozen_init_layers.items()})
        parts.append(f"frozen layer(s) (requires_grad=False) still hold a fresh random init: {inits}")
    if not parts:
        return []
    return [make_finding("params_not_updating", ev.step, "; ".join(parts), value=value or None)]


LOSS_CAUSES: dict[str, tuple[str, str]] = {  # graph pattern -> (code, what happens)
    "softmax->nll": ("probabilities_into_loss", "NLLLoss gets Softmax probabilities, not "
                     "log-probabilities (its loss is -p, negative, and barely moves)"),
    "sigmoid->bce_with_logits": ("probabilities_into_loss", "BCEWithLogitsLoss applies its own "
                                 "sigmoid to a Sigmoid output: the loss can never fall below ~0.31"),
    "sigmoid->cross_entropy": ("probabilities_into_loss", "CrossEntropyLoss gets Sigmoid outputs "
                               "squeezed into (0, 1) instead of logits"),
    "relu->cross_entropy": ("relu_on_output", "a ReLU produces the logits of CrossEntropyLoss: "
                            "they cannot go below 0, and a class stuck at 0 gets no gradient"),
    "relu->nll": ("relu_on_output", "a ReLU feeds log-probabilities to NLLLoss"),
    "relu->bce_with_logits": ("relu_on_output", "a ReLU produces the logit of BCEWithLogitsLoss: "
                              "the probability can never go below 0.5"),
}


def _graph_findings(ev: Evidence, code: str) -> list[Finding]:
    return [make_finding(code, ev.step, what) for pattern, (c, what) in LOSS_CAUSES.items()
            if c == code and pattern in (ev.loss_patterns or ())]


def check_probabilities_into_loss(ev: Evidence) -> list[Finding]:
    """NLLLoss after Softmax, BCEWithLogitsLoss or CrossEntropyLoss after Sigmoid (loss graph)."""
    return _graph_findings(ev, "probabilities_into_loss")[:1]


def check_relu_on_output(ev: Evidence) -> list[Finding]:
    """A ReLU producing the logits (loss graph); without a graph, class scores never negative and
    often exactly 0."""
    if ev.loss_patterns is not None:
        return _graph_findings(ev, "relu_on_output")[:1]
    thr = CODES["relu_on_output"].threshold
    if (ev.class_scores() and ev.output_min is not None and ev.output_min >= 0
            and ev.output_zero_fraction is not None and ev.output_zero_fraction > thr):
        return [make_finding("relu_on_output", ev.step, f"class scores are never negative and "
                             f"{ev.output_zero_fraction:.0%} of them are exactly 0: a ReLU on the "
                             f"logits?", value=ev.output_zero_fraction)]
    return []


def check_collapsed_predictions(ev: Evidence) -> Judgement:
    """Every input gets the same prediction: a broadcast in the loss (layer "loss"), outputs
    identical across the batch (layer "output"), or class scores that carry no information about
    the input while the loss stays at its floor (layer None)."""
    spec = CODES["collapsed_predictions"]
    x = spec.extra
    out = []
    if ev.broadcast:
        out.append(make_finding("collapsed_predictions", ev.step, f"the loss broadcast the output of shape "
                                f"{ev.broadcast} against a target of another shape: it compares every output "
                                f"with every target, so the best prediction is the target mean for all "
                                f"inputs", layer="loss"))
    if ev.constant_output_steps >= x["const_steps"]:
        out.append(make_finding("collapsed_predictions", ev.step, f"the model's outputs were identical for "
                                f"every sample of the batch on {ev.constant_output_steps} measured steps in "
                                f"a row", layer="output", value=ev.constant_output_steps))
    judged = bool(out) or ev.output_width is not None or ev.loss_patterns is not None
    if ev.class_scores() and ev.output_info is not None and ev.step >= x["min_step"]:
        ln_c = math.log(ev.n_classes or 2)
        floor = min(ln_c, ev.output_entropy) if ev.output_entropy else ln_c
        recent = finite(ev.recent_losses[-25:])
        level = median(recent) if recent else math.nan
        if ev.output_info < spec.threshold * ln_c and level > x["near"] * floor:
            out.append(make_finding("collapsed_predictions", ev.step, f"the predictions carry "
                                    f"{ev.output_info:.2g} nats of information about the input "
                                    f"({ev.output_info / ln_c:.1%} of ln C) while the loss stays at {level:.3g}: "
                                    f"every input gets about the same class distribution (labels that do not "
                                    f"match their inputs, or a model that learns nothing?)", value=ev.output_info))
    if out:
        return out
    return [] if judged else None


def check_batchnorm_batch1(ev: Evidence) -> list[Finding]:
    """BatchNorm trained on batches of one sample."""
    thr = CODES["batchnorm_batch1"].threshold
    return [make_finding("batchnorm_batch1", ev.step, f"training-mode batches of 1 sample on "
                         f"{b1} of {seen} measured steps: the batch statistics are one image's own",
                         layer=name, value=b1 / seen)
            for name, (b1, seen) in ev.batchnorm_batch1.items() if seen >= 3 and b1 / seen > thr]


def check_eval_in_train_mode(ev: Evidence) -> list[Finding]:
    """Evaluation with Dropout/BatchNorm still in training mode."""
    if ev.val_in_train_mode >= CODES["eval_in_train_mode"].threshold:
        return [make_finding("eval_in_train_mode", ev.step, f"{ev.val_in_train_mode} validation "
                             f"result(s) recorded after forward passes under torch.no_grad() with "
                             f"the model in training mode (Dropout/BatchNorm active)",
                             value=ev.val_in_train_mode)]
    if ev.train_mode_evals:
        return [make_finding("eval_in_train_mode", ev.step, f"{ev.train_mode_evals} forward "
                             f"pass(es) under torch.no_grad() ran in training mode with Dropout/"
                             f"BatchNorm active; if they were an evaluation, call model.eval() first",
                             value=ev.train_mode_evals, severity="info")]
    return []


def check_unshuffled_data(ev: Evidence) -> list[Finding]:
    """Consecutive batches much more alike within than between: an ordered training stream."""
    thr = CODES["unshuffled_data"].threshold
    r = ev.batch_mean_ratio
    if r is None or not math.isfinite(r) or r <= thr:
        return []
    return [make_finding("unshuffled_data", ev.step, f"the batch means of the inputs vary {r:.3g}x "
                         f"more between batches than random batches would (about 1x): the data "
                         f"arrives in order (sorted by class?)", value=r)]


def check_repeated_batch(ev: Evidence) -> Judgement:
    """The same inputs on every step although the training set holds many batches."""
    spec = CODES["repeated_batch"]
    same, span = ev.repeated_inputs
    if ev.batch_size is None:
        return None
    if same < spec.threshold or span < spec.extra["min_span"]:
        return []
    what = f"the first layer got identical inputs ({ev.batch_size} samples) on {same} measured steps over {span} steps"
    if ev.n_samples is None:
        return [make_finding("repeated_batch", ev.step, what + "; without watch(n_samples=...) this "
                             "may be full-batch training", value=same, severity="info")]
    if ev.n_samples > spec.extra["epoch_batches"] * ev.batch_size:
        return [make_finding("repeated_batch", ev.step, what + f", while the training set has "
                             f"{ev.n_samples:,} samples ({ev.n_samples / ev.batch_size:.0f} batches "
                             f"per epoch)", value=same)]
    return []


def check_schedule_per_batch(ev: Evidence) -> list[Finding]:
    """The learning rate collapsed early and stayed collapsed: an epoch schedule stepped per batch."""
    spec = CODES["schedule_per_batch"]
    hist = [(s, lr) for s, lr in ev.lr_history if math.isfinite(lr)]
    if len(hist) < 3:
        return []
    peak_step, peak = max(hist, key=lambda h: (h[1], -h[0]))
    after = [(s, lr) for s, lr in hist if s >= peak_step]
    fall = next((s for s, lr in after if lr < spec.threshold * peak), None)
    if peak <= 0 or fall is None or any(lr >= spec.threshold * peak for s, lr in after if s > fall):
        return []
    if ev.step - fall < fall - peak_step:
        return []  # a schedule that ends near 0 at the end of the run reaches here last
    what = (f"the learning rate fell from {peak:.3g} (step {peak_step}) below 1/100 of it by step "
            f"{fall} and stayed there")
    if ev.n_samples is None or not ev.batch_size:
        return [make_finding("schedule_per_batch", ev.step, what + "; pass watch(n_samples=...) to "
                             "judge it in epochs", value=fall - peak_step, severity="info")]
    epochs = (fall - peak_step) * ev.batch_size / ev.n_samples
    if epochs > spec.extra["epochs"]:
        return []
    return [make_finding("schedule_per_batch", ev.step, what + f": within {epochs:.2g} epochs of "
                         f"{ev.n_samples // ev.batch_size} batches", value=epochs,
                         threshold=spec.extra["epochs"])]


# (code, rule, is a state rule): this module's part of checks.RULES
WIRING: tuple[tuple[str, Callable[[Evidence], Judgement], bool], ...] = (
    ("params_not_updating", check_params_not_updating, False),
    ("probabilities_into_loss", check_probabilities_into_loss, False),
    ("relu_on_output", check_relu_on_output, False),
    ("collapsed_predictions", check_collapsed_predictions, True),
    ("batchnorm_batch1", check_batchnorm_batch1, False),
    ("eval_in_train_mode", check_eval_in_train_mode, False),
    ("unshuffled_data", check_unshuffled_data, False),
    ("repeated_batch", check_repeated_batch, True),
    ("schedule_per_batch", check_schedule_per_batch, False),
)
