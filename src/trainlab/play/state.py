"""The page's state: its controls, how they become a config, the limits, and the lab presets.

The page sends its state as a flat JSON object (the same keys sit in its URL). ``to_raw`` turns it
into a raw config dict, and ``validate`` runs that dict through ``build_config``, the validation
``trainlab train`` uses, so the page and the CLI accept and refuse the same values with the same
messages. The playground's own limits (``LIMITS``) come on top. ``export_yaml`` writes the same raw
dict as YAML: ``trainlab train`` on it builds the identical config and trains to the same numbers.

A lab preset may define a structure beyond the controls' limit of 6 layers of 64 units (the
20-layer net of 100 units, the 2-256-256-2 dropout net): those structures (``LAB_STRUCTURES``) are
accepted as they are; any other structure must keep within the limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from trainlab.play.adapter import PLAY_ACTIVATIONS, PLAY_INITS, PLAY_OPTIMIZERS, Config, UsageError, build_config

DATASETS = ("circles", "moons", "xor", "gaussians", "spirals")
# the generator parameter each dataset calls its noise
NOISE_PARAM = {"circles": "noise", "moons": "noise", "xor": "std", "gaussians": "std", "spirals": "noise"}
# what may vary across the population, and the config key it sets per member
VARY = {"seeds": None, "sigma": "model.init.std", "lr": "optim.lr", "dropout": "model.dropout.hidden",
        "scale": "data.scale", "init": "model.init.scheme"}


@dataclass(frozen=True)
class Control:
    """One control: its state key, type, default and the config key it sets (None: set by code)."""

    key: str
    kind: type
    default: Any
    config: Optional[str]
    label: str


CONTROLS: tuple[Control, ...] = (
    Control("dataset", str, "circles", "data.name", "dataset"),
    Control("noise", float, 0.15, None, "noise"),
    Control("points", int, 100, "data.n_train", "training points"),
    Control("val_points", int, 1000, "data.n_val", "validation points"),
    Control("scale", float, 1.0, "data.scale", "data scale"),
    Control("offset", float, 0.0, "data.offset", "data offset"),
    Control("hidden", list, [6, 3], "model.hidden", "hidden widths"),
    Control("activation", str, "relu", "model.activation", "activation"),
    Control("init", str, "normal", "model.init.scheme", "init scheme"),
    Control("sigma", float, 0.1, "model.init.std", "sigma (normal init std)"),
    Control("optimizer", str, "sgd", "optim.name", "optimizer"),
    Control("lr", float, 0.1, "optim.lr", "learning rate"),
    Control("batch", int, 0, "train.batch_size", "batch size (0: full batch)"),
    Control("l2", float, 0.0, "regularize.l2", "L2"),
    Control("dropout", float, 0.0, "model.dropout.hidden", "dropout (hidden)"),
    Control("steps", int, 1000, "train.steps", "steps"),
    Control("eval_every", int, 10, "train.eval_every", "evaluate every"),
    Control("seeds", int, 4, "population.seeds", "seeds"),
    Control("vary", str, "seeds", None, "what varies"),
    Control("values", list, [], None, "values"),
    Control("run_seed", int, 0, "run.seed", "run seed"),
)
BY_KEY = {c.key: c for c in CONTROLS}
DEFAULTS = {c.key: c.default for c in CONTROLS}
CHOICES = {"dataset": list(DATASETS), "activation": PLAY_ACTIVATIONS, "init": PLAY_INITS,
           "optimizer": PLAY_OPTIMIZERS, "vary": list(VARY)}


@dataclass(frozen=True)
class Limits:
    members: int = 64
    points: int = 5000  # training points, and validation points
    layers: int = 6  # hidden layers
    width: int = 64
    steps: int = 20000
    sessions: int = 4
    fixes: int = 8  # "try the fix" copies per tab
    evaluations: int = 2000  # steps / eval_every: bounds the curves each tab keeps and draws


LIMITS = Limits()

# ---- the lab presets (seed 000) ----------------------------------------------------------------
_SHALLOW = {"dataset": "circles", "noise": 0.15, "points": 100, "hidden": [6, 3], "activation": "relu",
            "init": "normal", "optimizer": "sgd", "lr": 0.1, "batch": 0, "steps": 1000, "seeds": 4}
PRESETS: dict[str, dict[str, Any]] = {
    "sigma": {"title": "Part 1: sigma 0.01 / 0.5 / 10 on 2-6-3-2 circles",
              "state": _SHALLOW | {"vary": "sigma", "values": [0.01, 0.5, 10.0]}},
    "scaling": {"title": "Part 1: data scaled x0.01 / x1 / x100 (sigma 0.5)",
                "state": _SHALLOW | {"sigma": 0.5, "vary": "scale", "values": [0.01, 1.0, 100.0]}},
    "deep": {"title": "Part 2: 20 layers of 100 units, N(0,1) vs Glorot vs He",
             "state": _SHALLOW | {"hidden": [100] * 20, "sigma": 1.0, "optimizer": "momentum", "lr": 0.03,
                                  "steps": 300, "seeds": 2, "vary": "init",
                                  "values": ["normal", "xavier_normal", "kaiming_normal"]}},
    "dropout": {"title": "Part 3: dropout 0 vs 0.5 on 2-256-256-2, 50 noisy moons points",
                "state": {"dataset": "moons", "noise": 0.3, "points": 50, "hidden": [256, 256], "activation": "relu",
                          "init": "kaiming_normal", "optimizer": "adam", "lr": 0.01, "batch": 0, "steps": 500,
                          "seeds": 4, "vary": "dropout", "values": [0.0, 0.5]}},
}
LAB_STRUCTURES = {tuple(p["state"]["hidden"]) for p in PRESETS.values()}


def preset_state(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    return DEFAULTS | PRESETS[name]["state"]


class StateError(UsageError):
    """A bad page state; ``field`` names the control to highlight (None: the whole state)."""

    def __init__(self, message: str, field: Optional[str] = None):
        super().__init__(message)
        self.field = field


def _coerce(c: Control, value: Any) -> Any:
    """The value as the control's type; numbers may arrive as strings (from a URL)."""
    def bad(what: str) -> StateError:
        return StateError(f"{c.label}: {what}, got {value!r}", c.key)

    if c.kind is list:
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list):
            raise bad("expected a list")
        if c.key == "hidden":
            widths = []
            for v in value:
                try:
                    f = float(v)
                except (TypeError, ValueError):
                    raise bad("widths must be whole numbers") from None
                if isinstance(v, bool) or not f.is_integer():
                    raise bad("widths must be whole numbers")
                widths.append(int(f))
            return widths
        return [_number_or_name(v) for v in value]
    if c.kind is str:
        if not isinstance(value, str):
            raise bad("expected a name")
        return value
    if isinstance(value, bool):
        raise bad("expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad("expected a number") from None
    if not math.isfinite(number):
        raise bad("expected a finite number")
    if c.kind is int:
        if number != int(number):
            raise bad("expected a whole number")
        return int(number)
    return number


def _number_or_name(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v).strip()


def normalize(state: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``state``, every value of its control's type; unknown keys refused."""
    if not isinstance(state, dict):
        raise StateError("the state must be an object of controls")
    import difflib

    out = dict(DEFAULTS)
    for key, value in state.items():
        if key not in BY_KEY:
            near = difflib.get_close_matches(str(key), list(BY_KEY), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise StateError(f"unknown control {key!r}{hint}; valid: {', '.join(BY_KEY)}")
        out[key] = _coerce(BY_KEY[key], value)
    for key, choices in CHOICES.items():
        if out[key] not in choices:
            near = difflib.get_close_matches(str(out[key]), choices, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise StateError(f"{BY_KEY[key].label}: unknown {out[key]!r}{hint}; valid: {', '.join(choices)}", key)
    return out


def to_raw(state: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    """The raw config dict of a normalized state (what ``build_config`` and the export receive)."""
    s = state
    raw: dict[str, Any] = {
        "data": {"name": s["dataset"], "n_train": s["points"], "n_val": s["val_points"],
                 "params": {NOISE_PARAM[s["dataset"]]: s["noise"]}, "scale": s["scale"], "offset": s["offset"]},
        "model": {"hidden": list(s["hidden"]), "activation": s["activation"],
                  "init": {"scheme": s["init"], "std": s["sigma"]}, "dropout": {"hidden": s["dropout"]}},
        "optim": {"name": s["optimizer"], "lr": s["lr"]},
        "regularize": {"l2": s["l2"]},
        "train": {"steps": s["steps"], "eval_every": s["eval_every"],
                  "batch_size": None if s["batch"] == 0 else s["batch"]},
        "population": {"seeds": s["seeds"]},
        "run": {"name": "play", "seed": s["run_seed"], "device": device},
    }
    key = VARY[s["vary"]]
    if key is not None:
        if not s["values"]:
            raise StateError(f"values: give at least one value to vary {s['vary']} over", "values")
        raw["population"]["grid"] = {key: list(s["values"])}
    return raw


def _field_of(message: str) -> Optional[str]:
    """The control whose config key a library message names."""
    hits = [c.key for c in CONTROLS if c.config and f"'{c.config}" in message]
    if "population value" in message or "population values" in message:
        return "values"
    if "data.params" in message:
        return "noise"
    return max(hits, key=lambda k: len(BY_KEY[k].config or "")) if hits else None


def check_limits(state: dict[str, Any], k: int) -> None:
    lim = LIMITS
    if k > lim.members:
        raise StateError(f"{k} members is more than the playground's {lim.members} (seeds x values); "
                         f"train larger populations with `trainlab train`", "seeds")
    for key in ("points", "val_points"):
        if state[key] > lim.points:
            raise StateError(f"{BY_KEY[key].label}: {state[key]} is more than the playground's {lim.points}", key)
    if state["steps"] > lim.steps:
        raise StateError(f"steps: {state['steps']} is more than the playground's {lim.steps}", "steps")
    if state["steps"] / state["eval_every"] > lim.evaluations:
        least = -(-state["steps"] // lim.evaluations)
        raise StateError(f"evaluate every: {state['steps']} steps / {state['eval_every']} is more than the "
                         f"playground's {lim.evaluations} evaluations; evaluate every {least} steps or more",
                         "eval_every")
    hidden = tuple(state["hidden"])
    if hidden not in LAB_STRUCTURES:
        if len(hidden) > lim.layers:
            raise StateError(f"hidden widths: {len(hidden)} layers is more than the playground's {lim.layers} "
                             f"(only the lab presets' structures go beyond)", "hidden")
        if hidden and max(hidden) > lim.width:
            raise StateError(f"hidden widths: {max(hidden)} units is more than the playground's {lim.width} "
                             f"per layer (only the lab presets' structures go beyond)", "hidden")


def validate(state: dict[str, Any], device: str = "cpu") -> tuple[dict[str, Any], dict[str, Any], Config]:
    """(normalized state, raw config, Config), or a ``StateError`` naming the control."""
    s = normalize(state)
    raw = to_raw(s, device)
    try:
        cfg = build_config(raw)
    except UsageError as e:
        raise StateError(str(e), _field_of(str(e))) from None
    from trainlab.play.adapter import expand_members

    k = len(expand_members(cfg))
    check_limits(s, k)
    if s["batch"] > s["points"]:
        raise StateError(f"batch size: {s['batch']} is larger than the {s['points']} training points; use at most "
                         f"{s['points']}, or 0 for full-batch gradient descent", "batch")
    return s, raw, cfg


def data_error(message: str, state: dict[str, Any]) -> StateError:
    """A data generator's refusal (``noise must be >= 0``), named by the control that caused it."""
    param = NOISE_PARAM[state["dataset"]]
    if message.startswith(f"{param} "):
        return StateError(f"noise: {message} (data.params.{param} of {state['dataset']})", "noise")
    return StateError(message, _field_of(message))


def export_yaml(raw: dict[str, Any]) -> str:
    """The page's run as a config file for ``trainlab train``."""
    head = ("# exported by `trainlab play`: `trainlab train THIS_FILE` trains the same population\n"
            "# (same data, members, init and steps) to the same final numbers\n")
    return head + yaml.safe_dump(raw, sort_keys=False)
