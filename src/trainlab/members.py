"""Population members: who they are and what differs between them.

A population is K models of one structure. Each member has a stable integer id, its own seed and
its per-member values (init scale, lr, dropout rate, ...). Members are the product of the
``population.grid`` values (all combinations), zipped with the ``population.zip`` values, times the
seeds, in that order: ``id = combo_index * n_seeds + seed_index``. So members with the same seed
index share their random streams across values, which makes comparisons between values paired.

``resolve_members`` expands them once into a ``MemberTable``: one column per per-member value
(init, optimizer, regularization, data, dropout), from which the model, the optimizer and the loop
read their per-member tensors.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Sequence

import torch

from trainlab.errors import UsageError, unknown_choice

if TYPE_CHECKING:
    from trainlab.config import Config

# config keys a member may vary; everything else is structure, fixed within a population
MEMBER_KEYS: dict[str, str] = {
    "model.init.scheme": "init scheme (structure is unchanged)",
    "model.init.std": "init std",
    "model.init.a": "init uniform bound",
    "model.init.value": "init constant value",
    "model.init.gain": "init gain multiplier",
    "model.dropout.input": "input dropout rate",
    "model.dropout.hidden": "hidden dropout rate",
    "optim.lr": "learning rate",
    "optim.momentum": "momentum",
    "optim.weight_decay": "weight decay",
    "optim.beta1": "Adam beta1",
    "optim.beta2": "Adam beta2",
    "regularize.l1": "L1 strength",
    "regularize.l2": "L2 strength",
    "regularize.max_norm": "max-norm bound c",
    "data.scale": "input scale",
    "data.offset": "input offset",
}


@dataclass(frozen=True)
class Member:
    """One member: stable id, its seed, and the per-member values it was given."""

    id: int
    seed: int
    values: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        vals = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in self.values.items())
        return f"#{self.id} seed={self.seed}" + (f" {vals}" if vals else "")


def _check_keys(keys: list[str]) -> None:
    for key in keys:
        if key not in MEMBER_KEYS:
            raise ValueError(unknown_choice("population key", key, MEMBER_KEYS, verdict="cannot vary per member",
                                            label="per-member keys")
                             + "; structure (depth, widths, activation) is fixed within a population")


def expand_members(cfg: "Config") -> list[Member]:
    """The members of a config's population block, in id order."""
    pop = cfg.population
    seeds = list(pop.seed_list) if pop.seed_list is not None else list(range(pop.seeds))
    grid_keys = list(pop.grid)
    grid_combos = list(itertools.product(*(pop.grid[k] for k in grid_keys))) if grid_keys else [()]
    zip_keys = list(pop.zip)
    zip_rows = list(zip(*(pop.zip[k] for k in zip_keys))) if zip_keys else [()]
    members: list[Member] = []
    for g in grid_combos:
        for z in zip_rows:
            values = dict(zip(grid_keys, g)) | dict(zip(zip_keys, z))
            for s in seeds:
                members.append(Member(id=len(members), seed=int(s), values=values))
    return members


def member_config(cfg: "Config", member: Member) -> "Config":
    """The single-model config of one member: the base config with its values set."""
    from trainlab.config import Config

    raw = cfg.model_dump(mode="python")
    raw["population"] = {"seeds": 1, "seed_list": [member.seed]}
    for key, value in member.values.items():
        node = raw
        *path, last = key.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    return Config.model_validate(raw)


def validate_member_values(cfg: "Config") -> None:
    """Check population keys and every distinct value through the typed config (ranges, names)."""
    pop = cfg.population
    _check_keys(list(pop.grid) + list(pop.zip))
    for key, vals in list(pop.grid.items()) + list(pop.zip.items()):
        if not isinstance(vals, list) or not vals:
            raise ValueError(f"population values for {key!r} must be a non-empty list, got {vals!r}")
    lengths = {k: len(v) for k, v in pop.zip.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"population.zip lists must have equal lengths, got {lengths}")
    if pop.seed_list is not None and len(set(pop.seed_list)) != len(pop.seed_list):
        raise ValueError(f"population.seed_list has repeated seeds: {pop.seed_list}")
    from trainlab.config import Config

    for key, vals in list(pop.grid.items()) + list(pop.zip.items()):
        for v in vals:
            raw = cfg.model_dump(mode="python")
            raw["population"] = {}
            node = raw
            *path, last = key.split(".")
            for p in path:
                node = node[p]
            node[last] = v
            try:
                Config.model_validate(raw)
            except Exception as e:  # pydantic.ValidationError; re-raised as a plain value error
                first = e.errors()[0] if hasattr(e, "errors") else {"msg": str(e)}
                raise ValueError(f"population value {key}={v!r}: {first['msg'].removeprefix('Value error, ')}") from None


