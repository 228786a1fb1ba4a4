"""Typed run configs: data, model, optimizer, regularization, training, population, run.

Every field carries its reason as a comment. Configs load from YAML (``yaml.safe_load``) and take
dotted overrides (``optim.lr=0.05``). Unknown keys are errors that suggest the nearest valid key;
wrong types and out-of-range values are errors naming the value and what is valid. Each becomes a
``UsageError`` (exit code 2 in the CLI).
"""
from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trainlab.errors import UsageError, unknown_choice
from trainlab.nn.activations import ACTIVATIONS
from trainlab.nn.init import BIAS_INITS, INITS, resolve_init


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DataConfig(_Strict):
    name: str = "circles"  # a toy generator (circles, moons, ...) or an image dataset (mnist, fashion-mnist, mnist-5k, auto)
    n_train: int = Field(100, gt=0)  # training points; the lab uses 100 for circles
    n_val: int = Field(10000, ge=0)  # validation points; large, so accuracy is measured precisely
    n_test: int = Field(0, ge=0)  # held-out test points; untouched unless asked for
    params: dict[str, Any] = Field(default_factory=dict)  # generator parameters, e.g. {noise: 0.15, center: [10, 10]}
    transforms: list[dict[str, Any]] = Field(default_factory=list)  # fitted on train only, e.g. [{name: standardize}]
    scale: float = 1.0  # multiplies inputs after transforms; a population may vary it per member
    offset: float = 0.0  # added to inputs after scaling; a population may vary it per member
    data_dir: Optional[str] = None  # local IDX files for image datasets (else TRAINLAB_DATA, cache, download)


class InitConfig(_Strict):
    scheme: str = "normal"  # a row of trainlab.nn.init.INITS (normal, xavier_uniform, kaiming_normal, lsuv, ...)
    std: Optional[float] = None  # normal: the standard deviation (not the variance)
    a: Optional[float] = None  # uniform: the bound of U(-a, a)
    value: Optional[float] = None  # constant: the value
    gain: float = 1.0  # other schemes: a multiplier on the scheme's own scale

    @field_validator("scheme")
    @classmethod
    def _known(cls, v: str) -> str:
        key = resolve_init(v)
        if key not in INITS:
            raise ValueError(unknown_choice("init scheme", v, list(INITS)))
        return key

    @field_validator("std", "a")
    @classmethod
    def _nonneg(cls, v):
        if v is not None and v < 0:
            raise ValueError(f"must be >= 0, got {v}")
        return v

    def scale(self) -> float:
        """The per-member number the scheme reads as its scale (std, bound, value or gain)."""
        meaning = INITS[self.scheme].scale_means
        picked = {"std": self.std, "bound": self.a, "value": self.value}.get(meaning, self.gain)
        return float(INITS[self.scheme].default_scale if picked is None else picked)


class BiasInitConfig(_Strict):
    scheme: str = "zeros"  # zeros (the lab), constant, normal, torch_default
    value: float = 0.0  # constant: the value; normal: the std

    @field_validator("scheme")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in BIAS_INITS:
            raise ValueError(unknown_choice("bias init", v, list(BIAS_INITS)))
        return v


class DropoutConfig(_Strict):
    input: float = Field(0.0, ge=0.0, lt=1.0)  # drop rate on the inputs (the paper uses 0.2)
    hidden: float = Field(0.0, ge=0.0, lt=1.0)  # drop rate after each hidden layer (0.5 in the paper)


class ModelConfig(_Strict):
    hidden: list[int] = Field(default_factory=lambda: [6, 3])  # hidden widths; the lab's shallow net is 2-6-3-2
    activation: str = "relu"  # a row of trainlab.nn.activations.ACTIVATIONS
    maxout_k: int = Field(2, ge=2)  # pieces per unit when activation is maxout
    init: InitConfig = Field(default_factory=InitConfig)
    bias_init: BiasInitConfig = Field(default_factory=BiasInitConfig)
    dropout: DropoutConfig = Field(default_factory=DropoutConfig)

    @field_validator("hidden")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        for w in v:
            if w <= 0:
                raise ValueError(f"every hidden width must be >= 1, got {w}")
        return v

    @field_validator("activation")
    @classmethod
    def _act(cls, v: str) -> str:
        if v not in ACTIVATIONS:
            raise ValueError(unknown_choice("activation", v, list(ACTIVATIONS)))
        return v


