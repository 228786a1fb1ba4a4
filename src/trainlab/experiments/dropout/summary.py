"""The numbers of the dropout study's summary.json: per-variant statistics over seeds, ensembles,
the set-up checks, and ``results()`` around them.

Statistics over seeds are ``{median, lo, hi, n}`` (trainlab.stats) and errors are fractions. What
the words pair over seeds (each seed's train and val error at its best epoch) comes from the
stored curves by ``per_seed``, the same function for the summary and for the text.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from trainlab.experiments.dropout.settings import INIT_CHOICES, VARIANTS, DropoutSettings
from trainlab.stats import summarize


def best_rows(curves: dict[str, np.ndarray], steps_per_epoch: int) -> np.ndarray:
    """Per member: the row of the curves at its best epoch."""
    return np.searchsorted(curves["steps"], curves["best_epoch"] * steps_per_epoch)


def per_seed(curves: dict[str, np.ndarray], steps_per_epoch: int, groups: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """Per group key (``init__variant``): train and val error of each seed at its best epoch, and the gap."""
    rows = best_rows(curves, steps_per_epoch)
    out = {}
    for g in groups:
        ids = g["members"]
        tr = np.asarray([curves["train_error"][rows[k], k] for k in ids])
        va = np.asarray([curves["val_error"][rows[k], k] for k in ids])
        out[f"{g['init']}__{g['variant']}"] = {"train": tr, "val": va, "gap": va - tr}
    return out


def _ensemble(e: dict, n_mc: int, sizes: list[int]) -> dict[str, Any]:
    errs = e["errors"]
    hit = np.flatnonzero(errs <= e["eval_mode_error"])
    return {"ensemble_error": {str(s): float(errs[s - 1]) for s in sizes},
            "ensemble": {"member": e["member"], "seed": e["seed"], "samples": n_mc, "t_max": int(len(errs)),
                         "eval_mode_error": e["eval_mode_error"],
                         "reaches_eval_mode_at": int(hit[0] + 1) if hit.size else None,
                         "best_size": int(np.argmin(errs) + 1), "best_error": float(errs.min()),
                         "seconds": e["seconds"]}}


def variant_entries(st: DropoutSettings, groups, curves: dict[str, np.ndarray], steps_per_epoch: int,
                    mc_eval_err: np.ndarray, test_err: Optional[np.ndarray], ensembles: list[dict], n_mc: int,
                    loss_dropout_on: np.ndarray) -> list[dict]:
    """The ``variants`` list: one entry per (init, variant), statistics over its seeds."""
    rows = best_rows(curves, steps_per_epoch)
    raw = per_seed(curves, steps_per_epoch, [{"init": g.init, "variant": g.variant, "members": g.members}
                                             for g in groups])
    by_group = {e["group"]: e for e in ensembles}
    entries = []
    for g in groups:
        v, ids, r = VARIANTS[g.variant], g.members, raw[g.key]
        entry = {
            "name": v.name, "label": v.label, "init": g.init, "p_input": v.p_input, "p_hidden": v.p_hidden,
            "members": ids,
            "loss_at_init": summarize(curves["train_loss"][0, ids]),
            "loss_at_init_dropout_on": summarize(loss_dropout_on[ids]),
            "best_epoch": summarize(curves["best_epoch"][ids].astype(np.float64)),
            "train_error": summarize(r["train"]), "val_error": summarize(r["val"]), "gap": summarize(r["gap"]),
            "val_loss": summarize(np.asarray([curves["val_loss"][rows[k], k] for k in ids], dtype=np.float64)),
            "final_train_error": summarize(curves["train_error"][-1, ids]),
            "final_val_error": summarize(curves["val_error"][-1, ids]),
            "eval_mode_error": summarize(mc_eval_err[ids]),
            "ensemble_error": {}, "ensemble": None,
        }
        if test_err is not None:
            entry["test_error"] = summarize(test_err[ids])
        if g.key in by_group:
            entry |= _ensemble(by_group[g.key], n_mc, st.ensemble_sizes())
        elif not v.stochastic:
            entry["ensemble_skipped"] = "no dropout: every pass is the same deterministic net"
        else:
            entry["ensemble_skipped"] = f"init {g.init!r} not in mc_inits {list(st.mc_inits)}"
        entries.append(entry)
    return entries


def results(*, st: DropoutSettings, dataset, groups, curves, trained, mc_eval_err, n_mc, test_err, ensembles,
            checks) -> dict[str, Any]:
    """The study's own part of summary.json (finish() adds the words, figures and shared fields)."""
    variants = variant_entries(st, groups, curves, trained.steps_per_epoch, mc_eval_err, test_err, ensembles, n_mc,
                               checks["loss_dropout_on"])
    return {
        "quick": st.preset == "quick", "data_source": dataset.source, "data_notes": list(dataset.notes),
        "data_fallback": any("fell back" in n for n in dataset.notes),
        "train_size": int(len(dataset.train.y)), "val_size": int(len(dataset.val.y)),
        "test_size": int(len(dataset.test.y)) if test_err is not None else None,
        "n_classes": int(dataset.n_classes), "ln_n_classes": math.log(dataset.n_classes),
        "network": {"sizes": trained.best_model.sizes, "activation": "relu", "bias_init": "zeros",
                    "dropout": "inverted; on the input and after each hidden layer"},
        "training": {"optimizer": "adamw", "lr": st.lr, "weight_decay": st.weight_decay,
                     "batch_size": st.batch_size, "epochs": st.epochs,
                     "steps_per_epoch": trained.steps_per_epoch, "seeds": st.seeds,
                     "best_epoch_rule": "lowest val error (eval mode); ties: lower val loss, then earlier"},
        "inits": {k: INIT_CHOICES[k].to_json() for k in dict.fromkeys(st.inits + st.init_readings)},
        "ensemble_settings": {"t_max": st.t_max, "samples": n_mc, "seed_index": 0,
                              "inits": list(st.mc_inits), "sizes": st.ensemble_sizes(),
                              "logits": "averaged over passes, then argmax"},
        "variants": variants, "init_check": checks["loss_at_init"], "watch": checks["watch"],
    }
