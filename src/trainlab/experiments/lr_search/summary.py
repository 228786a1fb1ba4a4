"""The numbers of the lr-search study's summary.json, from the sweeps' summaries and member rows.

Per data set: each stage of both searches with its winner (median [95% interval] over seeds of the
final validation loss and accuracy), the values it was given (``fixed``: the earlier winners), and
how many configurations tie with the winner. Claims (``experiments.claims``, paired over seeds):

- ``<data>/stage<k>``: stage k (k >= 2) lowers the validation loss below the configuration carried
  from stage k - 1 (a tie when stage k keeps it: the difference is 0 on every seed);
- ``<data>/fine_vs_grid``: the fine stage's best lr beats the best lr of the full-length grid
  (stage 1 of the staged search, the same lrs as the coarse stage at 10x the steps);
- ``<data>/staged_vs_fine``: the staged search's final configuration (lr, model, optimizer) beats
  the coarse-to-fine search's (lr only).

``coarse`` records whether the coarse stage (a tenth of the steps) picked the full-length grid's
lr, and if not, how its pick fares at full length (the paired gap to the best, and the tie mark).
"""
from __future__ import annotations

from typing import Any, Optional

from trainlab.experiments.claims import claim
from trainlab.experiments.lr_search.searches import METRIC
from trainlab.experiments.lr_search.settings import DATASETS, LrSearchSettings
from trainlab.per_config import config_rows

STAGE_WHAT = {1: "the lr", 2: "depth and activation", 3: "the optimizer"}


def stage_tables(rows: list[dict]) -> dict[str, list[dict]]:
    """Per stage, its configuration rows best first (``per_config.config_rows``, as configs.csv)."""
    out: dict[str, list[dict]] = {}
    for stage in dict.fromkeys(r["stage"] for r in rows):
        members = [{"id": i, **r} for i, r in enumerate(rows) if r["stage"] == stage]
        out[stage] = config_rows(members, METRIC)
    return out


def per_seed(rows: list[dict], stage: str, config: int) -> dict[int, float]:
    """Seed -> final validation loss of one configuration of one stage."""
    return {r["seed"]: r[f"final_{METRIC}"] for r in rows if r["stage"] == stage and r["config"] == config}


def paired(a: dict[int, float], b: dict[int, float]) -> tuple[list[float], list[float]]:
    seeds = sorted(set(a) & set(b))
    return [a[s] for s in seeds], [b[s] for s in seeds]


def values_text(values: dict[str, Any]) -> str:
    """``lr 0.0316, 2x16 relu, adam``: a configuration in words."""
    parts = []
    for k, v in values.items():
        if k == "optim.lr":
            parts.append(f"lr {v:.3g}")
        elif k == "model.hidden":
            parts.append(f"{len(v)}x{v[0]}" if len(set(v)) == 1 else "-".join(map(str, v)))
        else:
            parts.append(str(v))
    return ", ".join(parts)


def lookup(raw: dict, key: str) -> Any:
    """The value of dotted ``key`` in a raw config (None when absent)."""
    node: Any = raw
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def stage_block(sweep_stage: dict, base: dict) -> dict[str, Any]:
    """A sweep summary's stage, with its winner's validation loss and accuracy over seeds, and whether
    the winner left the configuration carried into the stage (``moved``)."""
    w = sweep_stage["winner"] or {"config": None, "values": {}, "final": {}}
    carried = {k: sweep_stage["fixed"].get(k, lookup(base, k)) for k in sweep_stage["keys"]}
    return {"carried": carried, "moved": any(w["values"].get(k) != v for k, v in carried.items()),
            "name": sweep_stage["name"], "title": sweep_stage["title"], "keys": sweep_stage["keys"],
            "fixed": sweep_stage["fixed"], "steps": sweep_stage["steps"], "configs": sweep_stage["configs"],
            "ties": sweep_stage["ties"],
            "winner": {"config": w["config"], "values": w["values"], "text": values_text(w["values"]),
                       "val_loss": w["final"].get("val_loss"), "val_acc": w["final"].get("val_acc")}}


def _winner_seeds(rows: list[dict], block: dict) -> dict[int, float]:
    return per_seed(rows, block["name"], block["winner"]["config"])


def staged_claims(name: str, blocks: list[dict], rows: list[dict]) -> list[dict]:
    out = []
    for k in range(1, len(blocks)):
        prev, cur = blocks[k - 1], blocks[k]
        a, b = paired(_winner_seeds(rows, cur), _winner_seeds(rows, prev))
        what = STAGE_WHAT.get(k + 1, ", ".join(cur["keys"]))
        out.append(claim(f"{name}/stage{k + 1}", f"On {name}, stage {k + 1} ({what}) lowers the validation loss below "
                         f"the configuration carried from stage {k}", "final validation loss",
                         f"stage {k + 1}: {cur['winner']['text']}", "carried", a, b, "negative"))
    return out


