"""A sweep's tables: ``members.csv`` (one row per member), ``configs.csv`` (one row per configuration,
median and 95% interval over seeds for each final metric), Parquet copies when pyarrow is
installed, and the stage summaries.

Configuration rows come from member rows alone (``trainlab.per_config.config_rows``), per stage,
ranked within their stage by the sweep's metric, with the paired difference from the stage's best
and the tie mark. Values that are lists (``model.hidden``) are written as JSON text.
"""
from __future__ import annotations

import io
from typing import Any, Optional

from trainlab.per_config import FINAL_METRICS, config_rows, flat_row, goal, to_csv, value_text

MEMBER_COLUMNS = ("stage", "config", "member", "seed")


def member_records(rows: list[dict], keys: list[str]) -> list[dict[str, Any]]:
    """members.csv rows: identity, every swept key (empty where a stage did not set it), final metrics."""
    out = []
    for r in rows:
        rec: dict[str, Any] = {c: r[c] for c in MEMBER_COLUMNS}
        rec |= {k: value_text(r["values"].get(k)) for k in keys}
        rec |= {f"final_{m}": r.get(f"final_{m}") for m in FINAL_METRICS if f"final_{m}" in r}
        rec |= {"loss_at_init": r.get("loss_at_init"), "stopped": r.get("stopped"),
                "stopped_step": r.get("stopped_step"), "chunk": r.get("chunk")}
        out.append(rec)
    return out


def stage_configs(rows: list[dict], metric: str) -> list[dict]:
    """Configuration rows of one stage's member rows, best first (``per_config`` rows + ``stage``)."""
    members = [{"id": r["member"], "seed": r["seed"], "values": r["values"], "config": r["config"],
                "frozen": r.get("stopped"), **{k: v for k, v in r.items() if k.startswith("final_")}} for r in rows]
    table = config_rows(members, metric)
    stage = rows[0]["stage"] if rows else ""
    for t in table:
        t["stage"] = stage
    return table


def config_records(tables: list[list[dict]], keys: list[str]) -> list[dict[str, Any]]:
    """configs.csv rows over all stages: every swept key as a column (empty where not set)."""
    out = []
    for table in tables:
        for row in table:
            full = dict(row, values={k: row["values"].get(k) for k in keys})
            out.append(flat_row(full, extra={"stage": row["stage"]}))
    return out


def csv_text(records: list[dict[str, Any]]) -> str:
    return to_csv(records)


def parquet_bytes(records: list[dict[str, Any]]) -> Optional[bytes]:
    """The records as Parquet, or None when pyarrow is not installed. Mixed-type columns (a key that is
    a number in one configuration and text in another) are written as text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    cols: list[str] = []
    for r in records:
        cols += [k for k in r if k not in cols]
    arrays = {}
    for c in cols:
        vals = [r.get(c) for r in records]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {int} or kinds <= {float, int} or kinds <= {bool} or kinds <= {str}:
            if kinds == {int, float}:
                vals = [None if v is None else float(v) for v in vals]
            arrays[c] = pa.array(vals)
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in vals])
    buf = io.BytesIO()
    pq.write_table(pa.table(arrays), buf)
    return buf.getvalue()


def winner(table: list[dict]) -> Optional[dict]:
    """The stage's best configuration row (None when the stage is empty)."""
    return table[0] if table else None


def best_text(row: Optional[dict], metric: str) -> str:
    """A short line for the progress bar: the best configuration's values and median."""
    if row is None:
        return "-"
    med = (row["final"].get(metric) or {}).get("median")
    vals = " ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in row["values"].items())
    return f"{vals} {metric}={med:.4g}" if med is not None else vals


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(value_text(v)).replace(" ", "")


def stage_summary(name: str, title: str, keys: list[str], fixed: dict, steps: int, table: list[dict],
                  metric: str) -> dict:
    """One stage for summary.json: what varied, what was fixed, and its winner with intervals."""
    w = winner(table)
    return {"name": name, "title": title, "keys": keys, "fixed": fixed, "steps": steps, "configs": len(table),
            "ties": sum(1 for r in table if r.get("tie")), "goal": goal(metric),
            "winner": None if w is None else {"config": w["config"], "values": w["values"], "final": w["final"]}}
