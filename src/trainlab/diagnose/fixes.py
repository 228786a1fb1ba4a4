"""The fix table: for each finding code, a change to a config that should cure it.

``FIXES[code]`` is a ``Fix``: a short name, a description a person understands, and
``apply_config(cfg) -> cfg``, which returns a *new* config (the input is never changed). A code
whose cure is not a config change (a missing ``zero_grad``, a softmax fed to cross-entropy) has a
row whose ``apply_config`` is ``None``: the no-fix path, with the advice of ``findings.CODES`` in
its description. A fix that does not apply to one particular config (lowering a dropout that is
already 0) raises ``NotApplicable`` with the reason; ``either(a, b)`` tries ``a``, then ``b``.

Users: ``trainlab play`` ("try the fix": the fix applied to a copy of one member) and
``doctor --verify``, which applies a row's ``setup`` fix (``setup_fixes.py``: on a copy of a
user's model, optimizer, batches and loss function) and re-runs the checks (``verify.py``).

``describe_change(before, after)`` lists what a fix changed, as ``key: old -> new`` lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from trainlab.diagnose import setup_fixes as sf
from trainlab.diagnose.findings import CODES
from trainlab.diagnose.setup_fixes import NotApplicable, SetupFix

__all__ = ["FIXES", "Fix", "NotApplicable", "SetupFix", "describe_change", "either", "fix_for", "matching_init"]

# a trainlab.config.Config; diagnose/ stands alone (tests/test_layout.py), so a fix never imports the
# config module: it copies a config through the config's own class (``type(cfg).model_validate``)
Config = Any
ConfigFix = Callable[[Config], Config]


@dataclass(frozen=True)
class Fix:
    """One row of the fix table. ``apply_config`` is None when no config change can fix the code;
    ``setup`` is the set-up-level fix ``doctor --verify`` applies to a copy of a user's (model,
    optimizer, batches, loss_fn) (``setup_fixes.py``), None when there is none."""

    name: str
    description: str
    apply_config: Optional[ConfigFix] = None
    setup: Optional[SetupFix] = None

    @property
    def available(self) -> bool:
        return self.apply_config is not None


def _updated(cfg: Config, changes: dict[str, Any]) -> Config:
    """A validated copy of ``cfg`` with dotted keys set (``{"optim.lr": 0.01}``)."""
    raw = cfg.model_dump(mode="python")
    for key, value in changes.items():
        node = raw
        *path, last = key.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    return type(cfg).model_validate(raw)


# ---- the appliers ------------------------------------------------------------------------------
# Init matching each activation of nn.activations.ACTIVATIONS (a test keeps the two tables in step):
# Glorot & Bengio 2010 for tanh, sigmoid and linear units, He et al. 2015 for the ReLU family and the
# smooth rectifiers, LeCun normal for SELU (self-normalizing, Klambauer et al. 2017).
MATCHING_INIT: dict[str, str] = {
    "identity": "xavier_normal", "sigmoid": "xavier_normal", "tanh": "xavier_normal",
    "relu": "kaiming_normal", "leaky_relu": "kaiming_normal", "prelu": "kaiming_normal",
    "elu": "kaiming_normal", "gelu": "kaiming_normal", "maxout": "kaiming_normal",
    "selu": "lecun_normal",
}


def matching_init(activation: str) -> str:
    """The init scheme that keeps activation scale through depth for ``activation``."""
    if activation not in MATCHING_INIT:
        raise KeyError(f"no matching init for activation {activation!r}; valid: {', '.join(MATCHING_INIT)}")
    return MATCHING_INIT[activation]


def reinit_matching(cfg: Config) -> Config:
    scheme = matching_init(cfg.model.activation)
    if cfg.model.init.scheme == scheme and cfg.model.init.gain == 1.0 and cfg.model.bias_init.scheme == "zeros":
        raise NotApplicable(f"the init is already {scheme} with zero biases")
    return _updated(cfg, {"model.init.scheme": scheme, "model.init.std": None, "model.init.a": None,
                          "model.init.value": None, "model.init.gain": 1.0,
                          "model.bias_init.scheme": "zeros", "model.bias_init.value": 0.0})


def standardize_inputs(cfg: Config) -> Config:
    names = [t.get("name") for t in cfg.data.transforms]
    if "standardize" in names and cfg.data.scale == 1.0 and cfg.data.offset == 0.0:
        raise NotApplicable("the inputs are already standardized")
    transforms = [t for t in cfg.data.transforms if t.get("name") != "standardize"] + [{"name": "standardize"}]
    # data.scale and data.offset act after the transforms, so they are reset too
    return _updated(cfg, {"data.transforms": transforms, "data.scale": 1.0, "data.offset": 0.0})


def scale_lr(factor: float) -> ConfigFix:
    def apply(cfg: Config) -> Config:
        return _updated(cfg, {"optim.lr": float(f"{cfg.optim.lr * factor:.6g}")})
    return apply


def lower_dropout(cfg: Config) -> Config:
    """Halve every dropout rate; rates at or below 0.1 go to 0."""
    d = cfg.model.dropout
    if d.input == 0 and d.hidden == 0:
        raise NotApplicable("there is no dropout to lower")
    lower = lambda p: 0.0 if p <= 0.1 else round(p / 2, 6)  # noqa: E731
    return _updated(cfg, {"model.dropout.input": lower(d.input), "model.dropout.hidden": lower(d.hidden)})


def add_dropout(cfg: Config) -> Config:
    """Hidden dropout 0.5 (Srivastava et al. 2014) where it is lower."""
    if cfg.model.dropout.hidden >= 0.5:
        raise NotApplicable("hidden dropout is already 0.5 or more")
    return _updated(cfg, {"model.dropout.hidden": 0.5})


def either(first: ConfigFix, second: ConfigFix) -> ConfigFix:
    """``first``, or ``second`` where ``first`` does not apply."""
    def apply(cfg: Config) -> Config:
        try:
            return first(cfg)
        except NotApplicable:
            return second(cfg)
    return apply


# ---- the kinds of fix, and the table by code ---------------------------------------------------
REINIT = Fix("re-initialize to match the activation",
             "He (kaiming_normal) init for the ReLU family, Xavier (xavier_normal) for tanh, sigmoid and "
             "identity, LeCun normal for SELU; biases zero", reinit_matching, sf.REINIT)
STANDARDIZE = Fix("standardize the inputs",
                  "add the standardize transform (mean and std from the training set) and reset "
                  "data.scale to 1 and data.offset to 0, which act after the transforms", standardize_inputs,
                  sf.STANDARDIZE)
LR_DOWN = Fix("learning rate x0.1", "divide optim.lr by 10", scale_lr(0.1), sf.LR_DOWN)
LR_UP = Fix("learning rate x10", "multiply optim.lr by 10", scale_lr(10.0), sf.LR_UP)
LOWER_DROPOUT = Fix("lower the dropout", "halve the dropout rates (rates of 0.1 or less become 0)", lower_dropout)
ADD_DROPOUT = Fix("add dropout", "hidden dropout 0.5, as in Srivastava et al. 2014", add_dropout)
CALM = Fix("lower the dropout, else learning rate x0.1",
           "noisy steps: halve the dropout rates where there is dropout, else divide optim.lr by 10",
           either(lower_dropout, scale_lr(0.1)), sf.LR_DOWN)


def no_fix(code: str, setup: SetupFix | None = None) -> Fix:
    """The no-fix path: no config change cures this code; the advice is the code's own (a set-up
    fix for ``doctor --verify`` may still exist)."""
    return Fix("no automatic fix", f"not a config setting: {CODES[code].fix}", setup=setup)


FIXES: dict[str, Fix] = {
    "nonfinite_loss": LR_DOWN,
    "loss_at_init": REINIT,
    "unnormalized_inputs": STANDARDIZE,
    "exploding_gradients": REINIT,
    "vanishing_gradients": REINIT,
    "dead_units": REINIT,
    "saturated_units": REINIT,
    "symmetric_init": REINIT,
    "lr_too_high": LR_DOWN,
    "lr_too_low": LR_UP,
    "loss_plateau": LR_UP,
    "loss_oscillation": CALM,
    "overfitting": ADD_DROPOUT,
    "init_scale": REINIT,
    "probabilities_into_ce": no_fix("probabilities_into_ce", sf.OUTPUT_ACTIVATION),
    "probabilities_into_loss": no_fix("probabilities_into_loss", sf.OUTPUT_ACTIVATION),
    "relu_on_output": no_fix("relu_on_output", sf.OUTPUT_ACTIVATION),
    "collapsed_predictions": no_fix("collapsed_predictions", sf.either(sf.RESHAPE_OUTPUT, sf.OUTPUT_ACTIVATION)),
    "params_not_updating": no_fix("params_not_updating", sf.OPTIMIZE_MISSING),
    "batchnorm_batch1": no_fix("batchnorm_batch1", sf.MERGE),
    "eval_in_train_mode": no_fix("eval_in_train_mode"),
    "unshuffled_data": no_fix("unshuffled_data", sf.SHUFFLE),
    "repeated_batch": no_fix("repeated_batch"),
    "schedule_per_batch": no_fix("schedule_per_batch"),
    "grad_accumulation": no_fix("grad_accumulation"),
    "cannot_overfit": no_fix("cannot_overfit"),
    "gradient_mismatch": no_fix("gradient_mismatch"),
    "regularization_check": no_fix("regularization_check"),
    "checks_skipped": no_fix("checks_skipped"),
}


def fix_for(code: str) -> Fix:
    """The table row of ``code`` (every code of ``findings.CODES`` has one)."""
    if code not in FIXES:
        raise KeyError(f"no fix row for finding code {code!r}; valid: {', '.join(FIXES)}")
    return FIXES[code]


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out |= _flat(v, f"{prefix}{k}.")
        return out
    return {prefix[:-1]: d}


def describe_change(before: Config, after: Config) -> list[str]:
    """``key: old -> new`` for every config value a fix changed."""
    a, b = _flat(before.model_dump(mode="json")), _flat(after.model_dump(mode="json"))
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
