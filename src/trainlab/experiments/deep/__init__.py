"""Part 2 of the lab: initialization of a deep network (``trainlab lab deep``).

Two set-ups, every init x activation pair, one statistics pass each (``measure``):

- ``lab``: the lab's network, 20 layers of 100 units on 10,000 points of the circles data;
- ``report``: the report's (seed 004), 50 layers of 512 units on 2,000 N(0, 1) vectors of
  dimension 512 with random labels of 10 classes (the loss only drives the backward pass).

Each statistic is measured on an untrained network and compared with variance propagation
(``theory``). The lab set-up is then trained (``train``) to ask the question that matters: does it
train? He et al.'s claim (30-layer ReLU: Xavier stalls, He converges) is tested with seeds. The
report's set-up is for statistics only.

Pairs whose weights are identical are computed once and marked ``same_as``: He normal with an
activation gain of 1 (identity, sigmoid, ELU) draws exactly LeCun normal's weights from the same
stream. PReLU and maxout are left out (a learnable slope, several pieces per unit: not the lab's
question). Non-finite statistics are null with a flag (``"overflow"``, ``"nan"``), never dropped.

Modules: ``settings``, ``measure`` (statistics at init), ``theory``, ``train`` (trainability, the
He claim, ``run``), ``summary`` (numbers, diagnoses, verdicts), ``text``, ``figures``.
"""
from __future__ import annotations

from trainlab.experiments.deep import figures, text
from trainlab.experiments.deep.settings import DeepSettings
from trainlab.experiments.deep.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 2  # 2: the shared fields of finish() (settings, key_findings, key_figures)

STUDY = register(Study(
    name="deep", title="Part 2: Initialization of a deep network", settings=DeepSettings, run=run,
    headline=text.headline, observations=text.observations, tables=text.tables, key_findings=text.key_findings,
    figures=figures.FIGURES, key_figures=figures.KEY_FIGURES, schema="deep.schema.json",
    schema_version=SCHEMA_VERSION, order=20))
