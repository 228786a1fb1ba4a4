"""The numbers of the shallow study's summary.json, from the trained populations: ``results()``.

Every statistic over seeds is ``{median, lo, hi, n}`` (``trainlab.stats.summarize``); every
comparison between two groups is paired over seeds (``paired_difference``), since group members
with the same seed index share their random streams.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import torch

from trainlab.experiments.shallow.populations import (
    ACTIVATION, HIDDEN, REPORT_VALUES, SCHEME_PAIRS, SCHEMES, VARIANT_INITS, VARIANT_N_TEST, SeedGroup,
    layer_stds)
from trainlab.experiments.shallow.regimes import LN2, PLATEAU_TOL, criteria_json, majority, pick_representatives
from trainlab.experiments.shallow.settings import SIGMA_REF, ShallowSettings
from trainlab.losses import cross_entropy
from trainlab.members import Member
from trainlab.runner import build_population
from trainlab.stats import paired_difference, summarize

if TYPE_CHECKING:
    from trainlab.experiments.shallow.train import TrainedPopulation

PAIRED_METRICS = ("val_acc", "final_train_loss")  # compared between groups, paired over seeds
METRICS = ("loss_at_init", "val_acc", "val_loss", "final_train_loss", "dead_units_init", "dead_units_end",
           "weight_change")


class Results:
    """The trained populations, looked up by group name."""

    def __init__(self, trained: list[TrainedPopulation]):
        self.trained = {t.plan.name: t for t in trained}
        self.groups: dict[str, tuple[TrainedPopulation, SeedGroup]] = {}
        for t in trained:
            for g in t.plan.groups:
                self.groups[g.name] = (t, g)

    def of_kind(self, kind: str) -> list[tuple[TrainedPopulation, SeedGroup]]:
        return [(t, g) for t, g in self.groups.values() if g.kind == kind]

    def values(self, name: str, key: str) -> np.ndarray:
        t, g = self.groups[name]
        return t.stat_values(key, g.members)


def group_metrics(t: TrainedPopulation, g: SeedGroup) -> dict[str, Any]:
    """Regime (majority over seeds, share and counts) and the metrics of one group."""
    regime, share, counts = majority([t.regimes[j] for j in g.members])
    left = [t.leave_steps[j] for j in g.members if t.leave_steps[j] is not None]
    out: dict[str, Any] = {"regime": regime, "regime_share": share, "regime_counts": counts}
    out |= {key: summarize(t.stat_values(key, g.members)) for key in METRICS}
    out["leave_step"] = summarize(left)  # n = seeds that left their initial plateau
    out["frozen"] = int(t.frozen[g.members].sum())
    return out


def sigma_rows(res: Results) -> list[dict[str, Any]]:
    rows = []
    for t, g in sorted(res.of_kind("sigma"), key=lambda tg: tg[1].meta["sigma"]):
        m = group_metrics(t, g)
        m["loss_at_init_departs"] = bool(m["loss_at_init"]["median"] is not None
                                         and abs(m["loss_at_init"]["median"] - LN2) > PLATEAU_TOL)
        rows.append({"sigma": g.meta["sigma"], **m})
    return rows


def picks(rows: list[dict[str, Any]]) -> dict[str, Optional[float]]:
    return pick_representatives([{"sigma": r["sigma"], "regime": r["regime"], "regime_share": r["regime_share"],
                                  "val_acc_median": r["val_acc"]["median"]} for r in rows])


def _paired(res: Results, a: str, b: str, key: str = "val_acc") -> dict[str, Any]:
    return paired_difference(res.values(a, key), res.values(b, key))


def scheme_rows(res: Results, good: Optional[float]) -> list[dict[str, Any]]:
    good_name = f"sigma={good:g}" if good is not None else None
    rows = []
    for scheme, label in SCHEMES.items():
        t, g = res.groups[scheme]
        row = {"name": scheme, "label": label, "layer_std": layer_stds(scheme), **group_metrics(t, g)}
        if good_name is not None:
            row["vs_good_sigma"] = {"sigma": good, "val_acc_diff": _paired(res, scheme, good_name)}
        rows.append(row)
    return rows


def compared_pairs(good: Optional[float]) -> list[tuple[str, str]]:
    """He vs Glorot, normal vs uniform, Glorot vs the fixed sigma and vs the picked good sigma."""
    pairs = list(SCHEME_PAIRS) + ([("xavier_normal", f"sigma={good:g}")] if good is not None else [])
    return list(dict.fromkeys(pairs))


def paired_rows(res: Results, good: Optional[float]) -> list[dict[str, Any]]:
    """Every compared pair and metric: a - b over seeds."""
    return [{"a": a, "b": b, "metric": key, "diff": _paired(res, a, b, key)}
            for a, b in compared_pairs(good) for key in PAIRED_METRICS]


def _interp_sweep(rows: list[dict[str, Any]], sigma: float, key: str) -> Optional[float]:
    """The sweep's median ``key`` at ``sigma``, linear in log sigma between grid points (None outside)."""
    xs = np.log([r["sigma"] for r in rows])
    ys = np.asarray([np.nan if r[key]["median"] is None else r[key]["median"] for r in rows], dtype=np.float64)
    if not xs[0] <= math.log(sigma) <= xs[-1]:
        return None
    v = float(np.interp(math.log(sigma), xs, ys))
    return v if math.isfinite(v) else None


