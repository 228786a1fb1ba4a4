"""The lab's studies. Each study module registers itself in ``registry.STUDIES`` when imported;
adding a study is one module plus its name in ``STUDY_MODULES``."""
from __future__ import annotations

import importlib

STUDY_MODULES = ("shallow", "deep", "dropout")


def load_all() -> None:
    """Import every study module so that it registers itself."""
    for name in STUDY_MODULES:
        try:
            importlib.import_module(f"trainlab.experiments.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"trainlab.experiments.{name}":
                raise
