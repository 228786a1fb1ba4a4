"""The numbers of the GD vs SGD study's summary.json: per arm, per-epoch and per-update checkpoints,
and the seed's claims with their verdicts (``experiments.claims``).

Checkpoints are read from each arm's evaluations: "after E epochs" is the evaluation at the end of
epoch E; "after U updates" the last evaluation at or before update U (GD evaluates every update,
mini-batch SGD every few). U is GD's whole run (one update per epoch), so the per-update claim
compares GD's finished training with SGD's first U updates.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from trainlab.data.toy import Dataset
from trainlab.experiments.claims import claim
from trainlab.experiments.gd_vs_sgd.settings import GdVsSgdSettings
from trainlab.experiments.paired import Trained, steps_to
from trainlab.stats import summarize

ARMS = ("sgd", "gd", "gd_scaled")
TARGET_TEST_ACC = 0.95  # "epochs to 95% test accuracy" (the seed's curves pass it within a few epochs)
METRICS = {"train_loss": "train_loss", "test_loss": "val_loss", "train_acc": "train_acc", "test_acc": "val_acc"}


def label(name: str, st: GdVsSgdSettings) -> str:
    return {"sgd": f"mini-batch SGD (B={st.batch_size})", "gd": "GD (full batch)",
            "gd_scaled": f"GD, lr x N/B = {st.scaled_lr:g}"}[name]


def short(name: str) -> str:
    return {"sgd": "SGD", "gd": "GD", "gd_scaled": "GD lr x N/B"}[name]


def at_step(arr: np.ndarray, steps: np.ndarray, step: int) -> np.ndarray:
    """The row of the last evaluation at or before ``step`` (members as columns)."""
    idx = int(np.searchsorted(steps, step, side="right")) - 1
    return arr[max(idx, 0)]


def _per_epoch(t: Trained, st: GdVsSgdSettings) -> int:
    return 1 if t.arm.spec.batch_size is None else st.steps_per_epoch


def arm_block(t: Trained, st: GdVsSgdSettings) -> dict[str, Any]:
    a, steps, pe = t.arrays, t.arrays["steps"], _per_epoch(t, st)
    ends = steps % pe == 0
    epochs_to = steps_to(a["val_acc"][ends], steps[ends] // pe, TARGET_TEST_ACC, below=False)
    reached = [e for e in epochs_to if e is not None]
    return {
        "name": t.arm.name, "label": label(t.arm.name, st),
        "batch_size": t.arm.spec.batch_size or st.n_train, "lr": float(t.arm.hp["lr"][0]),
        "updates": int(t.arm.spec.steps), "updates_per_epoch": pe,
        "final": {k: summarize(a[src][-1]) for k, src in METRICS.items()},
        "early": {"epoch": st.early_epoch, "train_loss": summarize(at_step(a["train_loss"], steps, st.early_epoch * pe)),
                  "test_acc": summarize(at_step(a["val_acc"], steps, st.early_epoch * pe))},
        "at_update": {"update": st.epochs, "train_loss": summarize(at_step(a["train_loss"], steps, st.epochs))},
        "epochs_to_target": {"target": TARGET_TEST_ACC, "epochs": summarize(reached), "reached": len(reached),
                             "of": t.K},
        "frozen": len(t.frozen), "seconds": t.seconds,
    }


def _loss_at(t: Trained, step: int) -> Sequence[float]:
    return at_step(t.arrays["train_loss"], t.arrays["steps"], step).tolist()


def claims(st: GdVsSgdSettings, by: dict[str, Trained]) -> list[dict]:
    """The seed's statements, each a paired comparison with a claimed direction."""
    sgd, gd, scaled = by["sgd"], by["gd"], by["gd_scaled"]
    e, u, spe = st.early_epoch, st.epochs, st.steps_per_epoch
    early = f"train loss after {e} epochs"
    return [
        claim("per_epoch", "Per epoch, mini-batch SGD reaches low loss much more quickly than GD", early, "SGD", "GD",
              _loss_at(sgd, e * spe), _loss_at(gd, e), "negative"),
        claim("per_update", f"Per update the comparison turns: GD's {u} updates get the train loss lower than SGD's "
              f"first {u}", f"train loss after {u} updates", "GD", "SGD", _loss_at(gd, u), _loss_at(sgd, u), "negative"),
        claim("scaled_lr", f"Scaling GD's lr by N/B ({st.lr:g} -> {st.scaled_lr:g}) speeds it up per epoch", early,
              "GD lr x N/B", "GD", _loss_at(scaled, e), _loss_at(gd, e), "negative"),
        claim("sgd_vs_scaled", "Mini-batch SGD stays ahead of GD even with the lr scaled by N/B", early, "SGD",
              "GD lr x N/B", _loss_at(sgd, e * spe), _loss_at(scaled, e), "negative"),
        claim("test_above_train", "Test accuracy is most often higher than train accuracy here",
              f"accuracy after {st.epochs} epochs of mini-batch SGD", "test", "train", sgd.arrays["val_acc"][-1],
              sgd.arrays["train_acc"][-1], "positive", unit="pp"),
    ]


def results(st: GdVsSgdSettings, trained: list[Trained], data: Dataset) -> dict[str, Any]:
    by = {t.arm.name: t for t in trained}
    return {
        "setup": {"data": data.source, "notes": list(data.notes), "n_train": st.n_train, "n_test": st.n_test,
                  "net": f"2-{st.hidden}-2 ReLU, PyTorch default init", "optimizer": "SGD with momentum (torch.optim)",
                  "lr": st.lr, "momentum": st.momentum, "epochs": st.epochs, "batch_size": st.batch_size,
                  "steps_per_epoch": st.steps_per_epoch, "scaled_lr": st.scaled_lr, "seeds": st.seeds,
                  "test_is": "the 20% held out (fit's validation split); never used for any choice"},
        "arms": [arm_block(by[name], st) for name in ARMS],
        "claims": claims(st, by),
    }


def arm(summary: dict, name: str) -> Optional[dict]:
    return next((a for a in summary["arms"] if a["name"] == name), None)
