"""Augmentation (seed 002): ``trainlab lab augmentation``.

Random shifts of at most 2 pixels in each direction, drawn per image and per step while training
(live, never a precomputed bigger dataset), on the dropout study's MNIST data and split (mnist-5k
when full MNIST is not available offline, which the output and report say). No flips: a mirrored
digit is another symbol or none. Both arms train as one population, paired by seed; the study
reports training and val error with and without shifts, with verdicts on the seed's claims.

Modules: ``settings``, ``train``, ``summary`` (numbers, claims), ``text``, ``figures``; the shift
itself is library code (``trainlab.data.augment``). docs/augmentation.md has the measured findings.
"""
from __future__ import annotations

from trainlab.experiments.augmentation import figures, text
from trainlab.experiments.augmentation.settings import AugmentationSettings
from trainlab.experiments.augmentation.train import run
from trainlab.experiments.registry import Study, register

SCHEMA_VERSION = 1

STUDY = register(Study(
    name="augmentation", title="Data augmentation: random shifts of up to 2 pixels on MNIST",
    settings=AugmentationSettings, run=run, headline=text.headline, observations=text.observations,
    tables=text.tables, key_findings=text.key_findings, figures=figures.FIGURES, key_figures=figures.KEY_FIGURES,
    schema="augmentation.schema.json", schema_version=SCHEMA_VERSION, threads=1, order=70))
