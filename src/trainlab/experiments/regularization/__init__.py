"""Regularization (seeds 002 and 003): ``trainlab lab regularization``.

An overfitting task (50 noisy two-moons points, a 2-256-256-2 net) and eight regularizers, each
swept over a log range of strengths: the L2 penalty in the loss, SGD's coupled weight decay, L1,
elastic net, max-norm (a per-member bound c, projected after every step), dropout, and Adam + L2
against AdamW's decoupled decay. Arms that share an optimizer train as one population, members
paired by seed. The seeds' claims get verdicts from paired differences on a held-out split.

Modules: ``settings`` (the arms table), ``train``, ``summary`` (numbers, claims), ``text``,
``figures``. docs/regularization.md has the measured findings.
"""
from __future__ import annotations

from trainlab.experiments.registry import Study, register
from trainlab.experiments.regularization import figures, text
from trainlab.experiments.regularization.settings import RegularizationSettings
from trainlab.experiments.regularization.train import run

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="regularization", title="Regularization: L2, weight decay, L1, elastic net, max-norm, dropout, AdamW",
    settings=RegularizationSettings, run=run, headline=text.headline, observations=text.observations,
    tables=text.tables, key_findings=text.key_findings, figures=figures.FIGURES, key_figures=figures.KEY_FIGURES,
    schema="regularization.schema.json", schema_version=SCHEMA_VERSION, threads=1, order=55))
