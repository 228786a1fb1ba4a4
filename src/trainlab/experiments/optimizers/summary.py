"""The numbers of the optimizers study's summary.json, and seed 001's claims with their verdicts.

Per data set and optimizer: the lr search, and three blocks of paired seeds (chosen lr with He
init, chosen lr with Xavier init, the shared lr with He init), each with steps to the target
(from the median curve, and per seed over the seeds that got there), final train and validation
loss and validation accuracy, as ``{median, lo, hi, n}``.

Claims (``experiments.claims``; per-seed "steps to the target" counts a seed that never got there
as the budget, a lower bound):

1. ``adam_faster``: Adam reaches the target in fewer steps than SGD, and than momentum, on each
   data set, each optimizer at its own best lr and all at the shared lr;
2. ``norms``: the weight (and bias) norm first rises, then falls to almost 0: the whole net's norm
   ``sqrt(sum_l ||W_l||^2)`` at the first evaluation past 10% of training is above its value at
   init (rise), and at the end below ``ALMOST_ZERO`` x that early value (fall to almost 0). Tested
   with SGD at its best lr on each data set, and in the seed's own set-up (MSE + sigmoid on XOR);
3. ``depth``: one hidden layer of 4 units stays below 80% held-out accuracy on the mixture AND two
   pass 90% (both parts against the threshold, per seed); ``depth_gain``: two beat one;
4. ``xor_loss``: MSE + sigmoid reaches 95% training accuracy on XOR later than cross-entropy, and
   its output layer's gradient is smaller early on (log10 norm over the first 10% of training);
5. ``init``: He init reaches the target in fewer steps than Xavier, per optimizer and data set.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from trainlab.experiments.claims import claim, compound, verdict
from trainlab.experiments.optimizers.settings import DATASETS, LABELS, OptimizersSettings
from trainlab.experiments.paired import Trained, censored, median_steps_to, steps_to
from trainlab.stats import summarize

BLOCKS = ("best_he", "best_xavier", "shared")  # the main run's member blocks, in member order
ALMOST_ZERO = 0.1  # "almost 0": below a tenth of the early (risen) norm
EARLY = 0.1  # "first" / "early": the first evaluation at or past this fraction of training
STEPS_METRIC = "steps to train loss {t:g} (never = the budget)"


def block(st: OptimizersSettings, name: str) -> list[int]:
    i = BLOCKS.index(name)
    return list(range(i * st.seeds, (i + 1) * st.seeds))


def steps_per_seed(t: Trained, idx: list[int], target: float) -> list[Optional[int]]:
    return steps_to(t.arrays["train_loss"][:, idx], t.arrays["steps"], target)


def run_block(t: Trained, idx: list[int], st: OptimizersSettings) -> dict[str, Any]:
    a, steps = t.arrays, t.arrays["steps"]
    per_seed = steps_per_seed(t, idx, st.target_loss)
    reached = [v for v in per_seed if v is not None]
    return {"lr": float(t.arm.hp["lr"][idx[0]]),
            "steps_to_target": {"median_curve": median_steps_to(a["train_loss"][:, idx], steps, st.target_loss),
                                "per_seed": summarize(reached), "reached": len(reached), "of": len(idx),
                                "values": per_seed},
            "final_train_loss": summarize(a["train_loss"][-1, idx]), "final_val_loss": summarize(a["val_loss"][-1, idx]),
            "final_val_acc": summarize(a["val_acc"][-1, idx]), "frozen": sum(1 for m in t.frozen if m in idx)}


def dataset_block(name: str, d: dict, st: OptimizersSettings) -> dict[str, Any]:
    opts = []
    for opt, t in d["trained"].items():
        s = d["searches"][opt]
        opts.append({"name": opt, "label": LABELS[opt], "chosen_lr": s["chosen"], "lr_at_grid_edge": s["at_edge"],
                     "search": {k: s[k] for k in ("steps", "seeds", "lrs", "loss")},
                     "best": run_block(t, block(st, "best_he"), st), "xavier": run_block(t, block(st, "best_xavier"), st),
                     "shared": run_block(t, block(st, "shared"), st)})
    return {"name": name, "label": DATASETS[name].label, "n_classes": d["data"].n_classes, "source": d["data"].source,
            "optimizers": opts}


def _steps(t: Trained, idx: list[int], st: OptimizersSettings) -> list[float]:
    return censored(steps_per_seed(t, idx, st.target_loss), st.steps)


def adam_claims(st: OptimizersSettings, per_data: dict) -> list[dict]:
    out = []
    for ds, d in per_data.items():
        tr = d["trained"]
        if "adam" not in tr:
            continue
        for setting, blk, how in (("best", "best_he", "each at its own best lr"),
                                  ("shared", "shared", f"all at lr {st.shared_lr:g}")):
            for base in ("sgd", "momentum"):
                if base in tr:
                    out.append(claim(f"adam_faster/{ds}/{setting}/{base}", f"Adam converges faster than "
                                     f"{LABELS[base]} ({how}, {ds})", STEPS_METRIC.format(t=st.target_loss), "Adam",
                                     LABELS[base], _steps(tr["adam"], block(st, blk), st),
                                     _steps(tr[base], block(st, blk), st), "negative", unit="steps"))
    return out


def _total(norms: np.ndarray) -> np.ndarray:
    """(evaluations, members, layers) -> the whole net's norm (evaluations, members)."""
    return np.sqrt(np.sum(norms ** 2, axis=2))