def equivalent_init_loss(t: TrainedPopulation, g: SeedGroup, sigma: float) -> np.ndarray:
    """Loss at init of the group's seeds re-initialized with std ``sigma`` on unscaled inputs.

    With zero biases a ReLU net is positively homogeneous, so inputs x f with std s give the very
    logits of std s * f^(1/3) (each of the 3 weight layers scaled by f^(1/3)); this measures it."""
    members = [Member(i, t.plan.members[j].seed, {"model.init.std": sigma}) for i, j in enumerate(g.members)]
    model = build_population(t.plan.cfg, members, t.train_x.shape[1], int(t.train_y.max()) + 1)
    with torch.no_grad():
        loss = cross_entropy(model(torch.as_tensor(t.train_x)), torch.as_tensor(t.train_y))
    return loss.numpy().astype(np.float64)


def scaling_rows(res: Results, rows: list[dict[str, Any]], st: ShallowSettings) -> list[dict[str, Any]]:
    """Lab set-up rows (SGD 0.1, sigma = SIGMA_REF) in factor order, then the report variant."""
    lab_setup = f"lab: SGD lr {st.lr:g}, {st.seeds} seeds, normal init sigma={SIGMA_REF:g}, {st.steps} steps, val set"
    out = []
    lab = sorted(res.of_kind("scaling"), key=lambda tg: (tg[1].population != "lab" or "offset" in tg[1].meta,
                                                         tg[1].meta.get("factor", 1.0)))
    for t, g in lab:
        m = group_metrics(t, g)
        row = {"transform": g.name, "setup": lab_setup, **m}
        f = g.meta.get("factor", 1.0)
        if g.population == "lab" and "offset" not in g.meta:
            eq = SIGMA_REF * f ** (1.0 / 3.0)
            eq_loss = equivalent_init_loss(t, g, eq)
            own = t.stat_values("loss_at_init", g.members)
            row |= {"factor": f, "equivalent_sigma": eq, "equivalent_sigma_loss_at_init": summarize(eq_loss),
                    "init_equivalence_max_rel_diff": float(np.max(np.abs(own - eq_loss) / np.abs(eq_loss))),
                    "sweep_val_acc_at_equivalent_sigma": _interp_sweep(rows, eq, "val_acc")}
        if g.name != "scale x1":
            row["vs_unscaled"] = _paired(res, g.name, "scale x1")
        out.append(row)
    return out + variant_rows(res, st)


