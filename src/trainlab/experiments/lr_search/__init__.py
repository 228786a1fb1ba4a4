"""`trainlab lab lr-search`: seed 001's search order and seed 002's coarse to fine, on ``trainlab sweep``.

On seed 001's four data sets (the 5-class Gaussian mixture, circles within circles, XOR, two
moons), two searches per data set, each one sweep of ``trainlab.sweep`` (``searches``): the staged
search (the lr, then depth x activation, then the optimizer, each stage's winner fixed for the
next) and the coarse-to-fine lr search (the grid at a tenth of the steps, then 12 lrs around its
pick at full length). Every stage's winner is reported with its 95% interval over seeds, and the
searches' winners are compared on paired seeds (``summary``); words (``text``) and figures
(``figures``) come from the folder.
"""
from __future__ import annotations

from trainlab.experiments.lr_search import figures, text
from trainlab.experiments.lr_search.settings import LrSearchSettings
from trainlab.experiments.lr_search.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="lr-search", title="Seeds 001 and 002: staged and coarse-to-fine hyperparameter search",
    settings=LrSearchSettings, run=run, headline=text.headline, observations=text.observations, tables=text.tables,
    key_findings=text.key_findings, figures=figures.FIGURES, key_figures=figures.KEY_FIGURES,
    schema="lr-search.schema.json", schema_version=SCHEMA_VERSION, threads=1, order=80))
