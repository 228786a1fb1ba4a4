"""Words of the shallow study, computed from its run folder: ``observations``, ``tables``,
``key_findings`` (from ``RunData``) and the console ``headline`` (from the summary).

Nothing here is canned: every sentence is built from the numbers in the summary, so a different
run (other seeds, another generator) says what that run found.
"""
from __future__ import annotations

from typing import Any, Optional

from trainlab.experiments.shallow.regimes import LN2, PLATEAU_TOL, REGIMES
from trainlab.experiments.shallow.settings import SIGMA_REF
from trainlab.experiments.shallow.summary import PAIRED_METRICS, compared_pairs, loss_exponent
from trainlab.report.folder import RunData


def _g(v: Optional[float], digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}g}"


def _stat(s: dict[str, Any], digits: int = 3) -> str:
    if s.get("median") is None:
        return f"n/a ({s.get('flag', 'no finite values')})"
    return f"{s['median']:.{digits}g} [{s['lo']:.{digits}g}, {s['hi']:.{digits}g}]"


def _row(rows: list[dict], sigma: Optional[float]) -> Optional[dict]:
    return next((r for r in rows if sigma is not None and r["sigma"] == sigma), None)


def regime_runs(rows: list[dict]) -> list[tuple[str, float, float]]:
    """Consecutive sigmas with the same label: (regime, first sigma, last sigma)."""
    runs: list[tuple[str, float, float]] = []
    for r in rows:
        if runs and runs[-1][0] == r["regime"]:
            runs[-1] = (r["regime"], runs[-1][1], r["sigma"])
        else:
            runs.append((r["regime"], r["sigma"], r["sigma"]))
    return runs


def _span(a: float, b: float) -> str:
    return f"sigma = {a:g}" if a == b else f"sigma = {a:g} to {b:g}"


def loss_at_init_text(rows: list[dict], exponent: Optional[float]) -> str:
    ok = [r for r in rows if not r["loss_at_init_departs"]]
    bad = [r for r in rows if r["loss_at_init_departs"]]
    text = f"Loss at init against ln 2 = {LN2:.3f} (Karpathy's -log(1/C), C = 2): "
    if ok:
        top = max(ok, key=lambda r: r["sigma"])
        text += f"within {PLATEAU_TOL} of it for sigma <= {top['sigma']:g} (median {top['loss_at_init']['median']:.3f})"
    if bad:
        first, last = min(bad, key=lambda r: r["sigma"]), max(bad, key=lambda r: r["sigma"])
        text += (f"; it departs from sigma = {first['sigma']:g} (median {first['loss_at_init']['median']:.3g}) "
                 f"and reaches {last['loss_at_init']['median']:.4g} at sigma = {last['sigma']:g}")
    if exponent is not None:
        text += (f"; above 10 ln 2 it grows as sigma^{exponent:.2f} (zero biases and three weight layers make the "
                 "logits scale as sigma^3)")
    return text + "."


def hidden_units(s: dict[str, Any]) -> int:
    """Hidden units of the study's net (9 for the lab's 2-6-3-2), from the summary."""
    return sum(s["network"]["sizes"][1:-1])


def observations(run: RunData) -> list[str]:
    s = run.summary
    rows, picked = s["sigmas"], s["picked"]
    obs = [loss_at_init_text(rows, loss_exponent(rows))]
    obs.append("Regimes over sigma (majority of seeds): " + "; ".join(
        f"{reg} for {_span(a, b)}" for reg, a, b in regime_runs(rows)) + ".")
    split = [r for r in rows if r["regime_share"] < 0.75]
    if split:
        obs.append("Seeds disagree (share < 0.75) at " + "; ".join(
            f"sigma = {r['sigma']:g}: " + ", ".join(f"{k} {v}" for k, v in r["regime_counts"].items()) for r in split)
            + ": one seed is not enough to label these sigmas.")
    words = {"small": "slow start, good end", "good": "neither effect", "large": "converges, does not recover"}
    parts = []
    for key in ("small", "good", "large"):
        r = _row(rows, picked[key])
        if r is None:
            parts.append(f"{key}: none found ({words[key]})")
            continue
        parts.append(f"{key} sigma = {r['sigma']:g} ({r['regime']} in {r['regime_share']:.0%} of seeds; val acc "
                     f"{_stat(r['val_acc'])}; leaves its plateau at step {_g(r['leave_step']['median'])}; loss at "
                     f"init {_g(r['loss_at_init']['median'])})")
    obs.append("Picked automatically: " + "; ".join(parts) + ".")
    large = _row(rows, picked["large"])
    if large is not None:
        good = _row(rows, picked["good"])
        obs.append(f"At sigma = {large['sigma']:g} training moves the weights by a median "
                   f"{_g(large['weight_change']['median'], 2)} of their initial norm (at the good sigma: "
                   f"{_g(good['weight_change']['median'], 2) if good else 'n/a'}); {_g(large['dead_units_end']['median'])} "
                   f"of {hidden_units(s)} hidden units end dead (good sigma: {_g(good['dead_units_end']['median']) if good else 'n/a'}).")
    for r in s["schemes"]:
        d = r.get("vs_good_sigma")
        if d:
            obs.append(f"{r['label']} (per-layer std {', '.join(f'{v:.2g}' for v in r['layer_std'])}): {r['regime']} "
                       f"in {r['regime_share']:.0%} of seeds, val acc {_stat(r['val_acc'])}; minus sigma = "
                       f"{d['sigma']:g}, paired over seeds: {_stat(d['val_acc_diff'])}"
                       f"{'' if d['val_acc_diff']['conclusive'] else ' (not conclusive)'}.")
    labels = {r["name"]: r["label"] for r in s["schemes"]}
    pairs = [f"{labels[r['name']]} - {labels.get(p['vs'], p['vs'])}: {_stat(p['diff'])}"
             f"{'' if p['diff']['conclusive'] else ' (not conclusive)'}"
             for r in s["schemes"] for p in r.get("paired", []) if p["metric"] == "val_acc" and p["vs"] in labels]
    if pairs:
        obs.append(f"Val accuracy differences paired over {s['seeds']} seeds: " + "; ".join(pairs) + ".")
    obs += scaling_observations(s["data_scaling"])
    obs += [f"Breaker '{b['name']}': {b['note']}." for b in s["breakers"]]
    return obs


