"""The sweep's report page, built from the sweep folder alone (``configs.csv`` and ``summary.json``).

Figures (PNG, embedded in ``report.html`` by ``trainlab.report.html``):

- the metric against each swept key: the median over seeds with its 95% interval per
  configuration, one colour per stage, the best configuration starred;
- a parallel-coordinates view of the final stage: one line per configuration across the swept keys
  and the metric, coloured by the metric (the best configurations on top);
- for staged and coarse-to-fine searches, one panel per stage with its winner marked.

``render_sweep(folder)`` draws them, adds ``figures``, ``tables``, ``observations`` and ``title``
to ``summary.json`` and writes ``report.html``; ``trainlab report DIR`` rebuilds the HTML later.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.per_config import report_table  # noqa: E402
from trainlab.report.html import load_summary, write_report  # noqa: E402
from trainlab.runs.io import mark_made, write_json_atomic  # noqa: E402

MAX_LINES = 400  # parallel coordinates: the best configurations drawn at most
COLORS = plt.get_cmap("tab10").colors


def _read_configs(folder: Path) -> list[dict[str, str]]:
    path = folder / "configs.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _value(text: str) -> Any:
    """A CSV cell back as a value: number, JSON list, word; empty as None."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _num(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def _axis(values: list[Any]) -> tuple[np.ndarray, list[str] | None, bool]:
    """Positions for values: (x, tick labels or None for numbers, log scale?)."""
    nums = [v for v in values if v is not None]
    if nums and all(isinstance(v, float) for v in nums):
        x = np.array([np.nan if v is None else v for v in values], dtype=float)
        pos = x[np.isfinite(x) & (x > 0)]
        log = pos.size == len(nums) and pos.size > 1 and pos.max() / pos.min() >= 20
        return x, None, bool(log)
    labels = list(dict.fromkeys(json.dumps(v) if isinstance(v, (list, dict)) else str(v) for v in nums))
    x = np.array([np.nan if v is None else labels.index(json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                  for v in values], dtype=float)
    return x, labels, False


def _metric_vs_key(rows: list[dict], key: str, metric: str, stages: list[str], path: Path) -> bool:
    vals = [_value(r.get(key, "")) for r in rows]
    if all(v is None for v in vals):
        return False
    x, labels, log = _axis(vals)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for si, st in enumerate(stages):
        idx = [i for i, r in enumerate(rows) if r["stage"] == st and np.isfinite(x[i])]
        if not idx:
            continue
        med = np.array([_num(rows[i][f"{metric}_median"]) for i in idx])
        lo = np.array([_num(rows[i][f"{metric}_lo"]) for i in idx])
        hi = np.array([_num(rows[i][f"{metric}_hi"]) for i in idx])
        xs = x[idx] + (0.0 if labels is None else 0.08 * (si - (len(stages) - 1) / 2))
        ok = np.isfinite(med)
        ax.errorbar(xs[ok], med[ok], yerr=[np.clip(med - lo, 0, None)[ok], np.clip(hi - med, 0, None)[ok]], fmt="o",
                    ms=3.5, capsize=2, color=COLORS[si % 10], alpha=0.8, label=st if len(stages) > 1 else None)
        best = [j for j, i in enumerate(idx) if rows[i]["rank"] == "1"]
        if best and ok[best[0]]:
            ax.plot(xs[best[0]], med[best[0]], marker="*", ms=14, color=COLORS[si % 10], mec="k")
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels)) > 6 else 0)
    if log:
        ax.set_xscale("log")
    ax.set(xlabel=key, ylabel=f"final {metric} (median over seeds, 95% CI)", title=f"{metric} against {key}")
    if len(stages) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _parallel(rows: list[dict], keys: list[str], metric: str, goal: str, path: Path) -> bool:
    """One polyline per configuration over the keys that vary and the metric; best drawn last."""
    vary = [k for k in keys if len({r.get(k, "") for r in rows} - {""}) > 1]
    if not vary or len(rows) < 2:
        return False
    med = np.array([_num(r[f"{metric}_median"]) for r in rows])
    order = np.argsort(med if goal == "min" else -med)
    order = [i for i in order if np.isfinite(med[i])][:MAX_LINES][::-1]  # the best drawn on top
    if len(order) < 2:
        return False
    cols, ticks = [], []
    for k in vary:
        x, labels, log = _axis([_value(rows[i].get(k, "")) for i in order])
        lo_v, hi_v = np.nanmin(x), np.nanmax(x)
        if log:
            x = np.log10(x)
        span = np.nanmax(x) - np.nanmin(x)
        cols.append((x - np.nanmin(x)) / (span if span > 0 else 1.0))
        if labels is not None:  # categorical: each label at its level
            n = max(len(labels) - 1, 1)
            ticks.append([(i / n if len(labels) > 1 else 0.0, lab) for i, lab in enumerate(labels)])
        else:
            ticks.append([(0.0, f"{lo_v:.3g}"), (1.0, f"{hi_v:.3g}")])
    m = med[order]
    span = m.max() - m.min()
    cols.append((m - m.min()) / (span if span > 0 else 1.0))
    data = np.stack(cols, axis=1)
    fig, ax = plt.subplots(figsize=(max(6.5, 1.6 * (len(vary) + 1)), 4.2))
    cmap = plt.get_cmap("viridis_r" if goal == "min" else "viridis")
    norm = matplotlib.colors.Normalize(m.min(), m.max())
    for row, val in zip(data, m):
        ax.plot(range(data.shape[1]), row, color=cmap(norm(val)), alpha=0.6, lw=1)
    names = vary + [f"{metric}\n[{m.min():.3g}, {m.max():.3g}]"]
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_yticks([])
    for j in range(len(names)):
        ax.axvline(j, color="0.6", lw=0.8)
    for j, tk in enumerate(ticks):
        for y, text in tk:
            ax.annotate(text, (j, y), xytext=(3, 0), textcoords="offset points", fontsize=7, va="center",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label=f"median final {metric}")
    ax.set_title(f"Parallel coordinates: the {len(order)} best configurations", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _stages_figure(rows: list[dict], stages: list[dict], metric: str, path: Path) -> bool:
    """One panel per stage: the metric against the stage's first key, its winner starred."""
    if len(stages) < 2:
        return False
    fig, axes = plt.subplots(1, len(stages), figsize=(3.6 * len(stages), 3.6), squeeze=False)
    for ax, st in zip(axes[0], stages):
        mine = [r for r in rows if r["stage"] == st["name"]]
        keys = [k for k in st.get("keys", []) if isinstance(k, str)]
        if not mine or not keys:
            ax.set_axis_off()
            continue
        key = keys[0] if len(keys) == 1 else " / ".join(k.split(".")[-1] for k in keys)
        if len(keys) == 1:
            x, labels, log = _axis([_value(r.get(keys[0], "")) for r in mine])
        else:  # several keys in one stage: one category per combination
            x, labels, log = _axis([" / ".join(r.get(k, "") for k in keys) for r in mine])
        med = np.array([_num(r[f"{metric}_median"]) for r in mine])
        lo = np.array([_num(r[f"{metric}_lo"]) for r in mine])
        hi = np.array([_num(r[f"{metric}_hi"]) for r in mine])
        ok = np.isfinite(med) & np.isfinite(x)
        ax.errorbar(x[ok], med[ok], yerr=[np.clip(med - lo, 0, None)[ok], np.clip(hi - med, 0, None)[ok]], fmt="o",
                    ms=3.5, capsize=2)
        win = [i for i, r in enumerate(mine) if r["rank"] == "1"]
        if win and ok[win[0]]:
            ax.plot(x[win[0]], med[win[0]], marker="*", ms=15, color="C3", mec="k", label="winner")
            ax.legend(fontsize=7)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=30 if max(map(len, labels)) > 6 else 0)
        if log:
            ax.set_xscale("log")
        ax.set_title(f"{st.get('title') or st['name']}\n({st.get('steps')} steps)", fontsize=8)
        ax.set_xlabel(key, fontsize=8)
    axes[0][0].set_ylabel(f"final {metric} (median, 95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _fmt_stat(st: dict | None) -> str:
    if not st or st.get("median") is None:
        return "n/a"
    return f"{st['median']:.4g} [{st['lo']:.4g}, {st['hi']:.4g}]"


def observations(s: dict) -> list[str]:
    """Sentences computed from the summary."""
    metric = s.get("metric", "val_loss")
    obs = []
    for st in s.get("stages", []):
        w = st.get("winner")
        if not w:
            continue
        vals = ", ".join(f"{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in w["values"].items())
        ties = st.get("ties", 0)
        obs.append(f"{st.get('title') or st['name']}: best {vals} with {metric} {_fmt_stat(w['final'].get(metric))} "
                   f"over {w['final'].get(metric, {}).get('n', 0)} seeds"
                   + (f"; {ties} other configuration(s) tie with it (the 95% interval of the paired difference "
                      f"includes 0)" if ties else "; no other configuration ties with it") + ".")
    ch = s.get("chunks", {})
    if ch.get("reused"):
        obs.append(f"Resumed: {ch['reused']} of {ch['total']} chunks were already committed and not trained again.")
    opt = s.get("optuna")
    if opt:
        t = opt.get("trials", {})
        obs.append(f"Optuna study {opt.get('study_name')!r} in {opt.get('storage')}: {t.get('complete', 0)} complete, "
                   f"{t.get('pruned', 0)} pruned, {t.get('fail', 0)} failed trial(s)"
                   + (f"; {len(opt['asked_again'])} cut short by an interruption were asked again"
                      if opt.get("asked_again") else "") + ".")
    return obs


def render_sweep(folder: str | Path) -> Path:
    """Draw the sweep's figures, record them in summary.json, and write report.html."""
    folder = Path(folder)
    s = load_summary(folder)
    rows = _read_configs(folder)
    metric, goal = s.get("metric", "val_loss"), s.get("goal", "min")
    keys = [k for k in s.get("swept", []) if isinstance(k, str)]
    stage_names = list(dict.fromkeys(r["stage"] for r in rows))
    figures = []
    for i, key in enumerate(keys):
        name = f"sweep_metric_vs_{i}.png"
        if _metric_vs_key(rows, key, metric, stage_names, folder / name):
            figures.append({"file": name, "caption": f"Final {metric} against {key}: the median over seeds and its 95% "
                            f"interval per configuration; the star is the best."})
    final_stage = stage_names[-1] if stage_names else None
    last = [r for r in rows if r["stage"] == final_stage]
    if _parallel(last, keys, metric, goal, folder / "sweep_parallel.png"):
        figures.append({"file": "sweep_parallel.png", "caption": "Parallel coordinates of the final stage: each line "
                        f"is one configuration, coloured by its median final {metric}."})
    if _stages_figure(rows, s.get("stages", []), metric, folder / "sweep_stages.png"):
        figures.append({"file": "sweep_stages.png", "caption": "The stages in order; each stage's winner (starred) is "
                        "fixed for the next."})
    tables = []
    if len(s.get("stages", [])) > 1:
        tables.append({"title": "Stages: each winner is fixed for the next stage",
                       "columns": ["stage", "varied", "steps", "configurations", "winner", f"{metric} (median [95% CI])",
                                   "ties with the winner"],
                       "rows": [[st.get("title") or st["name"], ", ".join(st.get("keys", [])), st.get("steps"),
                                 st.get("configs"), json.dumps((st.get("winner") or {}).get("values")),
                                 ((st.get("winner") or {}).get("final") or {}).get(metric), st.get("ties")]
                                for st in s.get("stages", [])]})
    best = [dict(b, best=b.get("rank") == 1, members=[]) for b in s.get("best", []) if isinstance(b, dict)]
    if best:
        tables.append(report_table(best, metric, title=f"Best configurations of the final stage, by median final "
                                   f"{metric} over seeds (all of them in configs.csv)"))
    s |= {"title": f"trainlab sweep: {s.get('name', folder.name)} ({s.get('mode', '')})", "figures": figures,
          "tables": tables, "observations": observations(s)}
    write_json_atomic(folder / "summary.json", s)
    mark_made(folder, "sweep", *(f["file"] for f in figures))
    return write_report(folder)

