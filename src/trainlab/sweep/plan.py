"""From configurations to chunks: check the keys, group by structure, split under the memory bound.

A stage is a list of configurations (dicts of swept key -> value) trained with the same seeds.
Keys a member may vary (``trainlab.members.MEMBER_KEYS``: lr, init scale, dropout, ...) go into
per-member values; every other key is **structure** (widths, activation, batch size, optimizer,
steps, data) and is fixed within a population. So configurations are grouped by their structure
values, and each group is trained as populations in chunks of at most ``members_per_chunk``
members (``run.memory_budget_mb``). A chunk holds whole configurations (all their seeds) whenever
one configuration fits.

Member ids: ``config * n_seeds + seed_index`` within a stage, as ``trainlab train`` numbers them,
so members with the same seed index share their random streams (paired comparisons). A chunk's
``key`` hashes everything that decides its results (config, members, stage), never the thread
count or device, so a resumed sweep finds the chunks it committed before.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from trainlab.errors import UsageError
from trainlab.sweep import lib

NOT_SWEEPABLE_PREFIX = ("population", "run")  # members and run identity are the sweep's own business
SECTIONS = {"data", "model", "optim", "regularize", "train", "population", "run", "model.init", "model.bias_init",
            "model.dropout", "optim.schedule", "train.early_stopping"}
IDENTITY_FREE = ("threads", "device", "name", "save_weights")  # run keys that never change a result


@dataclass
class Stage:
    """One stage of a sweep: configurations trained with the same seeds on the same base config."""

    name: str  # "grid", "random", "stage1", "coarse", "fine", "batch0", ...
    configs: list[dict[str, Any]]  # swept values per configuration
    fixed: dict[str, Any] = field(default_factory=dict)  # values set for the whole stage (earlier winners)
    title: str = ""
    config_ids: Optional[list[int]] = None  # default 0..n-1; Optuna: trial numbers

    def ids(self) -> list[int]:
        return self.config_ids if self.config_ids is not None else list(range(len(self.configs)))


@dataclass
class ChunkTask:
    """One population to train: plain data, so that a Ray worker can receive it."""

    stage: str
    index: int  # ordinal of the chunk within its stage
    config: dict  # the raw config of its structure group (population block cleared)
    members: list[tuple[int, int, int, dict]]  # (member id, config id, seed, per-member values)
    values: dict[int, dict]  # config id -> all swept values (structure included), for the result rows
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            run = {k: v for k, v in self.config.get("run", {}).items() if k not in IDENTITY_FREE}
            ident = {"stage": self.stage, "config": {**self.config, "run": run},
                     "members": [list(m) for m in self.members]}
            self.key = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def n_members(self) -> int:
        return len(self.members)

    @property
    def steps(self) -> int:
        return int(self.config.get("train", {}).get("steps", 1000))

    @property
    def file_name(self) -> str:
        return f"{lib.safe_name(self.stage)}-{self.index:05d}-{self.key[:12]}.json"

    def to_json(self) -> dict:
        return {"stage": self.stage, "index": self.index, "config": self.config, "key": self.key,
                "members": [list(m) for m in self.members], "values": {str(k): v for k, v in self.values.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "ChunkTask":
        return cls(d["stage"], d["index"], d["config"], [tuple(m) for m in d["members"]],
                   {int(k): v for k, v in d["values"].items()}, d["key"])


def check_key(key: str) -> None:
    """A sweepable config key, else a ``UsageError`` suggesting the nearest one."""
    leaves = [k for k in lib.VALID_KEYS if k not in SECTIONS]
    if key in leaves and not key.startswith(NOT_SWEEPABLE_PREFIX):
        return
    if key.startswith(NOT_SWEEPABLE_PREFIX) and key in leaves:
        raise UsageError(f"{key!r} cannot be swept: seeds come from --seeds, and run settings are the same for "
                         f"every configuration")
    near = difflib.get_close_matches(key, leaves, n=1, cutoff=0.5)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise UsageError(f"unknown config key {key!r}{hint}; sweep any key of the config reference, e.g. optim.lr, "
                     f"model.hidden, model.activation, train.batch_size, optim.name")


def set_key(raw: dict, key: str, value: Any) -> None:
    node = raw
    *path, last = key.split(".")
    for p in path:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[last] = copy.deepcopy(value)


def apply(raw: dict, values: dict[str, Any]) -> dict:
    """A copy of ``raw`` with dotted ``values`` set."""
    out = copy.deepcopy(raw)
    for k, v in values.items():
        set_key(out, k, v)
    return out


def check_values(base: dict, configs: list[dict[str, Any]], fixed: Optional[dict] = None) -> None:
    """Every distinct (key, value) is checked through the typed config, before any training."""
    seen = set()
    for cfg in configs:
        for k, v in cfg.items():
            tag = (k, json.dumps(v, sort_keys=True, default=str))
            if tag in seen:
                continue
            seen.add(tag)
            check_key(k)
            try:
                lib.config_from(apply(base, {**(fixed or {}), k: v}))
            except UsageError as e:
                raise UsageError(f"swept value {k}={v!r}: {e}") from None


def split_values(values: dict[str, Any]) -> tuple[dict, dict]:
    """(structure values, per-member values) of one configuration."""
    struct = {k: v for k, v in values.items() if not lib.is_member_key(k)}
    member = {k: v for k, v in values.items() if lib.is_member_key(k)}
    return struct, member


def group_by_structure(configs: list[dict[str, Any]], ids: list[int]) -> list[tuple[dict, list[int]]]:
    """[(structure values, [config ids])] in order of first appearance."""
    groups: dict[str, tuple[dict, list[int]]] = {}
    for cid, values in zip(ids, configs):
        struct, _ = split_values(values)
        groups.setdefault(json.dumps(struct, sort_keys=True, default=str), (struct, []))[1].append(cid)
    return list(groups.values())


def stage_raw(base: dict, stage: Stage, struct: dict) -> dict:
    """The raw config of one structure group of a stage, with no population block."""
    raw = apply(base, {**stage.fixed, **struct})
    raw.pop("population", None)
    return raw


def plan_stage(base: dict, stage: Stage, seeds: list[int], eval_final_only: bool = True) -> list[ChunkTask]:
    """The chunks of a stage, in a fixed order: structure groups in order of first appearance, then
    configurations in order, each with its seeds in order."""
    ids = stage.ids()
    by_id = dict(zip(ids, stage.configs))
    pos = {cid: i for i, cid in enumerate(ids)}
    tasks: list[ChunkTask] = []
    n_seeds = len(seeds)
    for struct, cids in group_by_structure(stage.configs, ids):
        raw = stage_raw(base, stage, struct)
        cfg = lib.config_from(raw)
        if eval_final_only and cfg.train.early_stopping is None:
            # only final metrics are kept: evaluating at the end alone changes no result and saves
            # the evaluations (10,000 val points each) that would otherwise cost more than training
            raw.setdefault("train", {})["eval_every"] = cfg.train.steps
            raw["train"]["val_at_init"] = False  # loss_at_init reads the training set only
        per = lib.members_per_chunk(cfg, lib.dataset(cfg))
        if per >= n_seeds:
            per -= per % n_seeds  # whole configurations per chunk
        rows = []
        for cid in cids:
            _, member_vals = split_values(by_id[cid])
            first = (cid if stage.config_ids is not None else pos[cid]) * n_seeds  # Optuna: by trial number
            rows += [(first + j, cid, seed, member_vals) for j, seed in enumerate(seeds)]
        for start in range(0, len(rows), per):
            part = rows[start:start + per]
            vals = {cid: by_id[cid] for cid in dict.fromkeys(r[1] for r in part)}
            tasks.append(ChunkTask(stage.name, len(tasks), raw, part, vals))
    return tasks


def memory_bound(task: ChunkTask) -> tuple[int, int]:
    """(members, members that fit the budget) of a planned chunk: a check for tests and benchmarks."""
    cfg = lib.config_from(task.config)
    return task.n_members, lib.members_per_chunk(cfg, lib.dataset(cfg))
