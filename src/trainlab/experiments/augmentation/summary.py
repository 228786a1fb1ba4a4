"""The numbers of the augmentation study's summary.json: per arm over seeds, and the claims.

Errors are fractions (1 - accuracy), measured in eval mode on the original images after the last
epoch. The generalization gap is val error minus training error, per member. Claims compare the
arms seed by seed (``experiments.claims``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.experiments import claims
from trainlab.experiments.augmentation.settings import ARMS, AugmentationSettings
from trainlab.stats import summarize

FINAL = ("train_err", "val_err", "train_loss", "val_loss")


def finals(curves: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Last-epoch values (arms, seeds) and the gap val_err - train_err."""
    out = {k: curves[k][-1] for k in FINAL}
    out["gap"] = out["val_err"] - out["train_err"]
    return out


def results(st: AugmentationSettings, curves: dict[str, np.ndarray], data: Any, cfg: Any, fill: float,
            frozen: list[int]) -> dict[str, Any]:
    """The study's own part of summary.json (finish() adds the words, figures and shared fields)."""
    f = finals(curves)
    arms = [{"name": name, "label": label, "max_shift": st.max_shift if name == "shift" else 0,
             **{k: summarize(f[k][i]) for k in (*FINAL, "gap")}} for i, (name, label) in enumerate(ARMS.items())]
    none, shift = 0, 1
    made = [
        claims.claim("lowers_val_error", "random shifts lower the validation error", "val error", "shifted",
                     "not shifted", f["val_err"][shift], f["val_err"][none], "negative", unit="pp",
                     short="val error"),
        claims.claim("narrows_gap", "random shifts narrow the generalization gap (val error - training error)",
                     "val error - training error", "shifted", "not shifted", f["gap"][shift], f["gap"][none],
                     "negative", unit="pp", short="gap"),
    ]
    fallback = any(n.startswith("auto:") for n in data.notes)
    return {
        "quick": st.preset == "quick",
        "task": {"dataset": data.name, "n_train": len(data.train.y), "n_val": len(data.val.y),
                 "sizes": [data.input_dim, *st.hidden, data.n_classes], "activation": "relu", "init": "kaiming_normal",
                 "optimizer": {"name": "adamw", "lr": st.lr, "weight_decay": st.weight_decay},
                 "batch_size": st.batch_size, "epochs": st.epochs, "steps": cfg.train.steps, "seeds": st.seeds,
                 "max_shift": st.max_shift, "fill": fill, "flips": False},
        "data_source": data.source, "data_notes": list(data.notes), "fallback": fallback,
        "arms": arms, "claims": made, "frozen": frozen,
    }
