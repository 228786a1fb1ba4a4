"""The few library calls a sweep makes, in one place.

The sweep reaches the rest of trainlab only through these names, so when the library's layout
changes (modules moving, the members table becoming a resolved table of per-member columns), this
file is what is re-pointed.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable, Optional

from trainlab.config import VALID_KEYS, Config, build_config  # noqa: F401 - re-exported
from trainlab.env import pick_device, provenance, set_threads  # noqa: F401 - re-exported
from trainlab.members import MEMBER_KEYS, Member, MemberTable, resolve_members
from trainlab.runner import chunk_size, load_data, run_population
from trainlab.runs.io import (make_dir, mark_made, read_json, read_marker, write_bytes_atomic,  # noqa: F401
                              write_json_atomic, write_text_atomic)
from trainlab.runs.outdir import claim_out, safe_name  # noqa: F401 - re-exported

_DATA: dict[str, Any] = {}  # datasets by (data config, run seed): loaded once per process


def is_member_key(key: str) -> bool:
    """True when ``key`` may differ between the members of one population (lr, init scale, ...);
    every other key is structure (widths, activation, batch size, optimizer, steps, data)."""
    return key in MEMBER_KEYS


def config_from(raw: dict) -> Config:
    """A validated config from a raw dict (a ``UsageError`` when invalid)."""
    return build_config(copy.deepcopy(raw))


def dataset(cfg: Config):
    """The config's dataset, loaded once per process for each (data config, run seed)."""
    key = json.dumps([cfg.data.model_dump(mode="json"), cfg.run.seed], sort_keys=True)
    if key not in _DATA:
        _DATA[key] = load_data(cfg.data, cfg.run.seed)
    return _DATA[key]


def members_per_chunk(cfg: Config, ds) -> int:
    """How many members of this structure fit ``run.memory_budget_mb`` at once."""
    return chunk_size(cfg, len(ds.train.y), ds.input_dim, ds.n_classes)


def make_members(cfg: Config, rows: list[tuple[int, int, dict]]) -> MemberTable:
    """The resolved members table of (id, seed, per-member values) rows: one column per per-member
    value, each member's own value else the config's."""
    return resolve_members(cfg, [Member(id=int(i), seed=int(s), values=dict(v)) for i, s, v in rows])


def train_members(cfg: Config, ds, members: MemberTable, device, callbacks: Optional[list] = None,
                  progress: Optional[Callable[[int], None]] = None):
    """Train the members as one population (the budget-sized chunk); returns (arrays, fits)."""
    factory = (lambda chunk: list(callbacks)) if callbacks else None
    _, fits, arrays = run_population(cfg, ds, members, device, factory, progress)
    return arrays, fits
