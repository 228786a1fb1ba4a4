"""The HTML report, rebuilt from run folders alone (never from live objects).

One self-contained file: figures are embedded as base64 PNG, CSS is inline, there are no scripts
and no network requests. Every string that came from a user or a file is HTML-escaped. A study
folder's ``summary.json`` supplies ``observations``, ``tables``, ``figures`` and ``provenance``; a
``lab all`` folder's index ``summary.json`` lists the studies, failed ones with their error.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from trainlab.store_io import read_json, write_text_atomic

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #aaa;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444}.failed{background:#fee;border:1px solid #c00;padding:.6em}
.ok{color:#070}.bad{color:#c00}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.8em}
ul.obs li{margin:.3em 0}.note{background:#ffd;border:1px solid #cc8;padding:.4em .6em}
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt_cell(v: Any) -> str:
    """A table cell: statistics as 'median [lo, hi]', floats compact, None as an em dash."""
    if isinstance(v, dict) and "median" in v:
        if v.get("median") is None:
            return f"n/a ({esc(v.get('flag', 'no finite values'))})"
        return f"{_num(v['median'])} [{_num(v.get('lo'))}, {_num(v.get('hi'))}]"
    if v is None:
        return "&mdash;"
    if isinstance(v, float):
        return _num(v)
    return esc(v)


def _num(v: Any) -> str:
    if v is None:
        return "&mdash;"
    v = float(v)
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3g}"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f'<img alt="{esc(path.name)}" src="data:{mime};base64,{data}">'


def table_html(t: dict) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in t.get("columns", []))
    rows = "".join("<tr>" + "".join(f"<td>{fmt_cell(c)}</td>" for c in row) + "</tr>" for row in t.get("rows", []))
    cap = f"<caption>{esc(t.get('title', ''))}</caption>" if t.get("title") else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def study_section(folder: Path, title: str | None = None, anchor: str | None = None) -> str:
    """One study's section from its folder: observations, tables, figures, provenance."""
    s = read_json(folder / "summary.json")
    name = s.get("experiment", folder.name)
    parts = [f'<section id="{esc(anchor or name)}" class="study"><h2>{esc(title or s.get("title", name))}</h2>']
    for note in s.get("data_notes", []) or []:
        parts.append(f'<p class="note">{esc(note)}</p>')
    obs = s.get("observations") or []
    if obs:
        parts.append("<h3>Observations</h3><ul class=\"obs\">" + "".join(f"<li>{esc(o)}</li>" for o in obs) + "</ul>")
    for t in s.get("tables") or []:
        parts.append(table_html(t))
    for f in s.get("figures") or []:
        p = folder / f["file"]
        if p.is_file():
            parts.append(f"<figure>{_img(p)}<figcaption>{esc(f.get('caption', ''))}</figcaption></figure>")
        else:
            parts.append(f'<p class="note">figure {esc(f["file"])} is missing from the folder</p>')
    prov = s.get("provenance")
    if prov:
        parts.append("<details><summary>Provenance</summary><pre>" + esc(json.dumps(prov, indent=2)) + "</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n")


def lab_page(folder: Path) -> str:
    """The whole lab: an index table, then one section per study in the lab's order."""
    idx = read_json(folder / "summary.json")
    rows = []
    sections = []
    for st in idx.get("studies", []):
        status = st.get("status", "?")
        cls = "ok" if status in ("ok", "skipped") else "bad"
        rows.append(f"<tr><td><a href=\"#{esc(st['name'])}\">{esc(st.get('title', st['name']))}</a></td>"
                    f"<td class=\"{cls}\">{esc(status)}</td><td>{_num(st.get('seconds'))} s</td>"
                    f"<td>{esc(st.get('headline', ''))}</td></tr>")
        sub = folder / st["name"]
        if status in ("ok", "skipped") and (sub / "summary.json").is_file():
            sections.append(study_section(sub, st.get("title"), st["name"]))
        else:
            sections.append(f'<section id="{esc(st["name"])}" class="study"><h2>{esc(st.get("title", st["name"]))}</h2>'
                            f'<div class="failed">This study failed: <pre>{esc(st.get("error", "unknown error"))}</pre>'
                            f"</div></section>")
    prov = idx.get("provenance", {})
    body = [f"<h1>{esc(idx.get('title', 'trainlab lab report'))}</h1>",
            "<p>Training from scratch: initialization and regularization. Every number below was computed by "
            "trainlab from the run folders next to this file; statistics over seeds are medians with 95% "
            "bootstrap intervals.</p>",
            "<table><thead><tr><th>study</th><th>status</th><th>time</th><th>headline</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>", *sections,
            "<section id=\"provenance\"><h2>Provenance</h2><pre>" + esc(json.dumps(prov, indent=2)) + "</pre></section>"]
    return page(idx.get("title", "trainlab lab report"), "\n".join(body))


def write_report(folder: str | Path) -> Path:
    """Write ``report.html`` for a study folder or a ``lab all`` folder; returns its path."""
    folder = Path(folder)
    s = read_json(folder / "summary.json")
    if s.get("experiment") == "lab":
        text = lab_page(folder)
    else:
        text = page(f"trainlab: {s.get('experiment', folder.name)}", study_section(folder, s.get("title")))
    out = folder / "report.html"
    write_text_atomic(out, text)
    return out
