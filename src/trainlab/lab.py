"""`trainlab lab`: run the registered studies and write one report.

``lab all`` runs every study into ``DIR/<study>/``, then writes ``DIR/summary.json`` (an index of
the studies) and ``DIR/report.html``. A study whose folder already holds a complete summary is
skipped unless ``force``; a study that fails is recorded with its error and the others still run.
``lab NAME`` runs one study into ``DIR`` itself.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from trainlab import interrupts
from trainlab.env import provenance
from trainlab.errors import UsageError
from trainlab.experiments import load_all
from trainlab.experiments.registry import STUDIES, Study, StudyOptions, ordered
from trainlab.report.html import write_report
from trainlab.runs.io import make_dir, mark_made, read_json, write_json_atomic
from trainlab.runs.schema import validate_summary


@dataclass
class StudyOutcome:
    name: str
    title: str
    status: str  # "ok", "skipped" (already finished), "failed", "interrupted" (redone on the next run)
    seconds: float
    headline: str = ""
    error: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": self.status, "seconds": self.seconds,
                "headline": self.headline, "error": self.error}


def study_names() -> list[str]:
    load_all()
    return [s.name for s in ordered()]


def get_study(name: str) -> Study:
    load_all()
    if name not in STUDIES:
        raise UsageError(f"unknown study {name!r}; valid: all, {', '.join(study_names())}")
    return STUDIES[name]


def finished(folder: Path, name: str) -> bool:
    """A study folder is finished when its summary exists, names the study and is not interrupted."""
    p = folder / "summary.json"
    if not p.is_file():
        return False
    try:
        s = read_json(p)
    except (OSError, ValueError):
        return False
    return isinstance(s, dict) and s.get("experiment") == name and s.get("status", "ok") != "interrupted"


def run_study(study: Study, folder: Path, opts: StudyOptions, force: bool = False, console=None) -> StudyOutcome:
    """Run one study into ``folder`` (skipping a finished one); failures become an outcome, not a crash."""
    if not force and finished(folder, study.name):
        s = read_json(folder / "summary.json")
        return StudyOutcome(study.name, study.title, "skipped", float(s.get("seconds", 0.0) or 0.0),
                            _headline(study, s))
    t0 = time.perf_counter()
    seen = interrupts.count()
    try:
        summary = study.run(folder, opts)
        if interrupts.count() != seen:  # a fit inside returned early: nothing cut short is recorded as ok
            raise KeyboardInterrupt
        validate_summary(summary, study.schema)
        secs = time.perf_counter() - t0
        missing = {"seconds": secs, "title": study.title}  # for the report and for skips, when the study left them out
        missing = {k: v for k, v in missing.items() if summary.get(k) is None}
        if missing:
            summary = read_json(folder / "summary.json") | missing
            write_json_atomic(folder / "summary.json", summary)
        write_report(folder)
        if opts.tensorboard:
            from trainlab.tensorboard import export_study_curves

            export_study_curves(folder)
        return StudyOutcome(study.name, study.title, "ok", secs, _headline(study, summary))
    except KeyboardInterrupt:
        raise
    except UsageError as e:
        return StudyOutcome(study.name, study.title, "failed", time.perf_counter() - t0, error=str(e))
    except Exception as e:  # noqa: BLE001 - a failed study is reported, the others go on
        tb = traceback.format_exc(limit=6)
        return StudyOutcome(study.name, study.title, "failed", time.perf_counter() - t0, error=f"{e!r}\n{tb}")


def _headline(study: Study, summary: dict) -> str:
    try:
        return study.headline(summary)
    except Exception as e:  # noqa: BLE001 - a headline must never fail the run
        return f"(headline unavailable: {e!r})"


def run_lab(which: str, out: Path, opts: StudyOptions, force: bool = False, console=None) -> list[StudyOutcome]:
    """``which`` = "all" or a study name. Returns the outcomes in order."""
    out = Path(out)
    if which != "all":
        study = get_study(which)
        return [run_study(study, out, opts, force, console)]
    load_all()
    make_dir(out, "lab")
    outcomes = []
    t0 = time.perf_counter()
    for study in ordered():
        if console is not None and not opts.quiet:
            console.print(f"[bold]{study.title}[/bold]")
        t_study = time.perf_counter()
        try:
            outcomes.append(run_study(study, out / study.name, opts, force, console))
        except KeyboardInterrupt:
            outcomes.append(StudyOutcome(study.name, study.title, "interrupted", time.perf_counter() - t_study,
                                         error="interrupted (Ctrl-C); the next run into this folder redoes it"))
            write_index(out, outcomes, opts, time.perf_counter() - t0)
            raise
        write_index(out, outcomes, opts, time.perf_counter() - t0)  # the index is current after every study
    write_report(out)
    return outcomes


def write_index(out: Path, outcomes: list[StudyOutcome], opts: StudyOptions, seconds: float) -> None:
    mark_made(out, "lab", "summary.json", *(o.name for o in outcomes))
    write_json_atomic(out / "summary.json", {
        "schema_version": 1,
        "experiment": "lab",
        "title": "trainlab lab report" + (" (quick)" if opts.quick else ""),
        "quick": opts.quick,
        "studies": [o.to_json() for o in outcomes],
        "seconds": seconds,
        "provenance": provenance(opts.device) | {"options": {"quick": opts.quick, "seeds": opts.seeds,
                                                            "dataset": opts.dataset, "test": opts.test}},
    })