def scaling_observations(rows: list[dict[str, Any]]) -> list[str]:
    lab = [r for r in rows if "equivalent_sigma" in r]
    out = []
    if lab:
        worst = max(r["init_equivalence_max_rel_diff"] for r in lab)
        parts = [f"x{r['factor']:g} (sigma-equivalent {r['equivalent_sigma']:.3g}): loss at init "
                 f"{_g(r['loss_at_init']['median'])}, val acc {_stat(r['val_acc'])}, regime {r['regime']} (sweep "
                 f"interpolated at that sigma: val acc {_g(r['sweep_val_acc_at_equivalent_sigma'])})" for r in lab]
        out.append(f"Scaling the inputs by f with sigma = {SIGMA_REF:g} gives the same logits at init as sigma = "
                   f"{SIGMA_REF:g} * f^(1/3) (zero biases, 3 weight layers; measured on the same seeds: largest "
                   f"relative difference of the loss at init {worst:.1g}). After training: " + "; ".join(parts) + ".")
        worse = [r["factor"] for r in lab if r["sweep_val_acc_at_equivalent_sigma"] is not None
                 and r["val_acc"]["median"] is not None
                 and r["val_acc"]["median"] < r["sweep_val_acc_at_equivalent_sigma"] - PLATEAU_TOL]
        if worse:
            out.append("The effect matches at init only: after training, scaling the data hurts more than the "
                       f"init-equivalent sigma at f = {', '.join(f'{f:g}' for f in worse)} (val acc more than "
                       f"{PLATEAU_TOL} below the sweep), since a data scale acts on the first layer alone, and that "
                       "layer's gradient scales with f as well.")
    raw = next((r for r in rows if r["transform"] == "centred at (10, 10), raw" and r["setup"].startswith("lab")), None)
    std = next((r for r in rows if r["transform"] == "centred at (10, 10), standardized"
                and r["setup"].startswith("lab")), None)
    if raw and std:
        out.append(f"Circles centred at (10, 10), lab set-up: val acc {_stat(raw['val_acc'])} unnormalized "
                   f"({raw['regime']}) vs {_stat(std['val_acc'])} standardized ({std['regime']}).")
    var = [r for r in rows if "report_value" in r]
    if var:
        out.append(f"Report set-up ({var[0]['setup']}): " + "; ".join(
            f"{r['case']}: test acc {_stat(r['test_acc'])} chosen on val, "
            f"{_stat(r['test_acc_best_on_test'])} chosen on test, vs the report's {r['report_value']:.3f}; "
            "best on test by step " + ", ".join(f"{k}: {_g(v['median'])}" for k, v in r["best_on_test_at_step"].items()
                                                 if k != "0") for r in var) + ".")
    return out


def _sigma_table(s: dict[str, Any]) -> dict[str, Any]:
    cols = ["sigma (std)", "regime", "share", "loss at init", "val acc", "val loss", "final train loss",
            "leaves plateau at step", "dead units at end"]
    rows = [[r["sigma"], r["regime"], r["regime_share"], r["loss_at_init"], r["val_acc"], r["val_loss"],
             r["final_train_loss"], r["leave_step"], r["dead_units_end"]] for r in s["sigmas"]]
    return {"title": "Sigma sweep: weights N(0, sigma^2), sigma = standard deviation; median [95% CI] over seeds",
            "columns": cols, "rows": rows}


