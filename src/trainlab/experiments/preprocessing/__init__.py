"""Preprocessing (seed 002): ``trainlab lab preprocessing``.

10-D Gaussian classes whose input covariance has condition number about 1e3 (correlated, badly
scaled features, offset from 0), trained by gradient descent after each of five transforms fitted
on the training split: none, centering, standardizing, PCA and whitening. Each transform is
trained at every learning rate of a grid and compared at its best; the study reports the steps to
a target training loss and the condition number after each transform.

Modules: ``settings`` (the transforms table), ``data`` (the badly conditioned classes), ``train``,
``summary`` (numbers, claims), ``text``, ``figures``. docs/preprocessing.md has the measured findings.
"""
from __future__ import annotations

from trainlab.experiments.preprocessing import figures, text
from trainlab.experiments.preprocessing.settings import PreprocessingSettings
from trainlab.experiments.preprocessing.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="preprocessing", title="Preprocessing: centering, standardizing, PCA and whitening under gradient descent",
    settings=PreprocessingSettings, run=run, headline=text.headline, observations=text.observations,
    tables=text.tables, key_findings=text.key_findings, figures=figures.FIGURES, key_figures=figures.KEY_FIGURES,
    schema="preprocessing.schema.json", schema_version=SCHEMA_VERSION, threads=1, order=65))
