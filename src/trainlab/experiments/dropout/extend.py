"""With He init, is the best epoch still the last one? If so, a He-only run long enough to find it.

The main run trains every variant for ``epochs`` epochs. A member whose lowest val error falls on
the last epoch was still improving, so its "best epoch" is only a lower bound and the comparison
between variants is one of unfinished runs. For the He init this module counts, per variant, the
seeds whose best epoch is the last; where that is at least half of them, it trains those variants
again, He only, on ``he_seeds`` seeds for up to ``he_epochs`` epochs, and stops once every member
is ``he_patience`` epochs past its best (``PatienceStop``). A member's best epoch is "found" when
it lies at least ``he_patience`` epochs before the end of that run.

Members keep their seeds, so the first ``epochs`` epochs of the long run repeat the main run's
exactly (same init, shuffles and masks).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Optional

import numpy as np
import torch

from trainlab.experiments.dropout.checks import init_values
from trainlab.experiments.dropout.ensemble import BestEpoch
from trainlab.experiments.dropout.settings import VARIANTS, DropoutSettings
from trainlab.loop import FitState, Reason, Stop
from trainlab.members import Member
from trainlab.stats import summarize


class PatienceStop:
    """A fit callback listed after its ``BestEpoch``: stop once every member is ``patience`` epochs past its best."""

    def __init__(self, tracker: BestEpoch, patience: int):
        self.tracker, self.patience = tracker, patience

    def on_eval(self, state: FitState) -> Optional[Stop]:
        if self.tracker.epoch is None:
            return None
        epoch = state.history.steps[-1] // self.tracker.steps_per_epoch
        if bool(((epoch - self.tracker.epoch) >= self.patience).all()):
            return Stop(Reason.EARLY_STOP, f"every member is {self.patience} epochs past its best at epoch {epoch}")
        return None


def best_is_last(groups, curves: dict[str, np.ndarray], init: str = "he") -> dict[str, int]:
    """Per variant of ``init``: how many seeds have their best epoch at the last epoch."""
    last = int(curves["epoch"][-1])
    return {g.variant: int(np.sum(curves["best_epoch"][g.members] == last)) for g in groups if g.init == init}


def _skip(reason: str, counts: dict[str, int], st: DropoutSettings) -> dict[str, Any]:
    return {"ran": False, "reason": reason, "last_epoch": st.epochs, "seeds_main": st.seeds, "best_is_last": counts}


def he_extension(st: DropoutSettings, dataset, groups, curves: dict[str, np.ndarray], device: torch.device,
                 train_members, base_config, sr) -> tuple[dict[str, Any], Optional[dict[str, np.ndarray]]]:
    """The He-only long run where He's best epoch is still the last: (summary block, curves to store)."""
    if "he" not in st.inits:
        return _skip("the He init was not trained (inits)", {}, st), None
    counts = best_is_last(groups, curves)
    wanted = [v for v, n in counts.items() if 2 * n >= st.seeds]
    if not wanted:
        return _skip("no He variant has its best epoch at the last epoch in half of its seeds", counts, st), None
    if st.he_epochs <= st.epochs:
        return _skip(f"he_epochs = {st.he_epochs} is not beyond the {st.epochs} epochs already trained", counts, st), None
    members = [Member(i, s, init_values("he", VARIANTS[v].p_input, VARIANTS[v].p_hidden))
               for i, (v, s) in enumerate((v, s) for v in wanted for s in range(st.he_seeds))]
    cfg = base_config(replace(st, epochs=st.he_epochs, seeds=st.he_seeds), len(dataset.train.y))
    t0 = time.perf_counter()
    advance = sr.task(f"He only: {len(members)} members up to {st.he_epochs} epochs", cfg.train.steps)
    trained = train_members(cfg, dataset, members, device, advance, patience=st.he_patience)
    epochs = trained.arrays["steps"] // trained.steps_per_epoch
    val_error = 1.0 - trained.arrays["val_acc"]
    run_to = int(epochs[-1])
    rows = []
    for j, v in enumerate(wanted):
        ids = list(range(j * st.he_seeds, (j + 1) * st.he_seeds))
        best = trained.best_epoch[ids]
        at_best = [val_error[int(np.searchsorted(epochs, b)), k] for b, k in zip(best, ids)]
        rows.append({"variant": v, "label": VARIANTS[v].label, "members": ids,
                     "best_epoch": summarize(best.astype(np.float64)), "best_epochs": best.tolist(),
                     "val_error_at_best": summarize(at_best),
                     "found": int(np.sum(best <= run_to - st.he_patience)), "seeds": st.he_seeds})
    block = {"ran": True, "reason": f"best epoch at the last of {st.epochs} epochs in at least half the seeds of: "
                                    + ", ".join(wanted),
             "last_epoch": st.epochs, "seeds_main": st.seeds, "best_is_last": counts, "epochs_cap": st.he_epochs,
             "seeds": st.he_seeds, "patience": st.he_patience, "epochs_run": run_to,
             "stopped_early": run_to < st.he_epochs, "variants": rows, "seconds": time.perf_counter() - t0}
    stored = {"epoch": epochs, "val_error": val_error, "train_error": 1.0 - trained.arrays["train_acc"],
              "best_epoch": trained.best_epoch}
    return block, stored