def rise_and_fall(cid: str, where: str, t: Trained, idx: list[int]) -> list[dict]:
    """Claim 2 on one set-up, for weights and for biases: two parts each (rise; fall to almost 0)."""
    steps = t.arrays["steps"]
    early = int(np.searchsorted(steps, EARLY * steps[-1]))
    out = []
    at = int(steps[early])
    for kind, plural in (("weight", "weights"), ("bias", "biases")):
        total = _total(t.arrays[f"{kind}_norm"][:, idx])
        rise = claim(f"{cid}/{kind}/rise", f"{where}: the {kind} norm rises first", f"||{plural}|| at step {at} vs at "
                     "init", f"step {at}", "init", total[early], total[0], "positive")
        fall = claim(f"{cid}/{kind}/fall", f"{where}: then it falls to almost 0", f"||{plural}|| at the end vs "
                     f"{ALMOST_ZERO:g} x at step {at}", "end", f"{ALMOST_ZERO:g} x step {at}", total[-1],
                     ALMOST_ZERO * total[early], "negative")
        parts = [rise, fall]
        out.append({"id": f"{cid}/{kind}", "claim": f"{kind.capitalize()} norms first increase, then decrease to almost 0 "
                    f"({where})", "parts": parts, "verdict": compound(verdict(p) for p in parts)})
    return out


def norm_claims(st: OptimizersSettings, per_data: dict, xor: dict) -> list[dict]:
    out = []
    for ds, d in per_data.items():
        if "sgd" in d["trained"]:
            out += rise_and_fall(f"norms/{ds}", f"SGD at its best lr, {ds}", d["trained"]["sgd"], block(st, "best_he"))
    mse = xor["trained"]["mse_sigmoid"]
    out += rise_and_fall("norms/seed_setup", "the seed's set-up: MSE + sigmoid on XOR, momentum", mse,
                         list(range(mse.K)))
    return out


def depth_claims(st: OptimizersSettings, depth: dict) -> tuple[dict, dict]:
    one, two = depth["1_hidden"]["val_acc"], depth["2_hidden"]["val_acc"]
    n = len(one)
    w = "-".join(map(str, st.depth_widths))
    below = claim("depth/below_80", "one hidden layer of 4 stays below 80% test accuracy", "held-out accuracy",
                  "1 hidden layer", "80%", one, [0.8] * n, "negative", unit="pp")
    above = claim("depth/above_90", f"adding a hidden layer ({w}) passes 90%", "held-out accuracy", "2 hidden layers",
                  "90%", two, [0.9] * n, "positive", unit="pp")
    parts = [below, above]
    both = {"id": "depth", "claim": "The 2-layer net (one hidden layer of 4 units) stays below 80% test accuracy on the "
            "5-class mixture, while adding a hidden layer passes 90%", "parts": parts,
            "verdict": compound(verdict(p) for p in parts)}
    gain = claim("depth_gain", "A second hidden layer raises the test accuracy", "held-out accuracy", "2 hidden layers",
                 "1 hidden layer", two, one, "positive", unit="pp")
    return both, gain


