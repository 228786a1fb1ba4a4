"""What the optimizers study says, computed from its summary: verdicts are recomputed from the
stored intervals (``claims.verdict`` / ``claims.compound``), numbers read from the summary."""
from __future__ import annotations

from typing import Any

from trainlab.experiments.claims import claims_table, compound, interval, sentence, tally, tally_text, verdict
from trainlab.report.folder import RunData


def _steps(stat_or_int: Any) -> str:
    return "not reached" if stat_or_int is None else f"{stat_or_int:.0f}"


def _pct(stat: dict) -> str:
    if stat.get("median") is None:
        return "n/a"
    return f"{100 * stat['median']:.1f}% [{100 * stat['lo']:.1f}, {100 * stat['hi']:.1f}]"


def compound_verdict(record: dict) -> str:
    """A claim with parts: recomputed from each part's interval."""
    return compound(verdict(p) for p in record["parts"])


def _adam_sentence(s: dict) -> list[str]:
    out = []
    for setting, how in (("shared", f"all at lr {s['setup']['shared_lr']:g}"), ("best", "each at its own best lr")):
        cs = [c for c in s["claims"]["adam_faster"] if c["id"].split("/")[2] == setting]
        if cs:
            t = tally(cs)
            out.append(f"\"Adam converges faster\" (than SGD and momentum, in steps to train loss "
                       f"{s['setup']['target_loss']:g}), {how}: {t['confirmed']} of {len(cs)} comparisons over "
                       f"{len({c['id'].split('/')[1] for c in cs})} data sets confirmed ({tally_text(t)}).")
    return out


def _norms_sentence(s: dict) -> str:
    cs = s["claims"]["norms"]
    parts = []
    for kind in ("weight", "bias"):
        ks = [c for c in cs if c["id"].endswith("/" + kind)]
        vs = [compound_verdict(c) for c in ks]
        falls = [p for c in ks for p in c["parts"] if p["id"].endswith("/fall")]
        ratio = [p["difference"]["median"] for p in falls if p["difference"]["median"] is not None]
        parts.append(f"{kind} norms: {vs.count('confirmed')} confirmed, {vs.count('refuted')} refuted, "
                     f"{vs.count('inconclusive')} inconclusive of {len(ks)} set-ups")
    return ("Seed 001's \"weight and bias norms first increase, then decrease to almost 0\": " + "; ".join(parts)
            + f" (a norm 'almost 0' is below a tenth of its early value; per-layer curves in the norms figures).")


def _depth_sentence(s: dict) -> str:
    d, c = s["depth"], s["claims"]["depth"]
    return (f"One hidden layer of {d['1_hidden']['widths'][0]} reaches {_pct(d['1_hidden']['val_acc'])} held-out "
            f"accuracy on the 5-class mixture and two layers {_pct(d['2_hidden']['val_acc'])}: the seed's \"below 80%, "
            f"then above 90%\" is {compound_verdict(c)} ("
            + "; ".join(f"{p['claim']}: {verdict(p)}, {interval(p)}" for p in c["parts"]) + ").")


