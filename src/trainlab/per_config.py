"""Results per configuration: members grouped by their values, aggregated over seeds, best first.

A population with a grid holds several configurations (value combinations), each trained on the
same seeds. One median over every member hides which configuration is best, so results are broken
down per configuration (``trainlab train`` and ``trainlab sweep`` both use this module):

- each final metric as ``{median, lo, hi, n}`` over the configuration's seeds
  (``trainlab.stats.summarize``: the median and the 95% percentile-bootstrap interval);
- ranked by the median of one metric (``val_loss`` by default; losses rank low first, accuracies
  high first; a configuration with no finite value ranks last);
- the **paired** difference from the best, per seed (members with the same seed share their random
  streams: init, shuffles, dropout masks), as ``{median, lo, hi, n}`` of (this - best). ``tie`` is
  true when its 95% interval includes 0, so configurations indistinguishable from the best are
  visible. With fewer than 2 paired seeds there is no interval and ``tie`` is null.

A member row is a dict with ``seed``, ``values`` (the configuration's values) and ``final_<metric>``
keys (``runner.run_config``'s members table, or a sweep's). The configuration rows are plain dicts,
written as JSON (``summary.json``'s ``configs``) and as CSV (``configs.csv``).
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from trainlab.stats import summarize_many

# metrics a configuration can be ranked by, with the direction that is better
METRICS: dict[str, str] = {"val_loss": "min", "val_acc": "max", "train_loss": "min", "train_acc": "max"}
FINAL_METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


def goal(metric: str) -> str:
    """``"min"`` or ``"max"``: which direction of ``metric`` is better."""
    return METRICS[metric]


def default_metric(member_rows: list[dict]) -> str:
    """``val_loss`` when the members were validated, else ``train_loss``."""
    has_val = any(_finite(r.get("final_val_loss")) for r in member_rows)
    return "val_loss" if has_val else "train_loss"


def values_key(values: dict[str, Any]) -> str:
    """A canonical text of a configuration's values (the same values give the same key)."""
    return json.dumps(values, sort_keys=True, default=str)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(v: Any) -> float:
    """A float; None and text other than ``"inf"``/``"-inf"`` become NaN."""
    if _finite(v):
        return float(v)
    if isinstance(v, str) and v in ("inf", "-inf"):
        return float(v)
    if isinstance(v, float):
        return v
    return float("nan")


def group_members(member_rows: Iterable[dict]) -> list[tuple[dict, list[dict]]]:
    """Member rows grouped by configuration, in order of first appearance: [(values, rows), ...].

    Rows that carry a ``config`` id (a sweep's) are grouped by it, so two configurations with equal
    values (two Optuna trials that drew the same point) stay apart; others by their values."""
    groups: dict[str, tuple[dict, list[dict]]] = {}
    for r in member_rows:
        key = f"#{r['config']}" if "config" in r else values_key(r.get("values") or {})
        groups.setdefault(key, (dict(r.get("values") or {}), []))[1].append(r)
    return list(groups.values())


