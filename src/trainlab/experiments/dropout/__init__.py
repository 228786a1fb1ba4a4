"""`trainlab lab dropout`: seed 000 Part 3, regularization with dropout, checked rather than produced.

The net is the paper's and the lab's 784-800-800-10 ReLU MLP with dropout on the input and after
each hidden layer, biases zero, AdamW at lr 3e-4. Every (init, dropout variant, seed) is one member
of ONE population, so all variants train in lockstep and comparisons between them are paired over
seeds (``train``). Then:

- MC-dropout ensembles (``ensemble``): one seed per dropout variant, T passes, the error of every
  ensemble size 1..T from one sequence of passes, against the eval-mode (weight-scaling) error on
  the same samples; Srivastava et al. 2014's "~50 samples" is checked;
- the set-up itself (``checks``): loss at init per init reading against ln 10, He init trained next
  to the lab's init, and trainlab.watch findings on an exported member;
- the numbers (``summary``), the words (``text``) and the figures (``figures``), from the folder.

Modules: ``settings``, ``train``, ``ensemble``, ``checks``, ``summary``, ``text``, ``figures``.
"""
from __future__ import annotations

from trainlab.experiments.dropout import figures, text
from trainlab.experiments.dropout.settings import DropoutSettings
from trainlab.experiments.dropout.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 2  # 2: the shared fields of finish() (settings, key_findings, key_figures)

STUDY = register(Study(
    name="dropout", title="Part 3: Regularization with dropout", settings=DropoutSettings, run=run,
    headline=text.headline, observations=text.observations, tables=text.tables, key_findings=text.key_findings,
    figures=figures.FIGURES, key_figures=figures.KEY_FIGURES, schema="dropout.schema.json",
    schema_version=SCHEMA_VERSION, order=30))
