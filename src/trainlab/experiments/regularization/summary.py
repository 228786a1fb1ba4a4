"""The numbers of the regularization study's summary.json: per configuration, per arm, and the claims.

Every statistic over seeds is ``{median, lo, hi, n}``. An arm's best strength is the one with the
lowest median validation loss; the claims then compare the chosen configurations on the held-out
test split, which played no part in choosing, paired by seed (``experiments.claims``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from trainlab.experiments import claims
from trainlab.experiments.regularization.settings import (
    ARM_BY_NAME, ARMS, BASELINE_OF, NEAR_ZERO, RegularizationSettings)
from trainlab.stats import summarize

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "weight_norm", "near_zero",
           "max_unit_norm", "val_rise")
EQUAL_TOL = 0.05  # "SGD weight decay equals the L2 penalty": within 5% of the L2 configuration's median test loss


def config_block(c: Any, finals: dict[str, np.ndarray]) -> dict[str, Any]:
    """One configuration: what it is, and every metric over its seeds."""
    return c.to_json() | {m: summarize(finals[m][c.index]) for m in METRICS}


def _median(block: dict, metric: str) -> float:
    v = block[metric]["median"]
    return math.inf if v is None else v


def arm_block(arm: Any, st: RegularizationSettings, blocks: list[dict]) -> dict[str, Any]:
    """An arm: its strengths (weakest first), its configurations and its best one (lowest median val loss)."""
    mine = [b for b in blocks if b["arm"] == arm.name]
    best = min(mine, key=lambda b: _median(b, "val_loss"))
    return {"name": arm.name, "short": arm.short, "label": arm.label, "optimizer": arm.optimizer, "symbol": arm.symbol,
            "strengths": list(st.strengths(arm)), "configs": [b["index"] for b in mine], "best": best["index"],
            "best_strength": best["strength"], "baseline": _baseline(blocks, arm.optimizer)}


def _baseline(blocks: list[dict], optimizer: str) -> int:
    return next(b["index"] for b in blocks if b["arm"] == "none" and b["optimizer"] == BASELINE_OF[optimizer])


def _matched(arm: dict, strength: float) -> int:
    """The configuration of ``arm`` whose strength is nearest ``strength`` on a log scale."""
    pairs = list(zip(arm["strengths"], arm["configs"]))
    return min(pairs, key=lambda p: abs(math.log(p[0] / strength)))[1]


def build_claims(blocks: list[dict], arms: dict[str, dict], finals: dict[str, np.ndarray]) -> list[dict]:
    """Seeds 002/003's claims, each with its verdict from the paired difference's 95% interval."""
    out = []
    sgd_none = _baseline(blocks, "sgd")
    out.append(claims.claim(
        "overfits", "without regularization the 2-256-256-2 net overfits: its val loss rises after its minimum",
        "val loss rise", "val loss at the end minus its minimum during training (no regularization)", "0",
        finals["val_rise"][sgd_none], np.zeros_like(finals["val_rise"][sgd_none]), "positive",
        short="none overfits", configs=[sgd_none]))
    for arm in ARMS:
        a = arms[arm.name]
        out.append(claims.claim(
            f"{arm.name}_helps", f"{arm.label} at its best strength lowers the held-out loss", "test loss",
            f"{arm.label} ({a['symbol']}={a['best_strength']:g})", "no regularization",
            finals["test_loss"][a["best"]], finals["test_loss"][a["baseline"]], "negative",
            short=f"{arm.short} vs none", configs=[a["best"], a["baseline"]]))
    l1, l2 = arms["l1"], arms["l2"]
    at = _matched(l2, l1["best_strength"])
    lam = blocks[at]["strength"]
    out.append(claims.claim(
        "l1_sparser", "L1 gives sparser weights than L2 at the same strength",
        f"fraction of weights with |w| < {NEAR_ZERO:g} max|w|", f"L1 (lambda={lam:g})", f"L2 (lambda={lam:g})",
        finals["near_zero"][_matched(l1, lam)], finals["near_zero"][at], "positive", short="L1 vs L2 sparsity",
        configs=[_matched(l1, lam), at]))
    aw, al2 = arms["adamw"], arms["adam_l2"]
    out.append(claims.claim(
        "adamw_beats_adam_l2", "AdamW's decoupled decay beats Adam + L2, each at its best strength", "test loss",
        f"AdamW (wd={aw['best_strength']:g})", f"Adam + L2 (wd={al2['best_strength']:g})",
        finals["test_loss"][aw["best"]], finals["test_loss"][al2["best"]], "negative", short="AdamW vs Adam + L2",
        configs=[aw["best"], al2["best"]]))
    wd_at = _matched(arms["sgd_wd"], l2["best_strength"])
    tol = EQUAL_TOL * _median(blocks[l2["best"]], "test_loss")
    out.append(claims.equivalence(
        "sgd_wd_is_l2", "SGD weight decay is the L2 penalty", "test loss",
        f"SGD weight decay (wd={blocks[wd_at]['strength']:g}, biases decayed too)",
        f"L2 penalty (lambda={l2['best_strength']:g}, weights only)",
        finals["test_loss"][wd_at], finals["test_loss"][l2["best"]], tol, short="SGD wd = L2",
        configs=[wd_at, l2["best"]]))
    return out


def results(st: RegularizationSettings, configs: list, finals: dict[str, np.ndarray], frozen: list[dict],
            dataset: Any) -> dict[str, Any]:
    """The study's own part of summary.json (finish() adds the words, figures and shared fields)."""
    blocks = [config_block(c, finals) for c in configs]
    arms = {a.name: arm_block(a, st, blocks) for a in ARMS}
    return {
        "quick": st.preset == "quick",
        "task": {"dataset": "moons", "noise": st.noise, "n_train": len(dataset.train.y), "n_val": len(dataset.val.y),
                 "n_test": len(dataset.test.y), "sizes": [2, *st.hidden, 2], "activation": "relu",
                 "init": "kaiming_normal", "steps": st.steps, "batch": "full", "seeds": st.seeds},
        "optimizers": {"sgd": {"name": "momentum", "lr": st.sgd_lr, "momentum": st.momentum},
                       "adam": {"name": "adam", "lr": st.adam_lr}, "adamw": {"name": "adamw", "lr": st.adam_lr}},
        "near_zero_threshold": NEAR_ZERO,
        "configs": blocks,
        "arms": [arms[a.name] for a in ARMS],
        "claims": build_claims(blocks, arms, finals),
        "frozen": frozen,
        "data_source": dataset.source,
    }


def arm(summary: dict, name: str) -> dict:
    return next(a for a in summary["arms"] if a["name"] == name)


def arm_label(name: str) -> str:
    return "no regularization" if name == "none" else ARM_BY_NAME[name].label
