"""A sweep's tables: ``members.csv`` (one row per member), ``configs.csv`` (one row per configuration,
median and 95% interval over seeds for each final metric), Parquet copies when pyarrow is
installed, and the stage summaries.

Configuration rows come from member rows alone (``trainlab.per_config.config_rows``), per stage,
ranked within their stage by the sweep's metric, with the paired difference from the stage's best
and the tie mark. Values that are lists (``model.hidden``) are written as JSON text.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Optional

from trainlab.per_config import FINAL_METRICS, config_rows, csv_cell, flat_row, goal, to_csv, value_text

MEMBER_COLUMNS = ("stage", "config", "member", "seed")


def members_csv(rows: list[dict], keys: list[str]) -> str:
    """members.csv: identity, every swept key (empty where a stage did not set it), final metrics,
    written row by row (a 100,000-member sweep holds no second copy of its rows)."""
    metrics = [f"final_{m}" for m in FINAL_METRICS if any(f"final_{m}" in r for r in rows[:1000])]
    cols = [*MEMBER_COLUMNS, *keys, *metrics, "loss_at_init", "stopped", "stopped_step", "chunk"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        vals = r["values"]
        w.writerow([csv_cell(r[c]) for c in MEMBER_COLUMNS] + [csv_cell(value_text(vals.get(k))) for k in keys]
                   + [csv_cell(r.get(c)) for c in cols[len(MEMBER_COLUMNS) + len(keys):]])
    return buf.getvalue()


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


def parquet_bytes(csv: str) -> Optional[bytes]:
    """A CSV table as Parquet (types read by pyarrow's CSV reader: numbers, booleans, text; empty
    fields and ``nan`` as null), or None when pyarrow is not installed."""
    try:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError:
        return None
    import pyarrow as pa

    header = next(iter(csv.splitlines()), "").split(",")
    text_cols = {c: pa.string() for c in ("stage", "stopped") if c in header}  # text even when all empty
    table = pacsv.read_csv(io.BytesIO(csv.encode("utf-8")),
                           convert_options=pacsv.ConvertOptions(column_types=text_cols))
    buf = io.BytesIO()
    pq.write_table(table, buf)
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