class ScheduleConfig(_Strict):
    name: str = "constant"  # a row of trainlab.schedules.SCHEDULES: constant, step, exponential, inv_time, sqrt_decay, cosine
    step_size: int = Field(100, gt=0)  # step: decay every step_size steps
    gamma: float = Field(0.1, gt=0.0)  # step/exponential: multiplicative decay
    decay: float = Field(0.001, ge=0.0)  # inv_time: lr / (1 + decay * t)
    min_factor: float = Field(0.0, ge=0.0, le=1.0)  # cosine: the floor as a fraction of lr


class OptimConfig(_Strict):
    name: str = "sgd"  # a row of trainlab.optim.OPTIMIZERS: sgd, momentum, nesterov, rmsprop, adam, adamw
    lr: float = Field(0.1, gt=0.0)  # step size; schedules scale this
    momentum: Optional[float] = Field(None, ge=0.0, lt=1.0)  # None: the optimizer's default (0.9 for momentum/nesterov, else 0)
    beta1: float = Field(0.9, ge=0.0, lt=1.0)  # adam first-moment decay
    beta2: float = Field(0.999, ge=0.0, lt=1.0)  # adam second-moment decay
    alpha: float = Field(0.99, gt=0.0, lt=1.0)  # rmsprop squared-gradient decay (torch default)
    eps: float = Field(1e-8, gt=0.0)  # adam/rmsprop denominator guard
    weight_decay: float = Field(0.0, ge=0.0)  # sgd/adam: L2 added to the gradient; adamw: decoupled decay
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from trainlab.optim import OPTIMIZERS

        if v not in OPTIMIZERS:
            raise ValueError(unknown_choice("optimizer", v, list(OPTIMIZERS)))
        return v


class RegularizeConfig(_Strict):
    l1: float = Field(0.0, ge=0.0)  # L1 penalty strength on weights (not biases), added to the loss
    l2: float = Field(0.0, ge=0.0)  # L2 penalty l2/2*||W||^2 on weights, added to the loss (not the optimizer's decay)
    max_norm: Optional[float] = Field(None, gt=0.0)  # cap on each unit's incoming weight norm after each step; may vary per member


class EarlyStopConfig(_Strict):
    patience: int = Field(10, gt=0)  # evaluations without improvement before a member stops
    min_delta: float = Field(1e-4, ge=0.0)  # smaller improvements do not count
    metric: Literal["val_loss", "val_acc", "train_loss", "train_acc"] = "val_loss"  # watched per member
    restarts: int = Field(0, ge=0)  # fresh inits per member after a plateau (seed 001's restart)


class TrainConfig(_Strict):
    steps: int = Field(1000, gt=0)  # optimizer steps
    batch_size: Optional[int] = Field(None, gt=0)  # None: full batch (gradient descent)
    eval_every: int = Field(10, gt=0)  # evaluate train/val loss and accuracy every n steps
    val_at_init: bool = True  # evaluate the validation set at step 0 too; false: NaN there (sweeps keep final metrics)
    loss: Literal["cross_entropy", "mse_softmax", "mse_sigmoid"] = "cross_entropy"  # seed 001 uses MSE on outputs
    early_stopping: Optional[EarlyStopConfig] = None  # None: train all steps; else stop/restart members on a plateau
    record_norms: bool = True  # per-layer grad/weight/bias norms and update ratio at each evaluation; off for huge sweeps


class PopulationConfig(_Strict):
    seeds: int = Field(1, gt=0)  # members per value combination, with member seeds 0..seeds-1
    seed_list: Optional[list[int]] = None  # explicit member seeds instead of 0..seeds-1
    grid: dict[str, list[Any]] = Field(default_factory=dict)  # per-member values, all combinations
    zip: dict[str, list[Any]] = Field(default_factory=dict)  # per-member values, paired element-wise (equal lengths)


class RunConfig(_Strict):
    name: str = "train"  # used in the default output folder runs/<name>-<timestamp>
    seed: int = 0  # the run seed: data, and with each member seed, every member's random streams
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: cuda when available
    threads: Optional[int] = Field(None, gt=0)  # torch CPU threads; None: torch's default
    memory_budget_mb: int = Field(4096, gt=0)  # populations are split into chunks that fit this
    save_weights: bool = True  # write final weights (safetensors) into the run folder


