"""The study registry: a study is one row, registered by its package's ``__init__.py``.

A row names the study's settings class, its ``run`` (train and measure; returns the study's own
results), the functions that put those results into words, and its figures. ``study.run_study``
connects them: settings, device and threads, progress, ``run``, then ``finish()``, which writes
``summary.json`` once. The HTML report is rebuilt from the folder alone, never from live objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from trainlab.experiments.settings import StudySettings


@dataclass
class StudyOptions:
    """How studies run. What they compute is in their settings (``overrides``, ``quick``)."""

    quick: bool = False  # each study's quick() settings: small versions for first looks and CI
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # study -> {setting: value}
    device: str = "auto"
    threads: Optional[int] = None  # None: the study's own default (Study.threads)
    quiet: bool = False  # no progress output
    tensorboard: bool = False

    def overrides_for(self, name: str) -> dict[str, Any]:
        return dict(self.overrides.get(name, {}))


def _no_words(run: Any) -> list:
    return []


@dataclass(frozen=True)
class Study:
    """One row of the registry: everything ``trainlab lab`` needs to run a study and show it.

    ``run(settings, study_run)`` trains and measures, writes its data files into
    ``study_run.folder`` and returns its results (a JSON-able dict: numbers, labels, verdicts).
    The words are computed from the run folder (``report.folder.RunData``): ``observations`` and
    ``tables`` for the report, 3-5 ``key_findings`` it leads with, and a console ``headline``
    (from the summary). ``figures`` are declarations of ``report.figures``; ``key_figures`` names
    the files the report shows first.
    """

    name: str
    title: str  # section heading in the report
    settings: type[StudySettings]
    run: Callable[[Any, Any], dict]
    headline: Callable[[dict], str] = lambda summary: ""
    observations: Callable[[Any], list[str]] = _no_words
    tables: Callable[[Any], list[dict]] = _no_words
    key_findings: Callable[[Any], list[str]] = _no_words
    figures: tuple = ()
    key_figures: tuple[str, ...] = ()
    schema: str = ""  # JSON Schema file name under trainlab/runs/schemas/ ("": not validated)
    schema_version: int = 1
    threads: Optional[int] = None  # default CPU threads for this study (None: torch's default)
    order: int = 100  # position in `lab all` and in the report


STUDIES: dict[str, Study] = {}


def register(study: Study) -> Study:
    """Add a study; its name becomes a `trainlab lab NAME` choice."""
    if study.name in STUDIES:
        raise ValueError(f"study {study.name!r} registered twice")
    STUDIES[study.name] = study
    return study


def ordered() -> list[Study]:
    return sorted(STUDIES.values(), key=lambda s: (s.order, s.name))
