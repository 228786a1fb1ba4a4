"""The HTML report, rebuilt from run folders alone (never from live objects).

One self-contained file: figures are embedded as base64 PNG, CSS is inline, there are no scripts
and no network requests. Every string that came from a user or a file is HTML-escaped. A study
folder's ``summary.json`` supplies ``key_findings`` and ``key_figures`` (shown first), then
``observations``, ``tables``, ``figures`` and ``provenance``; a ``lab all`` folder's index
``summary.json`` lists the studies, failed ones with their error. Writing a report writes
``report.html`` and nothing else: every other file of the folder stays as it was.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from trainlab.errors import UsageError
from trainlab.runs.io import read_json, read_marker, write_text_atomic

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #aaa;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:.9em;color:#444}.failed{background:#fee;border:1px solid #c00;padding:.6em}
.ok{color:#070}.bad{color:#c00}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.8em}
ul.obs li,ul.key li{margin:.3em 0}ul.key{font-weight:500}.note{background:#ffd;border:1px solid #cc8;padding:.4em .6em}
"""


GENERATOR = '<meta name="generator" content="trainlab">'  # marks a report.html as trainlab's own


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


def _num_or_dash(v: Any) -> str:
    return _num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else "&mdash;"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f'<img alt="{esc(path.name)}" src="data:{mime};base64,{data}">'


def inside(folder: Path, name: Any) -> Path | None:
    """``folder / name`` resolved (symlinks followed) when it stays inside ``folder``, else None.

    Every path a report reads comes from a summary.json, which anyone can edit: a figure named
    ``/etc/passwd`` or ``../../x`` must never be embedded.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        return None
    root = folder.resolve()
    p = (folder / name).resolve()
    return p if p != root and p.is_relative_to(root) else None


def load_summary(folder: Path) -> dict:
    """``folder/summary.json`` as a dict, or a ``UsageError`` naming what is wrong with it."""
    path = folder / "summary.json"
    try:
        s = read_json(path)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    except RecursionError:
        raise UsageError(f"{path} is nested too deeply to be a trainlab summary") from None
    except ValueError as e:
        raise UsageError(f"{path} is not valid JSON ({e}); it may be truncated: rerun the command that wrote it") from None
    if not isinstance(s, dict):
        raise UsageError(f"{path} holds a JSON {type(s).__name__}, not an object: not a trainlab summary")
    return s


def _list_of(s: dict, key: str, kind: type) -> list:
    v = s.get(key)
    return [x for x in v if isinstance(x, kind)] if isinstance(v, list) else []


def table_html(t: dict) -> str:
    cols = t.get("columns") if isinstance(t.get("columns"), list) else []
    rows_in = [r for r in t.get("rows", []) if isinstance(r, list)] if isinstance(t.get("rows"), list) else []
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{fmt_cell(c)}</td>" for c in row) + "</tr>" for row in rows_in)
    cap = f"<caption>{esc(t.get('title', ''))}</caption>" if t.get("title") else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def study_section(folder: Path, title: str | None = None, anchor: str | None = None) -> str:
    """One study's section from its folder: observations, tables, figures, provenance."""
    s = load_summary(folder)
    name = s.get("experiment", folder.name)
    parts = [f'<section id="{esc(anchor or name)}" class="study"><h2>{esc(title or s.get("title", name))}</h2>']
    for note in _list_of(s, "data_notes", str):
        parts.append(f'<p class="note">{esc(note)}</p>')
    key = _list_of(s, "key_findings", str)
    if key:
        parts.append("<h3>Key findings</h3><ul class=\"key\">" + "".join(f"<li>{esc(k)}</li>" for k in key) + "</ul>")
    figures = _list_of(s, "figures", dict)
    first = set(_list_of(s, "key_figures", str))
    figures = [f for f in figures if f.get("file") in first] + [f for f in figures if f.get("file") not in first]
    obs = _list_of(s, "observations", str)
    if obs:
        parts.append("<h3>Observations</h3><ul class=\"obs\">" + "".join(f"<li>{esc(o)}</li>" for o in obs) + "</ul>")
    for t in _list_of(s, "tables", dict):
        parts.append(table_html(t))
    for f in figures:
        p = inside(folder, f.get("file"))
        if p is None:
            parts.append(f'<p class="note">figure {esc(f.get("file"))} skipped: its path is not inside the run folder</p>')
        elif p.is_file():
            parts.append(f"<figure>{_img(p)}<figcaption>{esc(f.get('caption', ''))}</figcaption></figure>")
        else:
            parts.append(f'<p class="note">figure {esc(f.get("file"))} is missing from the folder</p>')
    prov = s.get("provenance")
    if prov:
        parts.append("<details><summary>Provenance</summary><pre>" + esc(json.dumps(prov, indent=2)) + "</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{GENERATOR}"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n")


def lab_page(folder: Path) -> str:
    """The whole lab: an index table, then one section per study in the lab's order."""
    idx = load_summary(folder)
    rows = []
    sections = []
    for st in _list_of(idx, "studies", dict):
        if not isinstance(st.get("name"), str):
            continue
        status = st.get("status", "?")
        cls = "ok" if status in ("ok", "skipped") else "bad"
        rows.append(f"<tr><td><a href=\"#{esc(st['name'])}\">{esc(st.get('title', st['name']))}</a></td>"
                    f"<td class=\"{cls}\">{esc(status)}</td><td>{_num_or_dash(st.get('seconds'))} s</td>"
                    f"<td>{esc(st.get('headline', ''))}</td></tr>")
        sub = inside(folder, st["name"])
        if sub is None:
            sections.append(f'<p class="note">study {esc(st["name"])} skipped: its folder is not inside the lab folder</p>')
        elif status in ("ok", "skipped") and (sub / "summary.json").is_file():
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
    s = load_summary(folder)
    try:
        if s.get("experiment") == "lab":
            text = lab_page(folder)
        else:
            text = page(f"trainlab: {s.get('experiment', folder.name)}", study_section(folder, s.get("title")))
    except RecursionError:
        raise UsageError(f"{folder / 'summary.json'} is nested too deeply to be a trainlab summary") from None
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise UsageError(f"{folder / 'summary.json'} does not have the shape of a trainlab summary ({e!r})") from None
    out = folder / "report.html"
    if out.exists() and read_marker(folder) is None and GENERATOR not in out.read_text(errors="replace")[:2000]:
        raise UsageError(f"{out} exists and was not written by trainlab; move it away to build the report here")
    write_text_atomic(out, text)
    return out
