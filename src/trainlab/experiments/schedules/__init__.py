"""`trainlab lab schedules`: seed 002's learning-rate schedules side by side.

Constant, step, exponential, 1/t, sqrt(1 - t/T) and cosine (``trainlab.schedules``: plain
functions step -> factor), each one population of the same 2-32-32-2 ReLU net on the same two
moons data, with SGD + momentum on mini-batches and the same paired seeds (``train``). Each decaying
schedule is tested against the constant lr on the final train and validation loss (``summary``);
the words (``text``) and figures (``figures``: the schedules next to the loss curves, and the
per-layer norms) come from the folder.
"""
from __future__ import annotations

from trainlab.experiments.registry import Study, register
from trainlab.experiments.schedules import figures, text
from trainlab.experiments.schedules.settings import SchedulesSettings
from trainlab.experiments.schedules.train import run

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="schedules", title="Seed 002: learning-rate schedules", settings=SchedulesSettings, run=run,
    headline=text.headline, observations=text.observations, tables=text.tables, key_findings=text.key_findings,
    figures=figures.FIGURES, key_figures=figures.KEY_FIGURES, schema="schedules.schema.json",
    schema_version=SCHEMA_VERSION, threads=1, order=60))
