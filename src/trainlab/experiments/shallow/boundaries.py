"""Which trained members the shallow study's decision-boundary figures draw, and their stored weights.

Three figures read what this module writes:

- ``decision_boundaries.png``: one member per picked sigma and Glorot normal
  (``boundaries.json`` + ``boundaries.safetensors``);
- ``boundary_grid.png``: one member for EVERY set-up of the study, as one grid: each picked sigma,
  each named init, each data scale and transform (the report's set-up included) and each breaker
  (``boundary_grid.json`` + ``boundary_grid.safetensors``, and each population's training points
  in ``boundary_points.npz``);
- ``boundary_snapshots.png``: the picked sigmas' members at a few steps of training
  (``snapshots.json`` + ``snapshots.safetensors``, keys ``s<step>.<tensor>``).

The member shown for a group is the seed with the group's median val accuracy (the lower middle
of an even count), so a figure shows a typical seed, not the luckiest. All members share the
2-6-3-2 shape; the per-member input scale and offset travel with the weights, so each boundary is
drawn in its population's own input coordinates.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch

from trainlab.experiments.shallow.populations import BREAKERS, DEAD_RELU, SCHEMES, SeedGroup
from trainlab.nn.population import PopulationMLP
from trainlab.runs.io import write_json_atomic
from trainlab.runs.store import save_weights

if TYPE_CHECKING:
    from trainlab.experiments.shallow.summary import Results
    from trainlab.experiments.shallow.train import TrainedPopulation


def median_member(t: TrainedPopulation, g: SeedGroup) -> int:
    """The group's member with the median val accuracy (lower middle for an even count)."""
    order = sorted(g.members, key=lambda j: t.val_acc[j])
    return order[(len(order) - 1) // 2]


def _entry(res: Results, title: str, group: str, kind: str) -> dict[str, Any]:
    t, g = res.groups[group]
    j = median_member(t, g)
    return {"title": f"{title}, seed {t.plan.members[j].seed}", "group": group, "kind": kind,
            "population": t.plan.name, "member": j, "seed": t.plan.members[j].seed, "regime": t.regimes[j],
            "val_acc": float(t.val_acc[j])}


def picked_entries(res: Results, picked: dict[str, Optional[float]]) -> list[dict[str, Any]]:
    """For each picked sigma and Glorot normal: the median member (``decision_boundaries.png``)."""
    out = [_entry(res, f"sigma = {v:g} ({k})", f"sigma={v:g}", "sigma") for k, v in picked.items() if v is not None]
    return out + [_entry(res, "Glorot/Xavier normal", "xavier_normal", "scheme")]


def _best_variant(res: Results, case: str) -> Optional[str]:
    """The report set-up's init with the best median val accuracy for one case (raw, standardized, ...)."""
    groups = [(t, g) for t, g in res.of_kind("variant") if g.meta["case"] == case]
    if not groups:
        return None
    t, g = max(groups, key=lambda tg: float(np.median(tg[0].val_acc[tg[1].members])))
    return g.name


def grid_entries(res: Results, picked: dict[str, Optional[float]]) -> list[dict[str, Any]]:
    """One member for every set-up, in the lab's order: sigmas, inits, data, breakers."""
    out = [_entry(res, f"sigma = {v:g} ({k})", f"sigma={v:g}", "sigma") for k, v in picked.items() if v is not None]
    out += [_entry(res, label, scheme, "scheme") for scheme, label in SCHEMES.items()]
    scaling = sorted((g for _, g in res.of_kind("scaling")),
                     key=lambda g: (g.population != "lab", "offset" in g.meta, g.meta.get("factor", 1.0)))
    out += [_entry(res, f"data: {g.name}", g.name, "scaling") for g in scaling]
    for case in dict.fromkeys(g.meta["case"] for _, g in res.of_kind("variant")):
        name = _best_variant(res, case)
        if name is not None:
            out.append(_entry(res, f"report: {name}", name, "variant"))
    out += [_entry(res, f"breaker: {name}", name, "breaker") for name in (*BREAKERS, DEAD_RELU) if name in res.groups]
    return out


def _members(res: Results, entries: list[dict[str, Any]]) -> PopulationMLP:
    return PopulationMLP.concat([res.trained[e["population"]].model.select([e["member"]]) for e in entries])


def save_boundaries(folder: Path, res: Results, trained: list[TrainedPopulation],
                    picked: dict[str, Optional[float]]) -> None:
    """Write the members and points the three boundary figures read."""
    chosen = picked_entries(res, picked)
    save_weights(folder, _members(res, chosen).state_dict(), "boundaries.safetensors")
    write_json_atomic(folder / "boundaries.json", chosen)
    grid = grid_entries(res, picked)
    save_weights(folder, _members(res, grid).state_dict(), "boundary_grid.safetensors")
    write_json_atomic(folder / "boundary_grid.json", grid)
    used = {e["population"] for e in grid}
    points = {}
    for t in trained:
        if t.plan.name in used:
            points[f"x__{t.plan.name}"] = t.train_x
            points[f"y__{t.plan.name}"] = t.train_y
    np.savez_compressed(folder / "boundary_points.npz", **points)
    save_snapshots(folder, res, chosen)


def save_snapshots(folder: Path, res: Results, chosen: list[dict[str, Any]]) -> None:
    """The picked sigmas' members at each kept step of the lab population."""
    rows = [e for e in chosen if e["kind"] == "sigma" and e["population"] == "lab"]
    snaps = res.trained["lab"].snapshots
    if not rows or not snaps:
        return
    ix = torch.as_tensor([e["member"] for e in rows])
    tensors = {f"s{step}.{k}": v[ix] for step, state in snaps.items() for k, v in state.items()}
    save_weights(folder, tensors, "snapshots.safetensors")
    write_json_atomic(folder / "snapshots.json", {"steps": sorted(snaps), "members": rows})