def config_rows(member_rows: list[dict], metric: str, metrics: tuple[str, ...] = FINAL_METRICS) -> list[dict]:
    """One row per configuration, best first: stats over seeds, rank, paired difference from the best.

    ``metrics`` are the final metrics summarized (those the members lack are left out).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    present = [m for m in metrics if any(f"final_{m}" in r for r in member_rows)]
    groups = group_members(member_rows)
    stats = {m: summarize_many([[_num(r.get(f"final_{m}")) for r in members] for _, members in groups])
             for m in present}  # batched: the same numbers as summarize, for thousands of configurations
    rows, per_seed = [], {}
    for i, (values, members) in enumerate(groups):
        row: dict[str, Any] = {
            "config": members[0].get("config", i), "values": values,
            "members": [r.get("id") for r in members], "seeds": [r.get("seed") for r in members],
            "frozen": sum(1 for r in members if r.get("frozen")),
            "final": {m: stats[m][i] for m in present},
        }
        rows.append(row)
        per_seed[id(row)] = {r.get("seed"): _num(r.get(f"final_{metric}")) for r in members}
    sign = -1.0 if goal(metric) == "max" else 1.0

    def order(row: dict) -> tuple:
        med = row["final"].get(metric, {}).get("median")
        return (med is None, sign * med if med is not None else 0.0)

    rows.sort(key=order)  # stable: equal medians keep the configuration order
    best = per_seed[id(rows[0])] if rows else {}
    diffs = []
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
        row["best"] = rank == 1
        row["vs_best"], row["tie"] = None, None
        if rank == 1:
            continue
        mine = per_seed[id(row)]
        common = [s for s in mine if s in best and math.isfinite(mine[s]) and math.isfinite(best[s])]
        if common:
            diffs.append((row, [mine[s] - best[s] for s in common]))
    # the paired difference per seed (this - best); a tie when its 95% interval includes 0
    for (row, d), st in zip(diffs, summarize_many([d for _, d in diffs])):
        row["vs_best"] = {k: st[k] for k in ("median", "lo", "hi", "n")}
        if len(d) >= 2:
            row["tie"] = not (st["lo"] > 0 or st["hi"] < 0)
    return rows


# ---- tables ------------------------------------------------------------------------------------

def value_text(v: Any) -> Any:
    """A configuration value for a table cell or CSV field: lists as JSON text, scalars unchanged."""
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def flat_row(row: dict, metrics: Optional[list[str]] = None, extra: Optional[dict] = None) -> dict[str, Any]:
    """A configuration row as one flat record (CSV/Parquet): values, then ``<metric>_{median,lo,hi,n}``."""
    out: dict[str, Any] = dict(extra or {})
    out |= {"config": row["config"], "rank": row["rank"]}
    out |= {k: value_text(v) for k, v in row["values"].items()}
    out |= {"n_members": len(row["members"]), "frozen": row["frozen"]}
    for m in metrics or list(row["final"]):
        st = row["final"].get(m) or {}
        for part in ("median", "lo", "hi", "n"):
            out[f"{m}_{part}"] = st.get(part)
    vb = row.get("vs_best") or {}
    for part in ("median", "lo", "hi", "n"):
        out[f"vs_best_{part}"] = vb.get(part)
    out["tie_with_best"] = row.get("tie")
    return out


def to_csv(records: list[dict[str, Any]]) -> str:
    """Records as CSV text: columns in first-seen order, None as an empty field, floats in full."""
    cols: list[str] = []
    for r in records:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in records:
        w.writerow([csv_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def csv_cell(v: Any) -> Any:
    """A CSV field: None empty, floats in full (``nan``/``inf`` as text), lists and mappings as JSON."""
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


def configs_csv(rows: list[dict], extra: Optional[dict] = None) -> str:
    """``configs.csv``: one line per configuration, best first."""
    return to_csv([flat_row(r, extra=extra) for r in rows])


def write_configs_csv(folder: Path, rows: list[dict]) -> None:
    """Write ``folder/configs.csv`` atomically."""
    from trainlab.runs.io import write_text_atomic

    write_text_atomic(Path(folder) / "configs.csv", configs_csv(rows))


def report_table(rows: list[dict], metric: str, title: Optional[str] = None, limit: int = 50) -> dict:
    """A ``{title, columns, rows}`` table for summary.json (the HTML report renders it)."""
    keys = list(rows[0]["values"]) if rows else []
    metrics = list(rows[0]["final"]) if rows else []
    columns = ["rank", *keys, *metrics, f"{metric}: this - best (paired)", "tie with best"]
    body = []
    for r in rows[:limit]:
        tie = {True: "tie (interval includes 0)", False: "", None: "best" if r["best"] else "n/a (< 2 seeds)"}[r["tie"]]
        body.append([r["rank"], *(value_text(r["values"].get(k)) for k in keys),
                     *(r["final"].get(m) for m in metrics), r.get("vs_best"), tie])
    n = len(rows)
    default = (f"Per configuration, best first by median final {metric}: median [95% CI] over seeds"
               + (f" (first {limit} of {n})" if n > limit else ""))
    return {"title": title or default, "columns": columns, "rows": body}


def with_config_table(summary: dict) -> dict:
    """The summary with the per-configuration table first among its tables (for the report); a run
    with a single configuration gets none. Pure: the caller writes the summary, once."""
    rows = summary.get("configs") or []
    if len(rows) <= 1:
        return summary
    return summary | {"tables": [report_table(rows, summary.get("rank_metric", "val_loss"))]
                      + list(summary.get("tables") or [])}


def array_of(rows: list[dict], metric: str, part: str = "median") -> np.ndarray:
    """One statistic of ``metric`` over configuration rows (NaN where missing)."""
    return np.array([_num((r["final"].get(metric) or {}).get(part)) for r in rows], dtype=np.float64)
