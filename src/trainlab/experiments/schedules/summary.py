"""The numbers of the schedules study's summary.json: per schedule, the end of training over seeds,
and two claims per decaying schedule against the constant lr, paired over seeds.

Claims (``experiments.claims``), for each schedule other than ``constant``:

- ``train``: decaying the lr ends training with a lower train loss than a constant lr (mini-batch
  noise keeps a constant lr off the bottom);
- ``val``: ... and with a lower validation loss (whether the lower train loss carries over).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from trainlab.data.toy import Dataset
from trainlab.experiments.claims import claim
from trainlab.experiments.paired import Trained
from trainlab.experiments.schedules.settings import LABELS, SchedulesSettings
from trainlab.stats import summarize

FINAL = {"train_loss": "train_loss", "val_loss": "val_loss", "train_acc": "train_acc", "val_acc": "val_acc"}


def schedule_block(t: Trained, st: SchedulesSettings) -> dict[str, Any]:
    a = t.arrays
    factors = np.array([t.arm.schedule(i) for i in range(st.steps)])
    return {
        "name": t.arm.name, "label": LABELS[t.arm.name], "params": st.schedule_params(t.arm.name),
        "final_factor": float(factors[-1]), "mean_factor": float(factors.mean()),
        "final": {k: summarize(a[src][-1]) for k, src in FINAL.items()},
        "best_val_loss": summarize(np.nanmin(np.where(np.isfinite(a["val_loss"]), a["val_loss"], np.nan), axis=0)),
        "frozen": len(t.frozen), "seconds": t.seconds,
    }


def claims(trained: dict[str, Trained]) -> list[dict]:
    base = trained["constant"].arrays
    out = []
    for name, t in trained.items():
        if name == "constant":
            continue
        out.append(claim(f"train/{name}", f"Decaying the lr ({LABELS[name]}) ends with a lower train loss than a "
                         "constant lr", "final train loss", LABELS[name], "constant", t.arrays["train_loss"][-1],
                         base["train_loss"][-1], "negative"))
        out.append(claim(f"val/{name}", f"Decaying the lr ({LABELS[name]}) ends with a lower validation loss than a "
                         "constant lr", "final validation loss", LABELS[name], "constant", t.arrays["val_loss"][-1],
                         base["val_loss"][-1], "negative"))
    return out


def results(st: SchedulesSettings, trained: list[Trained], data: Dataset) -> dict[str, Any]:
    by = {t.arm.name: t for t in trained}
    return {
        "setup": {"data": data.source, "n_train": st.n_train, "n_val": st.n_val,
                  "net": f"2-{'-'.join(map(str, st.hidden))}-2 ReLU, He (kaiming normal) init",
                  "optimizer": f"SGD with momentum {st.momentum:g} (torch.optim), batches of {st.batch_size}",
                  "lr": st.lr, "steps": st.steps, "seeds": st.seeds},
        "schedules": [schedule_block(by[name], st) for name in st.schedules],
        "claims": claims(by),
    }


def schedule(summary: dict, name: str) -> Optional[dict]:
    return next((s for s in summary["schedules"] if s["name"] == name), None)
