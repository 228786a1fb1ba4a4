"""``answers.html``: "The lab, answered" and "The student report, checked", for one run folder.

Built from the run folder alone, like the report: ``answers.build`` answers seed 000's questions
from the summaries, ``claims.check_claim`` judges the student report's claims (the YAML file that
ships with trainlab) on the same run. Each figure is embedded once, where it is first cited; later
answers link to it. Self-contained, no scripts, every string escaped (``html.esc``).
"""
from __future__ import annotations

from pathlib import Path

from trainlab.report.answers import Answer, build
from trainlab.report.claims import STUDENT_004, check_claim, fmt_stat, load_claims
from trainlab.report.html import _img, esc, inside, page
from trainlab.report.lookup import Sources
from trainlab.report.verdicts import Check

INTRO = ("Seed 000's assignment in its own order: for each set-up item what was used and each departure from the "
         "assignment; for each question an answer generated from this run's numbers by rules in code, the checks "
         "behind it (each a measured 95% interval judged by a stated rule) and the figures that show it. Then the "
         "claims of the student report (seed 004), each next to what this run measured.")


def _verdict(v: str) -> str:
    return f'<span class="v-{esc(v.replace(" ", "-"))}">{esc(v)}</span>'


def _where(where: tuple) -> str:
    return "/".join(str(w) for w in where)


def _checks_table(checks: list[Check]) -> str:
    rows = []
    for c in checks:
        evidence = "<br>".join(f"{esc(e.label)}: {esc(fmt_stat(e.stat))} <small>({esc(_where(e.where))})</small>"
                               for e in c.evidence)
        rule = esc(c.rule.words()) if c.rule is not None else esc(c.reason)
        rows.append(f"<tr><td>{esc(c.label)}</td><td>{evidence}</td><td>{rule}</td><td>{_verdict(c.verdict)}</td></tr>")
    return ("<table><thead><tr><th>check</th><th>measured (median [95% CI]; where in summary.json)</th><th>rule</th>"
            f"<th>verdict</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


class _Figures:
    """Embeds each figure once; later citations link to the first."""

    def __init__(self, sources: Sources):
        self.sources = sources
        self.shown: set[str] = set()

    def html(self, study: str, file: str) -> str:
        anchor = f"fig-{study}-{file}".replace(".", "-")
        if anchor in self.shown:
            return f'<p><a href="#{esc(anchor)}">See figure {esc(file)} above</a>.</p>'
        folder = self.sources.folders.get(study)
        p = inside(folder, file) if folder is not None else None
        if p is None or not p.is_file():
            return f'<p class="note">figure {esc(file)} is not in this run</p>'
        self.shown.add(anchor)
        caption = next((f.get("caption", "") for f in self.sources.summaries[study].get("figures", [])
                        if isinstance(f, dict) and f.get("file") == file), "")
        return f'<figure id="{esc(anchor)}">{_img(p)}<figcaption>{esc(caption)}</figcaption></figure>'


def _answer_html(a: Answer, figs: _Figures) -> str:
    out = [f'<section id="{esc(a.id)}" class="answer"><h3>{esc(a.item)}</h3><blockquote>{esc(a.question)}</blockquote>']
    if a.missing:
        return "".join(out) + f'<p class="note">{esc(a.missing)}</p></section>'
    out.append("<p>" + " ".join(esc(x) for x in a.sentences) + "</p>")
    if a.details:
        out.append('<ul class="details">' + "".join(f"<li>{esc(d)}</li>" for d in a.details) + "</ul>")
    if a.departures:
        out.append("<p><strong>Departures from the assignment</strong></p><ul class=\"dep\">"
                   + "".join(f"<li>{esc(d)}</li>" for d in a.departures) + "</ul>")
    if a.checks:
        out.append(_checks_table(a.checks))
    out += [f'<p class="note">{esc(n)}</p>' for n in a.notes]
    out += [figs.html(a.study, f) for f in a.figures]
    return "".join(out) + "</section>"


def claims_section(sources: Sources, claims_file: Path = STUDENT_004) -> str:
    """The claims of ``claims_file`` judged on the run, as a table (every string from the file escaped)."""
    name, claims = load_claims(claims_file)
    rows = []
    for c in claims:
        ch = check_claim(sources, c)
        rows.append(f"<tr><td><strong>{esc(c.id)}</strong><br><small>{esc(c.section)}</small><blockquote>"
                    f"{esc(c.quote)}</blockquote></td><td>{esc(ch.reason)}</td><td>{_verdict(ch.verdict)}</td></tr>")
    return (f'<section id="claims"><h2>The student report, checked</h2><p>{esc(name)}: each claim (from '
            f"{esc(claims_file.name)}, shipped with trainlab) next to what this run measured. Confirmed or refuted "
            "when the 95% interval lies on one side of the claim's line, inconclusive when it straddles it, not "
            "comparable when this run did not measure the same thing. <code>trainlab check-claims FILE.yaml RUN_DIR"
            "</code> checks another report's claims the same way.</p><table><thead><tr><th>claim</th><th>measured "
            "(median [95% CI])</th><th>verdict</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def answers_page(folder: Path) -> str:
    """The whole page for a run folder (a ``lab all`` folder or one study's)."""
    return render(Sources.load(Path(folder)))


def claims_page(sources: Sources, claims_file: Path) -> str:
    """A page with one claims file checked on a run (``trainlab check-claims --html``)."""
    return page(f"trainlab: claims of {claims_file.name} checked", claims_section(sources, claims_file))


def render(sources: Sources, claims_file: Path = STUDENT_004) -> str:
    """The answers page for the run's summaries, with ``claims_file``'s claims at the end."""
    answers = build(sources)
    figs = _Figures(sources)
    parts = list(dict.fromkeys(a.part for a in answers))
    toc = "".join(f"<li>{esc(p)}<ol>" + "".join(f'<li><a href="#{esc(a.id)}">{esc(a.item)}</a></li>'
                                                for a in answers if a.part == p) + "</ol></li>" for p in parts)
    toc += '<li><a href="#claims">The student report, checked</a></li>'
    body = ["<h1>The lab, answered</h1>", f'<p><a href="report.html">Back to the full report</a>. {esc(INTRO)}</p>',
            f'<nav class="toc" id="toc"><strong>Contents</strong><ol>{toc}</ol></nav>']
    for p in parts:
        body.append(f"<h2>{esc(p)}</h2>")
        body += [_answer_html(a, figs) for a in answers if a.part == p]
    body.append(claims_section(sources, claims_file))
    return page("trainlab: the lab, answered", "\n".join(body))
