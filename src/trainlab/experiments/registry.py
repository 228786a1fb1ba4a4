"""The study registry: adding a study to `trainlab lab` is one ``register`` call.

A study is a function that runs the experiment into a folder and returns its summary. The folder
then holds everything a report needs: ``summary.json`` (with ``experiment``, ``schema_version``,
``figures`` [{file, caption}], ``observations`` [str, computed from the results], ``tables``
[{title, columns, rows}], ``provenance``), and the figure files. The HTML report is rebuilt from
that folder alone, never from live objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass
class StudyOptions:
    """Options every study understands; a study ignores what does not apply to it."""

    quick: bool = False  # small version for first looks and CI
    seeds: Optional[int] = None  # None: the study's default
    device: str = "auto"
    threads: Optional[int] = None
    quiet: bool = False  # no progress bars
    test: bool = False  # evaluate on the test split (dropout study)
    dataset: str = "auto"  # image dataset for the dropout study
    data_dir: Optional[str] = None
    tensorboard: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Study:
    """One row of the registry."""

    name: str
    title: str  # section heading in the report
    run: Callable[[Path, StudyOptions], dict]  # writes into the folder, returns the summary
    schema: str  # JSON Schema file name under trainlab/schemas/
    headline: Callable[[dict], str]  # one line for the console table, from the summary
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