def coarse_record(staged_rows: list[dict], staged: list[dict], c2f: list[dict]) -> dict[str, Any]:
    """Did the coarse stage pick the full-length grid's lr? If not, its pick's gap at full length."""
    coarse_lr = c2f[0]["winner"]["values"].get("optim.lr")
    grid_lr = staged[0]["winner"]["values"].get("optim.lr")
    rec: dict[str, Any] = {"coarse_lr": coarse_lr, "grid_lr": grid_lr, "fine_lr": c2f[1]["winner"]["values"].get("optim.lr"),
                           "coarse_steps": c2f[0]["steps"], "steps": staged[0]["steps"],
                           "same": coarse_lr == grid_lr, "tie_at_full": None, "gap_at_full": None}
    if not rec["same"]:
        table = stage_tables([r for r in staged_rows if r["stage"] == staged[0]["name"]])[staged[0]["name"]]
        row = next((r for r in table if r["values"].get("optim.lr") == coarse_lr), None)
        if row is not None:
            rec["tie_at_full"], rec["gap_at_full"] = row["tie"], row["vs_best"]
    return rec


def dataset_block(name: str, base: dict, staged_sum: dict, staged_rows: list[dict], c2f_sum: dict,
                  c2f_rows: list[dict]) -> dict[str, Any]:
    """One data set's stages, final configuration, coarse-stage record and claims (``base``: the
    searches' base config, raw)."""
    staged = [stage_block(s, base) for s in staged_sum["stages"]]
    c2f = [stage_block(s, base) for s in c2f_sum["stages"]]
    last = staged[-1]
    final_values = {**last["fixed"], **last["winner"]["values"]}
    claims = staged_claims(name, staged, staged_rows)
    fine, grid = _winner_seeds(c2f_rows, c2f[1]), _winner_seeds(staged_rows, staged[0])
    a, b = paired(fine, grid)
    claims.append(claim(f"{name}/fine_vs_grid", f"On {name}, refining the lr (coarse to fine) beats the best lr of the "
                        "full-length grid", "final validation loss", f"fine: lr {c2f[1]['winner']['values']['optim.lr']:.3g}",
                        f"grid: lr {staged[0]['winner']['values']['optim.lr']:.3g}", a, b, "negative"))
    a, b = paired(_winner_seeds(staged_rows, last), fine)
    claims.append(claim(f"{name}/staged_vs_fine", f"On {name}, the staged search (lr, then model, then optimizer) ends "
                        "lower than the lr-only coarse-to-fine search", "final validation loss",
                        f"staged: {values_text(final_values)}", f"fine: lr {c2f[1]['winner']['values']['optim.lr']:.3g}",
                        a, b, "negative"))
    return {"name": name, "label": DATASETS[name].label,
            "staged": {"stages": staged, "final": {"values": final_values, "text": values_text(final_values),
                                                   "val_loss": last["winner"]["val_loss"],
                                                   "val_acc": last["winner"]["val_acc"]}},
            "coarse_to_fine": {"stages": c2f, "coarse": coarse_record(staged_rows, staged, c2f)},
            "claims": claims}


def results(st: LrSearchSettings, blocks: list[dict], sweeps: dict[str, dict]) -> dict[str, Any]:
    """The study's results: setup, one block per data set, every claim, and the sweeps' sizes."""
    return {
        "setup": {"datasets": [{"name": n, "label": DATASETS[n].label, "generator": DATASETS[n].generator,
                                "params": DATASETS[n].params} for n in st.datasets],
                  "n_train": st.n_train, "n_val": st.n_val, "batch_size": st.batch_size, "steps": st.steps,
                  "coarse_steps": st.coarse_steps, "seeds": st.seeds, "metric": METRIC,
                  "base": {"optimizer": st.optimizer, "hidden": [st.width] * st.depth, "activation": st.activation,
                           "init": "kaiming_normal (He)"},
                  "stages": st.stages_text(), "lr_grid": st.lr_axis()},
        "datasets": blocks,
        "claims": [c for b in blocks for c in b["claims"]],
        "sweeps": sweeps,
    }


def dataset(summary: dict, name: str) -> Optional[dict]:
    return next((d for d in summary["datasets"] if d["name"] == name), None)