def xor_claims(st: OptimizersSettings, xor: dict) -> list[dict]:
    mse, ce = xor["trained"]["mse_sigmoid"], xor["trained"]["cross_entropy"]
    every = list(range(mse.K))

    def to_acc(t: Trained) -> list[float]:
        return censored(steps_to(t.arrays["train_acc"], t.arrays["steps"], st.xor_target_acc, below=False), st.xor_steps)

    def early_grad(t: Trained) -> np.ndarray:
        steps = t.arrays["steps"]
        rows = (steps > 0) & (steps <= EARLY * steps[-1])
        g = t.arrays["grad_norm"][rows][:, every, -1]
        return np.mean(np.log10(np.where(g > 0, g, np.nan)), axis=0)

    return [
        claim("xor_loss/slower", "MSE on a sigmoid output trains XOR more slowly than cross-entropy",
              f"steps to {100 * st.xor_target_acc:.0f}% training accuracy (never = the budget)", "MSE + sigmoid",
              "cross-entropy", to_acc(mse), to_acc(ce), "positive", unit="steps"),
        claim("xor_loss/gradient", "... because the saturating sigmoid shrinks the gradient the output layer gets",
              f"mean log10 output-layer gradient norm over the first {100 * EARLY:.0f}% of training", "MSE + sigmoid",
              "cross-entropy", early_grad(mse), early_grad(ce), "negative"),
    ]


def init_claims(st: OptimizersSettings, per_data: dict) -> list[dict]:
    return [claim(f"init/{ds}/{opt}", f"He init trains the ReLU net faster than Xavier ({LABELS[opt]}, {ds})",
                  STEPS_METRIC.format(t=st.target_loss), "He", "Xavier", _steps(t, block(st, "best_he"), st),
                  _steps(t, block(st, "best_xavier"), st), "negative", unit="steps")
            for ds, d in per_data.items() for opt, t in d["trained"].items()]


def _xor_block(st: OptimizersSettings, xor: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"net": f"2-{st.xor_hidden}-2 ReLU, Xavier uniform", "lr": st.xor_lr, "momentum": 0.9,
                           "steps": st.xor_steps, "target_acc": st.xor_target_acc}
    for loss, t in xor["trained"].items():
        out[loss] = {"final_train_acc": summarize(t.arrays["train_acc"][-1]),
                     "final_val_acc": summarize(t.arrays["val_acc"][-1]), "frozen": len(t.frozen)}
    out["sigmoid_slope"] = {"init": summarize(xor["slope_init"]), "end": summarize(xor["slope_end"]),
                            "saturated_init": summarize(xor["saturated_init"]),
                            "saturated_end": summarize(xor["saturated_end"])}
    return out


def results(st: OptimizersSettings, per_data: dict, xor: dict, depth: dict) -> dict[str, Any]:
    depth_claim, gain = depth_claims(st, depth)
    return {
        "setup": {"net": f"2-{'-'.join(map(str, st.hidden))}-C ReLU", "n_train": st.n_train, "n_val": st.n_val,
                  "batch_size": st.batch_size, "steps": st.steps, "target_loss": st.target_loss,
                  "shared_lr": st.shared_lr, "lr_grid": list(st.lr_grid), "search_steps": st.search_steps,
                  "search_seeds": st.search_seeds, "seeds": st.seeds, "adamw_decay": st.adamw_decay,
                  "inits": {"he": "kaiming_uniform", "xavier": "xavier_uniform"}},
        "datasets": [dataset_block(name, d, st) for name, d in per_data.items()],
        "xor_loss": _xor_block(st, xor),
        "depth": {"widths": list(st.depth_widths), "optimizer": "adam", "lr": st.depth_lr, "steps": st.depth_steps,
                  **{k: {"widths": v["widths"], "val_acc": summarize(v["val_acc"])} for k, v in depth.items()}},
        "claims": {"adam_faster": adam_claims(st, per_data), "norms": norm_claims(st, per_data, xor),
                   "depth": depth_claim, "depth_gain": gain, "xor_loss": xor_claims(st, xor),
                   "init": init_claims(st, per_data)},
    }