def variant_rows(res: Results, st: ShallowSettings) -> list[dict[str, Any]]:
    """Per report case: the best of the inits per seed, chosen on val and reported on test, plus the
    report's own way (best on test), per init, and at each checkpoint."""
    setup = (f"report: AdamW lr {st.variant_lr:g}, full batch, {st.variant_steps} steps, best of "
             f"{len(VARIANT_INITS)} inits per seed, test set of {VARIANT_N_TEST:,}")
    out = []
    for case, reported in REPORT_VALUES.items():
        groups = [(t, g) for t, g in res.of_kind("variant") if g.meta["case"] == case]
        t = groups[0][0]
        idx = np.asarray([g.members for _, g in groups])  # (inits, seeds)
        last = max(t.test)
        val = t.val_acc[idx]
        test = t.test[last]["acc"][idx]
        chosen = val.argmax(axis=0)
        seeds = np.arange(idx.shape[1])
        out.append({
            "transform": f"centred at (10, 10), {case}", "case": case, "setup": setup, "report_value": reported,
            "val_acc": summarize(val[chosen, seeds]),
            "test_acc": summarize(test[chosen, seeds]),
            "test_acc_best_on_test": summarize(test.max(axis=0)),
            "test_acc_best_single_run": float(test.max()),
            "test_acc_by_init": {g.meta["init"]: summarize(test[i]) for i, (_, g) in enumerate(groups)},
            "best_on_test_at_step": {str(s): summarize(t.test[s]["acc"][idx].max(axis=0)) for s in sorted(t.test)},
            "loss_at_init": summarize(t.curves["train_loss"][0, idx.ravel()]),
        })
    return out


def breaker_rows(res: Results) -> list[dict[str, Any]]:
    out = []
    for t, g in res.of_kind("breaker"):
        m = group_metrics(t, g)
        acc = res.values(g.name, "val_acc")
        spread = float(acc.max() - acc.min())
        n = len(g.members)
        lc, la, ll = m["loss_at_init"]["median"], m["val_acc"]["median"], m["final_train_loss"]["median"]
        note = (f"{g.meta['why']}. Measured: {m['regime']} in {m['regime_counts'][m['regime']]}/{n} seeds; train loss "
                f"{_g(lc)} at init -> {_g(ll)} after training; val acc {_g(la)}; dead hidden units "
                f"{_g(m['dead_units_init']['median'])} at init -> {_g(m['dead_units_end']['median'])} of {sum(HIDDEN)} at "
                "the end")
        if m["frozen"]:
            note += f"; {m['frozen']} seeds went non-finite and were frozen"
        if n > 1 and spread < 1e-6:
            note += f"; all {n} seeds end with the same val acc"
        out.append({"name": g.name, "note": note, "val_acc_spread": spread, **m})
    return out


def _g(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def loss_exponent(rows: list[dict[str, Any]]) -> Optional[float]:
    """Slope of log(median loss at init) vs log sigma where the loss is >= 10 ln 2 (expected: 3, since
    with zero biases the logits of a 3-layer ReLU net scale as sigma^3)."""
    pts = [(math.log(r["sigma"]), math.log(r["loss_at_init"]["median"])) for r in rows
           if r["loss_at_init"]["median"] is not None and r["loss_at_init"]["median"] >= 10 * LN2]
    if len(pts) < 2:
        return None
    x, y = np.asarray(pts).T
    return float(np.polyfit(x, y, 1)[0])


def results(res: Results, st: ShallowSettings) -> dict[str, Any]:
    """The study's own part of summary.json (finish() adds the words, figures and shared fields)."""
    rows = sigma_rows(res)
    picked = picks(rows)
    paired = paired_rows(res, picked["good"])
    schemes = scheme_rows(res, picked["good"])
    for row in schemes:
        row["paired"] = [{"vs": p["b"], "metric": p["metric"], "diff": p["diff"]} for p in paired if p["a"] == row["name"]]
    return {"seeds": st.seeds, "network": {"sizes": [2, *HIDDEN, 2], "activation": ACTIVATION, "bias_init": "zeros"},
            "sigmas": rows, "picked": picked, "schemes": schemes, "data_scaling": scaling_rows(res, rows, st),
            "breakers": breaker_rows(res), "regime_criteria": criteria_json()}
