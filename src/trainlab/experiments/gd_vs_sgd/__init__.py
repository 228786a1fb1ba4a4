"""`trainlab lab gd-vs-sgd`: seed 003's gradient descent against mini-batch SGD, in the seed's set-up.

Two moons (1000 samples, noise 0.2, 80/20 split, standardized on the training part), a 2-16-2 ReLU
net, SGD with lr 0.1 and momentum 0.9 for 100 epochs: batches of 32 against the full set (GD), and
GD with the lr scaled by N/B as a third arm, each one population on the same paired seeds
(``train``). The seed notes that a per-epoch comparison is unfair (SGD makes 25 updates an epoch,
GD one), so the study shows the curves per epoch and per update, and tests its statements with
verdicts (``summary``); the words (``text``) and figures (``figures``) come from the folder.
"""
from __future__ import annotations

from trainlab.experiments.gd_vs_sgd import figures, text
from trainlab.experiments.gd_vs_sgd.settings import GdVsSgdSettings
from trainlab.experiments.gd_vs_sgd.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="gd-vs-sgd", title="Seed 003: gradient descent vs mini-batch SGD", settings=GdVsSgdSettings, run=run,
    headline=text.headline, observations=text.observations, tables=text.tables, key_findings=text.key_findings,
    figures=figures.FIGURES, key_figures=figures.KEY_FIGURES, schema="gd-vs-sgd.schema.json",
    schema_version=SCHEMA_VERSION, threads=1, order=50))