def paired_rows(s: dict[str, Any]) -> list[dict[str, Any]]:
    """Every paired comparison (a, b, metric, diff) in the order the summary computed them."""
    diffs = {(r["name"], p["vs"], p["metric"]): p["diff"] for r in s["schemes"] for p in r.get("paired", [])}
    return [{"a": a, "b": b, "metric": key, "diff": diffs[(a, b, key)]}
            for a, b in compared_pairs(s["picked"]["good"]) for key in PAIRED_METRICS]


def tables(run: RunData) -> list[dict[str, Any]]:
    s = run.summary
    paired = paired_rows(s)
    out = [_sigma_table(s)]
    out.append({"title": "Init schemes (same seeds as the sweep)",
                "columns": ["scheme", "per-layer std", "regime", "share", "loss at init", "val acc", "final train loss"],
                "rows": [[r["label"], ", ".join(f"{v:.3g}" for v in r["layer_std"]), r["regime"], r["regime_share"],
                          r["loss_at_init"], r["val_acc"], r["final_train_loss"]] for r in s["schemes"]]})
    out.append({"title": "Paired differences over seeds (a - b; conclusive when the 95% CI excludes 0)",
                "columns": ["a", "b", "metric", "median difference [95% CI]", "conclusive"],
                "rows": [[p["a"], p["b"], p["metric"], p["diff"], p["diff"]["conclusive"]] for p in paired]})
    out.append({"title": "Data scaling and normalization",
                "columns": ["transform", "set-up", "loss at init", "val acc", "test acc", "report", "sigma equivalent at init"],
                "rows": [[r["transform"], r["setup"].split(":")[0], r.get("loss_at_init"), r["val_acc"],
                          r.get("test_acc"), r.get("report_value"), r.get("equivalent_sigma")]
                         for r in s["data_scaling"]]})
    out.append({"title": "Other ways to break convergence",
                "columns": ["breaker", "regime", "share", "loss at init", "final train loss", "val acc", "dead units at end"],
                "rows": [[b["name"], b["regime"], b["regime_share"], b["loss_at_init"], b["final_train_loss"],
                          b["val_acc"], b["dead_units_end"]] for b in s["breakers"]]})
    out.append({"title": "Regime criteria (first matching rule wins)", "columns": ["regime", "rule"],
                "rows": [[r["regime"], r["rule"]] for r in s["regime_criteria"]["rules"]]})
    return out


def headline(s: dict[str, Any]) -> str:
    """One line for the console table."""
    p = s.get("picked", {})
    good = _row(s.get("sigmas", []), p.get("good"))
    acc = f", val acc at good {_stat(good['val_acc'])}" if good else ""
    fmt = lambda v: "none" if v is None else f"{v:g}"  # noqa: E731
    counts = {reg: sum(r["regime"] == reg for r in s.get("sigmas", [])) for reg in REGIMES}
    return (f"sigma picks: small {fmt(p.get('small'))}, good {fmt(p.get('good'))}, large {fmt(p.get('large'))}{acc}; "
            + ", ".join(f"{k} {v}" for k, v in counts.items() if v) + f" of {len(s.get('sigmas', []))} sigmas")


def key_findings(run: RunData) -> list[str]:
    """The 3-5 sentences the report leads with: loss at init, the three sigmas, inits, data, breakers."""
    s = run.summary
    rows, picked = s["sigmas"], s["picked"]
    ok = [r["sigma"] for r in rows if not r["loss_at_init_departs"]]
    exponent = loss_exponent(rows)
    out = [f"The loss at init is ln 2 = {LN2:.3f} (a chance guess) for sigma up to {_g(max(ok) if ok else None)}"
           + (f" and grows as sigma^{exponent:.2f} beyond 10 ln 2 (theory: 3)." if exponent is not None else ".")]
    parts = [f"{key} sigma = {r['sigma']:g} ({r['regime']}, val acc {_g(r['val_acc']['median'])})"
             for key in ("small", "good", "large") if (r := _row(rows, picked[key])) is not None]
    out.append(f"Picked from the regimes over {s['seeds']} seeds: " + (", ".join(parts) or "none") + ".")
    best = max((r for r in s["schemes"] if r["val_acc"]["median"] is not None),
               key=lambda r: r["val_acc"]["median"], default=None)
    if best is not None:
        out.append(f"Of the named inits, {best['label']} ends with the highest median val acc "
                   f"({_stat(best['val_acc'])}, {best['regime']}).")
    lab = {r["transform"]: r for r in s["data_scaling"] if r["setup"].startswith("lab")}
    raw, std = lab.get("centred at (10, 10), raw"), lab.get("centred at (10, 10), standardized")
    if raw and std:
        out.append(f"Circles centred at (10, 10) reach val acc {_g(raw['val_acc']['median'])} unnormalized and "
                   f"{_g(std['val_acc']['median'])} standardized.")
    out.append("Breaking training on purpose: " + "; ".join(f"{b['name']} ends {b['regime']}" for b in s["breakers"])
               + ".")
    return out