class Config(_Strict):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    regularize: RegularizeConfig = Field(default_factory=RegularizeConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @model_validator(mode="after")
    def _population_keys(self) -> "Config":
        from trainlab.members import validate_member_values

        validate_member_values(self)
        return self


def _all_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        full = f"{prefix}{name}"
        keys.append(full)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(_all_keys(ann, full + "."))
    return keys


VALID_KEYS = _all_keys(Config)


def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        near = difflib.get_close_matches(loc, VALID_KEYS, n=1, cutoff=0.5)
        if not near:  # match the last part against keys at the same level
            parent = loc.rsplit(".", 1)[0] + "." if "." in loc else ""
            siblings = [k for k in VALID_KEYS if k.startswith(parent) and "." not in k[len(parent):]]
            near = difflib.get_close_matches(loc, siblings, n=1, cutoff=0.3)
        return unknown_choice("config key", loc, (), suggestion=near[0] if near else None, show_valid=False)
    msg = first["msg"].removeprefix("Value error, ")
    if not loc:  # a whole-config rule (the population block): its message names the key itself
        return msg
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"config key {loc!r}: {msg}{shown}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping with the same key twice (YAML lets the last one win)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1}, column {mark.column + 1}; first at line "
                f"{seen[key].line + 1}): remove one of them", mark)
        seen[key] = key_node.start_mark
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _yaml_problem(e: yaml.YAMLError) -> str:
    """One line: what is wrong and where (line and column, counted from 1)."""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` that also refuses duplicate keys."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def parse_value(text: str) -> Any:
    """A command-line value, read as YAML: ``0.1`` -> float, ``[1, 2]`` -> list, ``relu`` -> str."""
    try:
        return safe_yaml(text)
    except yaml.YAMLError as e:
        raise UsageError(f"cannot read value {text!r}: {_yaml_problem(e)}") from None


def check_finite(raw: Any, where: str = "") -> None:
    """Every float in a raw config (sections, overrides, population lists) must be finite.

    YAML reads ``.nan``, ``.inf`` and numbers too large for a double (``1e400``) as non-finite
    floats; none is a meaningful setting, and each would only fail later, mid-training or while
    drawing.
    """
    if isinstance(raw, float) and not math.isfinite(raw):
        shown = "nan" if raw != raw else ("inf" if raw > 0 else "-inf")
        raise UsageError(f"config key {where or '(top)'!r}: {shown} is not a finite number; give a finite value "
                         f"(a float beyond +-1.8e308 reads as inf)")
    if isinstance(raw, dict):
        for k, v in raw.items():
            check_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(raw, (list, tuple)):
        for i, v in enumerate(raw):
            check_finite(v, f"{where}[{i}]")


def apply_override(raw: dict, dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``a.b.c``; population keys keep their dots."""
    parts = dotted.split(".")
    if parts[0] == "population" and len(parts) > 2 and parts[1] in ("grid", "zip"):
        raw.setdefault("population", {}).setdefault(parts[1], {})[".".join(parts[2:])] = value
        return
    node = raw
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise UsageError(f"cannot set {dotted!r}: {p!r} is not a section")
        node = nxt
    node[parts[-1]] = value


def build_config(raw: dict | None = None, overrides: list[str] | None = None) -> Config:
    """Validate a raw dict (from YAML) plus ``key=value`` overrides into a ``Config``."""
    raw = dict(raw or {})
    for item in overrides or []:
        if "=" not in item:
            raise UsageError(f"override {item!r} is not key=value (e.g. optim.lr=0.05)")
        key, text = item.split("=", 1)
        if not key.strip():
            raise UsageError(f"override {item!r} has no key before '=' (e.g. optim.lr=0.05)")
        apply_override(raw, key.strip(), parse_value(text))
    check_finite(raw)
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise UsageError(_format_error(e)) from None


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """Load a YAML config file (or defaults when ``path`` is None) and apply overrides."""
    raw: Any = {}
    if path is not None:
        p = Path(path)
        if p.is_dir():
            raise UsageError(f"config {str(p)!r} is a folder; give a YAML config file (see examples/)")
        if not p.is_file():
            raise UsageError(f"config file {str(p)!r} not found")
        try:
            raw = safe_yaml(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as e:
            raise UsageError(f"config file {str(p)!r} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except OSError as e:
            raise UsageError(f"config file {str(p)!r} cannot be read: {e.strerror}") from None
        except yaml.YAMLError as e:
            raise UsageError(f"config file {str(p)!r} is not valid YAML: {_yaml_problem(e)}") from None
        if not isinstance(raw, dict):
            raise UsageError(f"config file {str(p)!r} must hold a mapping of sections, got {type(raw).__name__}")
    return build_config(raw, overrides)


def to_yaml(cfg: Config) -> str:
    """The full resolved config, as saved in every run folder."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