def _xor_sentence(s: dict) -> str:
    x = s["xor_loss"]
    slow, grad = s["claims"]["xor_loss"]
    sl = x["sigmoid_slope"]
    return (f"On XOR, MSE + sigmoid against cross-entropy: {sentence(slow)} The sigmoid's slope p(1 - p) averages "
            f"{sl['init']['median']:.3g} at init and {sl['end']['median']:.3g} at the end (at most 0.25; "
            f"{100 * (sl['saturated_end']['median'] or 0):.0f}% of outputs saturated at the end), and "
            f"{grad['claim'][4:]}: {verdict(grad)} ({interval(grad)}).")


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    out = _adam_sentence(s)
    out.append(_norms_sentence(s))
    out.append(_depth_sentence(s))
    out.append(_xor_sentence(s))
    t = tally(s["claims"]["init"])
    if len(out) < 5:
        out.append(f"He against Xavier init (each optimizer at its best lr): He reaches the target faster in "
                   f"{t['confirmed']} of {len(s['claims']['init'])} optimizer x data set pairs ({tally_text(t)}).")
    return out[:5]


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = []
    for d in s["datasets"]:
        rows = [f"{o['label']} lr {o['chosen_lr']:g}{' (grid edge)' if o['lr_at_grid_edge'] else ''}: "
                f"{_steps(o['best']['steps_to_target']['median_curve'])} steps, val acc {_pct(o['best']['final_val_acc'])}"
                for o in d["optimizers"]]
        out.append(f"{d['label']}, steps until the median train loss falls to {s['setup']['target_loss']:g} at each "
                   f"optimizer's chosen lr: " + "; ".join(rows) + ".")
        shared = [f"{o['label']} {_steps(o['shared']['steps_to_target']['median_curve'])}" for o in d["optimizers"]]
        out.append(f"{d['label']} at lr {s['setup']['shared_lr']:g}: " + ", ".join(shared) + " steps.")
    t = tally(s["claims"]["init"])
    out.append(f"He vs Xavier init at each optimizer's best lr, steps to the target: {tally_text(t)} "
               f"(\"He faster\") over {len(s['claims']['init'])} optimizer x data set pairs.")
    out.append(sentence(s["claims"]["depth_gain"]))
    return out


def _flat(records: list[dict]) -> list[dict]:
    return [p for r in records for p in r.get("parts", [r])]


def tables(run: RunData) -> list[dict]:
    s = run.summary
    out = []
    for d in s["datasets"]:
        out.append({"title": f"{d['label']}: per optimizer, median [95% interval] over {s['setup']['seeds']} seeds",
                    "columns": ["optimizer", "chosen lr", "steps to target (median curve)", "steps to target (seeds "
                                "that got there)", "reached", "final train loss", "final val acc",
                                f"steps at lr {s['setup']['shared_lr']:g}", f"val acc at lr {s['setup']['shared_lr']:g}",
                                "steps, Xavier init"],
                    "rows": [[o["label"], o["chosen_lr"], _steps(o["best"]["steps_to_target"]["median_curve"]),
                              o["best"]["steps_to_target"]["per_seed"],
                              f"{o['best']['steps_to_target']['reached']}/{o['best']['steps_to_target']['of']}",
                              o["best"]["final_train_loss"], o["best"]["final_val_acc"],
                              _steps(o["shared"]["steps_to_target"]["median_curve"]), o["shared"]["final_val_acc"],
                              _steps(o["xavier"]["steps_to_target"]["median_curve"])] for o in d["optimizers"]]})
    c = s["claims"]
    out.append(claims_table(c["adam_faster"], "Claim 1: \"Adam converges faster\" (paired over seeds)"))
    norms = claims_table(_flat(c["norms"]), "Claim 2: norms rise, then fall to almost 0 (each part; a set-up is "
                         "confirmed when both parts are)")
    out.append(norms)
    out.append(claims_table(_flat([c["depth"]]) + [c["depth_gain"]], "Claim 3: one against two hidden layers"))
    out.append(claims_table(c["xor_loss"], "MSE + sigmoid against cross-entropy on XOR"))
    out.append(claims_table(c["init"], "He against Xavier init, each optimizer at its best lr"))
    return out


def headline(summary: dict) -> str:
    c = summary["claims"]
    shared = tally([x for x in c["adam_faster"] if "/shared/" in x["id"]])
    best = tally([x for x in c["adam_faster"] if "/best/" in x["id"]])
    norms = [compound_verdict(x) for x in c["norms"]]
    return (f"Adam faster: {shared['confirmed']}/{sum(shared.values())} at lr {summary['setup']['shared_lr']:g}, "
            f"{best['confirmed']}/{sum(best.values())} at best lrs; norms rise-then-fall: "
            f"{norms.count('confirmed')}/{len(norms)} confirmed; depth claim: {compound_verdict(c['depth'])}")
