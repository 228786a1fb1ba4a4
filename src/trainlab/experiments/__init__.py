"""The lab's studies: one package per study, each ``settings.py``, ``train.py``, ``summary.py``,
``text.py`` and ``figures.py`` plus what is its own. A package's ``__init__.py`` registers the study
(``registry.register``); adding a study is one package plus its name in ``STUDY_PACKAGES``.
docs/architecture.md says how.
"""
from __future__ import annotations

import importlib

STUDY_PACKAGES = ("shallow", "deep", "dropout", "optimizers", "gd_vs_sgd", "regularization", "schedules", "preprocessing",
                  "augmentation", "lr_search")


def load_all() -> None:
    """Import every study package so that it registers itself."""
    for name in STUDY_PACKAGES:
        importlib.import_module(f"trainlab.experiments.{name}")
