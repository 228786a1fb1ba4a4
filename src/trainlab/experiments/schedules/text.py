"""What the schedules study says, computed from its summary (verdicts recomputed from the intervals)."""
from __future__ import annotations

from trainlab.experiments.claims import claims_table, interval, sentence, tally, tally_text, verdict
from trainlab.experiments.schedules.summary import schedule
from trainlab.report.folder import RunData


def _loss(stat: dict) -> str:
    if stat.get("median") is None:
        return "n/a"
    return f"{stat['median']:.3g} [{stat['lo']:.3g}, {stat['hi']:.3g}]"


def _kind(s: dict, kind: str) -> list[dict]:
    return [c for c in s["claims"] if c["id"].startswith(kind + "/")]


def _best(s: dict, key: str) -> dict:
    scored = [x for x in s["schedules"] if x["final"][key]["median"] is not None]
    return min(scored, key=lambda x: x["final"][key]["median"]) if scored else s["schedules"][0]


def _count_sentence(s: dict, kind: str, what: str) -> str:
    cs = _kind(s, kind)
    confirmed = [c["a"] for c in cs if verdict(c) == "confirmed"]
    t = tally(cs)
    which = f": {', '.join(confirmed)}" if confirmed else ""
    return (f"Against a constant lr, {t['confirmed']} of {len(cs)} decaying schedules end with a lower {what} "
            f"(confirmed{which}); {tally_text(t)}.")


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    const = schedule(s, "constant")
    best_train, best_val = _best(s, "train_loss"), _best(s, "val_loss")
    out = [_count_sentence(s, "train", "train loss"), _count_sentence(s, "val", "validation loss")]
    if best_train["name"] != "constant":
        c = next(c for c in s["claims"] if c["id"] == f"train/{best_train['name']}")
        out.append(f"The lowest final train loss is {best_train['label']}'s, {_loss(best_train['final']['train_loss'])} "
                   f"against {_loss(const['final']['train_loss'])} at a constant lr ({interval(c)}).")
    else:
        out.append(f"The constant lr ends with the lowest train loss, {_loss(const['final']['train_loss'])}.")
    if best_val["name"] != "constant":
        c = next(c for c in s["claims"] if c["id"] == f"val/{best_val['name']}")
        out.append(sentence(c, "Best on validation: "))
    out.append(f"Validation accuracy at the end ranges from "
               f"{100 * min(x['final']['val_acc']['median'] or 0 for x in s['schedules']):.1f}% to "
               f"{100 * max(x['final']['val_acc']['median'] or 0 for x in s['schedules']):.1f}% over the "
               f"{len(s['schedules'])} schedules (medians over {s['setup']['seeds']} seeds).")
    return out[:5]


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = [f"{x['label']}: the lr ends at {x['final_factor']:.3g}x its start (mean {x['mean_factor']:.3g}x over the "
           f"run); final train loss {_loss(x['final']['train_loss'])}, validation loss {_loss(x['final']['val_loss'])}, "
           f"best validation loss during the run {_loss(x['best_val_loss'])}"
           + (f"; {x['frozen']} seed(s) diverged" if x["frozen"] else "") + "."
           for x in s["schedules"]]
    out += [sentence(c) for c in s["claims"]]
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    per = {"title": "Per schedule, median [95% interval] over seeds",
           "columns": ["schedule", "lr factor at the end", "mean lr factor", "final train loss", "final val loss",
                       "final val accuracy", "best val loss"],
           "rows": [[x["label"], x["final_factor"], x["mean_factor"], x["final"]["train_loss"], x["final"]["val_loss"],
                     x["final"]["val_acc"], x["best_val_loss"]] for x in s["schedules"]]}
    return [per, claims_table(s["claims"], "Each decaying schedule against the constant lr, paired over seeds")]


def headline(summary: dict) -> str:
    tr, va = tally(_kind(summary, "train")), tally(_kind(summary, "val"))
    n = len(_kind(summary, "train"))
    return (f"decay lowers the final train loss: {tr['confirmed']}/{n} confirmed; validation loss: "
            f"{va['confirmed']}/{n} confirmed")