@dataclass(frozen=True)
class MemberTable:
    """The population block resolved once: one row per member, one column per per-member value.

    Every column holds each member's own value, else the base config's, with the optimizer's
    defaults filled in. The model reads ``init_scheme``, ``init_scale``, ``dropout_*`` and
    ``data_*``; the optimizer ``optim`` (one column per hyperparameter of the config's optimizer);
    the loop ``l1``, ``l2`` and ``max_norm`` (inf: no bound). A chunk of the population is
    ``table.rows(start, stop)``.
    Columns are float32, as the training tensors; ``init_scale`` is float64, the Python float the
    init schemes read.
    """

    members: tuple[Member, ...]
    init_scheme: tuple[str, ...]
    init_scale: torch.Tensor
    dropout_input: torch.Tensor
    dropout_hidden: torch.Tensor
    data_scale: torch.Tensor
    data_offset: torch.Tensor
    l1: torch.Tensor
    l2: torch.Tensor
    optim: dict[str, torch.Tensor]
    max_norm: Optional[torch.Tensor] = None  # (K,) bound c per member, inf where unbounded; None: nobody

    def __len__(self) -> int:
        return len(self.members)

    @property
    def seeds(self) -> list[int]:
        return [m.seed for m in self.members]

    def rows(self, start: int, stop: int) -> "MemberTable":
        """Members ``start`` to ``stop - 1`` (a chunk), every column cut alike."""
        cut = slice(start, stop)
        return MemberTable(self.members[cut], self.init_scheme[cut], self.init_scale[cut], self.dropout_input[cut],
                           self.dropout_hidden[cut], self.data_scale[cut], self.data_offset[cut], self.l1[cut],
                           self.l2[cut], {k: v[cut] for k, v in self.optim.items()},
                           None if self.max_norm is None else self.max_norm[cut])


def resolve_members(cfg: "Config", members: Optional[Sequence[Member]] = None) -> MemberTable:
    """The table of ``members`` (default: the config's population block, expanded here)."""
    from trainlab.optim import OPTIMIZERS

    members = tuple(expand_members(cfg) if members is None else members)
    if not members:
        raise UsageError("the population is empty: population.seeds must be >= 1")

    def values(key: str) -> list[Any]:
        base: Any = cfg
        for part in key.split("."):
            base = getattr(base, part)
        return [m.values.get(key, base) for m in members]

    def column(key: str, default: float = 0.0) -> torch.Tensor:
        return torch.tensor([default if v is None else float(v) for v in values(key)], dtype=torch.float32)

    schemes = values("model.init.scheme")
    scales = []
    for m, scheme in zip(members, schemes):
        own = {k.rsplit(".", 1)[1]: v for k, v in m.values.items() if k.startswith("model.init.")}
        scales.append(cfg.model.init.model_copy(update={**own, "scheme": scheme}).scale())
    kind = OPTIMIZERS[cfg.optim.name]
    optim = {key: column(f"optim.{key}", kind.default_momentum if key == "momentum" else 0.0) for key in kind.hparams}
    bound = column("regularize.max_norm", float("inf"))
    return MemberTable(members, tuple(schemes), torch.tensor(scales, dtype=torch.float64),
                       column("model.dropout.input"), column("model.dropout.hidden"), column("data.scale", 1.0),
                       column("data.offset"), column("regularize.l1"), column("regularize.l2"), optim,
                       bound if bool(torch.isfinite(bound).any()) else None)
