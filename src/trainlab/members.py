"""Population members: who they are and what differs between them.

A population is K models of one structure. Each member has a stable integer id, its own seed and
its per-member values (init scale, lr, dropout rate, ...). Members are the product of the
``population.grid`` values (all combinations), zipped with the ``population.zip`` values, times the
seeds, in that order: ``id = combo_index * n_seeds + seed_index``. So members with the same seed
index share their random streams across values, which makes comparisons between values paired.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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


def member_values(cfg: "Config", members: list[Member], key: str) -> list[Any]:
    """Each member's resolved value for ``key`` (its own value, else the base config's)."""
    base: Any = cfg
    for p in key.split("."):
        base = getattr(base, p)
    return [m.values.get(key, base) for m in members]


def member_tensor(cfg: "Config", members: list[Member], key: str, default: float = 0.0) -> torch.Tensor:
    """Per-member float values of ``key`` as a (K,) tensor; None becomes ``default``."""
    vals = [default if v is None else float(v) for v in member_values(cfg, members, key)]
    return torch.tensor(vals, dtype=torch.float32)


def require_members(members: list[Member]) -> None:
    if not members:
        raise UsageError("the population is empty: population.seeds must be >= 1")
