"""The numbers of the preprocessing study's summary.json: per transform and learning rate, and the claims.

Steps to the target are counted from every step's training loss. A member that does not reach
the target within the budget is censored: it counts as ``steps + 1`` (a lower bound on its true
count) and in ``not_reached``. Each transform is compared at its best learning rate: the fewest
members not reaching the target, then the lowest median steps. Claims compare the transforms
seed by seed at those rates (``experiments.claims``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.experiments import claims
from trainlab.experiments.preprocessing.settings import PreprocessingSettings
from trainlab.stats import summarize

# (id, faster arm, slower arm, statement): "a needs fewer steps than b"
CLAIMS = (
    ("center_helps", "center", "none", "centering the inputs speeds up gradient descent"),
    ("standardize_helps", "standardize", "center", "standardizing speeds it up beyond centering"),
    ("pca_helps", "pca", "center", "PCA (decorrelating) speeds it up beyond centering"),
    ("whiten_helps", "whiten", "standardize", "whitening speeds it up beyond standardizing"),
)


def steps_to_target(loss: np.ndarray, target: float) -> np.ndarray:
    """(K,) first step whose training loss is <= target (row t = the loss after t steps); NaN if never."""
    hit = np.asarray(loss) <= target
    first = hit.argmax(axis=0).astype(np.float64)
    first[~hit.any(axis=0)] = np.nan
    return first


def _or_inf(v) -> float:
    return float("inf") if v is None else v


def arm_block(st: PreprocessingSettings, name: str, label: str, specs: list, cond: dict, out: dict,
              notes: list) -> dict[str, Any]:
    """One transform: conditioning, every learning rate's outcome over seeds, and its best rate."""
    steps = steps_to_target(out["loss"], st.target)
    steps[out["frozen"]] = np.nan  # a member that went non-finite did not converge, whatever it touched before
    censored = np.where(np.isnan(steps), st.steps + 1, steps)
    rates = []
    for i, lr in enumerate(st.lrs):
        idx = slice(i * st.seeds, (i + 1) * st.seeds)
        rates.append({"lr": lr, "steps": summarize(censored[idx]), "reached": int(np.isfinite(steps[idx]).sum()),
                      "diverged": sum(1 for k in out["frozen"] if idx.start <= k < idx.stop),
                      "final_loss": summarize(out["loss"][-1, idx]), "val_acc": summarize(out["val_acc"][idx])})
    best = min(range(len(rates)), key=lambda i: (-rates[i]["reached"], rates[i]["steps"]["median"],
                                                 _or_inf(rates[i]["final_loss"]["median"])))
    return {"name": name, "label": label, "transforms": specs, "conditioning": cond, "rates": rates, "best": best,
            "best_lr": st.lrs[best], "seeds_steps": censored[best * st.seeds:(best + 1) * st.seeds].tolist(),
            "notes": notes}


def build_claims(arms: dict[str, dict]) -> list[dict]:
    out = []
    for cid, a, b, statement in CLAIMS:
        if a in arms and b in arms:
            out.append(claims.claim(
                cid, statement, "GD steps to the target loss", f"{arms[a]['label']} (lr {arms[a]['best_lr']:g})",
                f"{arms[b]['label']} (lr {arms[b]['best_lr']:g})", arms[a]["seeds_steps"], arms[b]["seeds_steps"],
                "negative", unit="steps", short=f"{a} vs {b}", arms=[a, b]))
    return out


def results(st: PreprocessingSettings, arms: list[dict], raw: Any) -> dict[str, Any]:
    """The study's own part of summary.json (finish() adds the words, figures and shared fields)."""
    return {
        "quick": st.preset == "quick",
        "task": {"n_train": st.n_train, "n_val": st.n_val, "dim": st.dim, "classes": st.classes, "cond": st.cond,
                 "sizes": [st.dim, *st.hidden, st.classes], "activation": "relu", "init": "kaiming_normal",
                 "optimizer": "gradient descent (full batch, no momentum)", "steps": st.steps, "target": st.target,
                 "seeds": st.seeds, "lrs": list(st.lrs)},
        "data_source": raw.source,
        "arms": arms,
        "claims": build_claims({a["name"]: a for a in arms}),
    }
