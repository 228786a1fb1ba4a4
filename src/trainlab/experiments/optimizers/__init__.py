"""`trainlab lab optimizers`: seed 001's optimizers, norms and set-ups, measured with seeds.

SGD, momentum, Nesterov, RMSProp, Adam and AdamW on four 2-D data sets (the 5-class Gaussian
mixture, circles within circles, XOR, two moons): each at its own best lr (a short log-grid search
per optimizer and data set) and all at a shared lr of 0.01, He against Xavier init, one
population per optimizer with paired seeds (``train``). Per optimizer: steps until the median train
loss falls to 0.1, final loss and validation accuracy, per-layer gradient and weight norms over
training. Seed 001's claims are tested with verdicts (``summary``): Adam converges faster; norms
rise, then fall to almost 0; one hidden layer of 4 stays below 80% while two pass 90%; and the
seed's MSE + sigmoid against cross-entropy on XOR, with the saturated sigmoid measured
(``seed_setups``). Words (``text``) and figures (``figures``) come from the folder.
"""
from __future__ import annotations

from trainlab.experiments.optimizers import figures, text
from trainlab.experiments.optimizers.settings import OptimizersSettings
from trainlab.experiments.optimizers.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="optimizers", title="Seed 001: optimizers, norms over training, and the seed's set-ups",
    settings=OptimizersSettings, run=run, headline=text.headline, observations=text.observations,
    tables=text.tables, key_findings=text.key_findings, figures=figures.FIGURES, key_figures=figures.KEY_FIGURES,
    schema="optimizers.schema.json", schema_version=SCHEMA_VERSION, threads=1, order=40))
