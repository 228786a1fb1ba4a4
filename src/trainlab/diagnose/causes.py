"""Root causes first: findings that follow from one cause are listed under it.

One mistake raises many findings: inputs in 0..255 into an MLP give a loss far above ln C,
exploding gradients, dead units, a learning rate that looks too high and a jumpy loss. ``EFFECTS``
is the cause-and-effect table: for each code, the codes it is known to bring about. Given a list of
findings, ``root_causes`` folds every warning or error whose cause is also present under that
cause (transitively, under the cause that explains it first in ``CAUSE_ORDER``), and returns one
``RootCause`` per remaining cause, with the cause's fix.

Without ``doctor --verify`` this grouping is *inferred* from the table (``RootCause.inferred``);
``verify.py`` tests it by applying each cause's fix and re-running. Info findings are never folded
and never fold others: they are notes, not causes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from trainlab.diagnose.findings import CODES, Finding, severity_rank

_INIT_EFFECTS = ("loss_at_init", "exploding_gradients", "vanishing_gradients", "dead_units", "saturated_units",
                 "nonfinite_loss", "lr_too_high", "loss_oscillation", "loss_plateau", "cannot_overfit")
_LOSS_INPUT_EFFECTS = ("loss_at_init", "saturated_units", "dead_units", "collapsed_predictions",
                       "vanishing_gradients", "loss_plateau", "cannot_overfit")

# cause -> the codes it brings about. Edges only point later in CAUSE_ORDER (a test checks it).
EFFECTS: dict[str, tuple[str, ...]] = {
    "gradient_mismatch": ("cannot_overfit", "loss_plateau"),
    "params_not_updating": ("grad_accumulation", "lr_too_low", "collapsed_predictions", "vanishing_gradients",
                            "loss_plateau", "cannot_overfit"),
    "probabilities_into_ce": _LOSS_INPUT_EFFECTS,
    "probabilities_into_loss": _LOSS_INPUT_EFFECTS,
    "relu_on_output": _LOSS_INPUT_EFFECTS,
    "repeated_batch": ("lr_too_low", "loss_plateau", "overfitting"),
    "unshuffled_data": ("lr_too_high", "collapsed_predictions", "loss_oscillation", "loss_plateau", "overfitting"),
    "batchnorm_batch1": ("loss_at_init", "lr_too_high", "lr_too_low", "collapsed_predictions", "dead_units",
                         "vanishing_gradients", "loss_oscillation", "loss_plateau", "overfitting"),
    "eval_in_train_mode": ("overfitting",),
    "schedule_per_batch": ("lr_too_low", "vanishing_gradients", "loss_plateau"),
    "grad_accumulation": ("lr_too_high", "exploding_gradients", "nonfinite_loss", "loss_oscillation", "loss_plateau"),
    "symmetric_init": ("lr_too_low", "collapsed_predictions", "dead_units", "vanishing_gradients", "loss_plateau",
                       "cannot_overfit"),
    "unnormalized_inputs": ("init_scale", "lr_too_low", "collapsed_predictions") + _INIT_EFFECTS,
    "init_scale": _INIT_EFFECTS,
    "loss_at_init": ("exploding_gradients", "saturated_units", "loss_oscillation"),
    "lr_too_high": ("collapsed_predictions", "exploding_gradients", "dead_units", "vanishing_gradients",
                    "nonfinite_loss", "loss_oscillation", "loss_plateau"),
    "lr_too_low": ("loss_plateau", "cannot_overfit"),
    "collapsed_predictions": ("loss_plateau", "cannot_overfit"),
    "exploding_gradients": ("dead_units", "nonfinite_loss", "loss_oscillation"),
    "saturated_units": ("vanishing_gradients", "loss_plateau"),
    "dead_units": ("vanishing_gradients", "loss_plateau"),
    "vanishing_gradients": ("loss_plateau",),
}

# Which present cause explains a finding first (and the order root causes are listed in).
CAUSE_ORDER: tuple[str, ...] = (
    "gradient_mismatch", "params_not_updating", "probabilities_into_ce", "probabilities_into_loss",
    "relu_on_output", "repeated_batch", "unshuffled_data", "batchnorm_batch1", "eval_in_train_mode",
    "schedule_per_batch", "grad_accumulation", "symmetric_init", "unnormalized_inputs", "init_scale",
    "loss_at_init", "lr_too_high", "lr_too_low", "collapsed_predictions", "exploding_gradients",
    "saturated_units", "dead_units", "vanishing_gradients", "nonfinite_loss", "loss_oscillation",
    "loss_plateau", "overfitting", "cannot_overfit", "regularization_check", "checks_skipped",
)
_RANK = {c: i for i, c in enumerate(CAUSE_ORDER)}


@dataclass
class RootCause:
    """One cause and what follows from it. ``findings`` are the cause's own (one per layer);
    ``effects`` the findings folded under it; ``inferred``: from ``EFFECTS``, not verified."""

    code: str
    findings: list[Finding]
    effects: list[Finding] = field(default_factory=list)
    inferred: bool = True

    @property
    def severity(self) -> str:
        return max((f.severity for f in self.findings + self.effects), key=severity_rank)

    @property
    def fix(self) -> str:
        return CODES[self.code].fix

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "fix": self.fix, "inferred": self.inferred,
                "findings": [f.to_dict() for f in self.findings],
                "effects": [f.to_dict() for f in self.effects]}


def _causes_of(code: str, present: set[str]) -> list[str]:
    return sorted((c for c in present if code in EFFECTS.get(c, ())), key=lambda c: _RANK.get(c, len(_RANK)))


def root_causes(findings: Iterable[Finding]) -> list[RootCause]:
    """Warnings and errors grouped under their root causes (most severe first, then by
    ``CAUSE_ORDER``); info findings are not included (they are notes, listed on their own)."""
    alarms = [f for f in findings if f.severity != "info"]
    present = {f.code for f in alarms}
    root_of: dict[str, str] = {}
    for code in sorted(present, key=lambda c: _RANK.get(c, len(_RANK))):
        causes = _causes_of(code, present)
        root_of[code] = root_of[causes[0]] if causes else code
    groups: dict[str, RootCause] = {}
    for code in sorted(present, key=lambda c: _RANK.get(c, len(_RANK))):
        root = root_of[code]
        group = groups.setdefault(root, RootCause(root, []))
        own = [f for f in alarms if f.code == code]
        (group.findings if code == root else group.effects).extend(own)
    return sorted(groups.values(), key=lambda g: (-severity_rank(g.severity), _RANK.get(g.code, len(_RANK))))
