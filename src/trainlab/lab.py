"""`trainlab lab`: run the registered studies and write one report.

``lab all`` runs every study into ``DIR/<study>/``, then writes ``DIR/summary.json`` (an index of
the studies) and ``DIR/report.html``. A study whose folder already holds a complete summary is
skipped unless ``force``; a study that fails is recorded with its error and the others still run.
``lab NAME`` runs one study into ``DIR`` itself. Each study's folder and summary are written by
``experiments.study.run_study``; this module only orders, records and reports.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Optional

from trainlab.config import parse_value
from trainlab.env import provenance
from trainlab.errors import UsageError
from trainlab.experiments import load_all
from trainlab.experiments.registry import STUDIES, Study, StudyOptions, ordered
from trainlab.experiments.study import settings_for, run_study
from trainlab.report.html import write_report
from trainlab.runs.io import make_dir, mark_made, read_json, write_json_atomic
from trainlab.runs.schema import validate_summary

INDEX_SCHEMA_VERSION = 1


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


def selected(which: str) -> list[Study]:
    """The studies ``which`` names: all of them in order, or one."""
    load_all()
    return ordered() if which == "all" else [get_study(which)]


def parse_overrides(which: str, items: list[str], implied: tuple[tuple[str, Optional[str | tuple], str, Any], ...] = ()
                    ) -> dict[str, dict[str, Any]]:
    """``key=value`` settings from the command line, per study: ``{study: {setting: value}}``.

    With one study keys are bare (``epochs=40``) or carry that study's name (``dropout.epochs=40``);
    with ``all`` every key names its study. ``implied`` lists settings that options stand for, as
    ``(option, study or None for every study run, setting, value)``: ``--seeds N`` is ``seeds=N``;
    a tuple of studies sets it in each of them that runs (``--dataset``: dropout and augmentation).
    A setting given twice, or one for a study that is not run, is a usage error.
    """
    names = [s.name for s in selected(which)]
    out: dict[str, dict[str, Any]] = {n: {} for n in names}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"setting {item!r} is not key=value (e.g. seeds=8, or dropout.epochs=40 with `lab all`)")
        study, dot, name = key.rpartition(".")
        if not dot and which == "all":
            owners = [s.name for s in selected(which) if key in {f.name for f in fields(s.settings)}] or names[-1:]
            raise UsageError(f"setting {key!r} needs its study with `lab all`, e.g. "
                             f"{' or '.join(f'{s}.{key}={text}' for s in owners)}; studies: {', '.join(names)}")
        study = study if dot else which
        if study not in out:
            raise UsageError(f"setting {key!r}: study {study!r} is not run by `lab {which}`; studies run: "
                             f"{', '.join(names)}")
        out[study][name] = parse_value(text)
    for option, only, name, value in implied:
        owners = [only] if isinstance(only, str) else list(only or names)  # a tuple: every one of them that runs
        for study in [s for s in owners if s in out] or owners[:1]:
            if study not in out:
                raise UsageError(f"{option} is a setting of the {' and '.join(owners)} stud"
                                 f"{'y' if len(owners) == 1 else 'ies'}, which `lab {which}` does not run")
            if name in out[study]:
                raise UsageError(f"{option} and {study}'s setting {name}= both given; give it once")
            out[study][name] = value
    return out


def check_settings(which: str, opts: StudyOptions) -> None:
    """Resolve every selected study's settings now: a bad override exits 2 before any work."""
    for study in selected(which):
        settings_for(study, opts)


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


def run_and_report(study: Study, folder: Path, opts: StudyOptions, force: bool = False) -> StudyOutcome:
    """Run one study into ``folder`` (skipping a finished one) and write its report; a failure
    becomes an outcome, not a crash."""
    if not force and finished(folder, study.name):
        s = read_json(folder / "summary.json")
        return StudyOutcome(study.name, study.title, "skipped", float(s.get("seconds", 0.0) or 0.0),
                            _headline(study, s))
    t0 = time.perf_counter()
    try:
        summary = run_study(study, folder, opts)
        if study.schema:
            validate_summary(summary, study.schema)
        write_report(folder)
        if opts.tensorboard:
            from trainlab.tensorboard import export_study_curves

            export_study_curves(folder)
        return StudyOutcome(study.name, study.title, "ok", summary["seconds"], _headline(study, summary))
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
        return [run_and_report(get_study(which), out, opts, force)]
    studies = selected("all")
    make_dir(out, "lab")
    outcomes: list[StudyOutcome] = []
    t0 = time.perf_counter()
    for study in studies:
        if console is not None and not opts.quiet:
            console.print(f"[bold]{study.title}[/bold]")
        t_study = time.perf_counter()
        try:
            outcomes.append(run_and_report(study, out / study.name, opts, force))
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
        "schema_version": INDEX_SCHEMA_VERSION,
        "experiment": "lab",
        "title": "trainlab lab report" + (" (quick)" if opts.quick else ""),
        "quick": opts.quick,
        "studies": [o.to_json() for o in outcomes],
        "seconds": seconds,
        "provenance": provenance(opts.device) | {"options": {"quick": opts.quick, "settings": opts.overrides}},
    })
