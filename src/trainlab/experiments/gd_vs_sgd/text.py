"""What the GD vs SGD study says, computed from its summary: every verdict is recomputed from the
stored interval (``claims.verdict``), every number read from the summary."""
from __future__ import annotations

from trainlab.experiments.claims import claims_table, num, sentence, tally, tally_text, verdict
from trainlab.experiments.gd_vs_sgd.summary import arm
from trainlab.report.folder import RunData


def _pct(stat: dict) -> str:
    if stat.get("median") is None:
        return "n/a"
    return f"{100 * stat['median']:.1f}% [{100 * stat['lo']:.1f}, {100 * stat['hi']:.1f}]"


def _loss(stat: dict) -> str:
    if stat.get("median") is None:
        return "n/a"
    return f"{stat['median']:.3g} [{stat['lo']:.3g}, {stat['hi']:.3g}]"


def _claim(s: dict, cid: str) -> dict:
    return next(c for c in s["claims"] if c["id"] == cid)


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    sgd, gd, scaled = arm(s, "sgd"), arm(s, "gd"), arm(s, "gd_scaled")
    e, u = sgd["early"]["epoch"], sgd["at_update"]["update"]
    out = [
        f"After {e} epochs the train loss is {_loss(sgd['early']['train_loss'])} with mini-batch SGD and "
        f"{_loss(gd['early']['train_loss'])} with GD: " + sentence(_claim(s, "per_epoch"), "the seed's "),
        f"Counted in updates, GD's {u} updates end at train loss {_loss(gd['at_update']['train_loss'])} and SGD's first "
        f"{u} at {_loss(sgd['at_update']['train_loss'])}: " + sentence(_claim(s, "per_update")),
        sentence(_claim(s, "scaled_lr")) + " " + sentence(_claim(s, "sgd_vs_scaled")),
        f"After {s['setup']['epochs']} epochs the test accuracy is {_pct(sgd['final']['test_acc'])} (SGD), "
        f"{_pct(gd['final']['test_acc'])} (GD) and {_pct(scaled['final']['test_acc'])} (GD, lr x N/B), medians over "
        f"{s['setup']['seeds']} seeds with 95% intervals.",
        sentence(_claim(s, "test_above_train")),
    ]
    return out


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = []
    for a in s["arms"]:
        t = a["epochs_to_target"]
        reach = (f"reaches {100 * t['target']:.0f}% test accuracy after a median {num(t['epochs']['median'])} epochs "
                 f"({t['reached']} of {t['of']} seeds)" if t["reached"] else
                 f"never reaches {100 * t['target']:.0f}% test accuracy in {s['setup']['epochs']} epochs")
        frozen = f"; {a['frozen']} seed(s) diverged (non-finite loss, frozen)" if a["frozen"] else ""
        out.append(f"{a['label']}: {a['updates']} updates ({a['updates_per_epoch']} per epoch), final train loss "
                   f"{_loss(a['final']['train_loss'])}, test loss {_loss(a['final']['test_loss'])}; {reach}{frozen}.")
    counts = tally(s["claims"])
    out.append(f"The seed's {len(s['claims'])} statements tested on {s['setup']['seeds']} paired seeds: "
               f"{tally_text(counts)}.")
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    arms_t = {"title": "Per arm, median [95% interval] over seeds",
              "columns": ["arm", "lr", "updates", "final train loss", "final test loss", "final train acc",
                          "final test acc", f"train loss after {s['arms'][0]['early']['epoch']} epochs",
                          f"train loss after {s['arms'][0]['at_update']['update']} updates"],
              "rows": [[a["label"], a["lr"], a["updates"], a["final"]["train_loss"], a["final"]["test_loss"],
                        a["final"]["train_acc"], a["final"]["test_acc"], a["early"]["train_loss"],
                        a["at_update"]["train_loss"]] for a in s["arms"]]}
    return [arms_t, claims_table(s["claims"], "The seed's statements: paired over seeds, 95% bootstrap intervals")]


def headline(summary: dict) -> str:
    verdicts = {c["id"]: verdict(c) for c in summary["claims"]}
    return (f"per epoch SGD ahead: {verdicts['per_epoch']}; per update GD ahead: {verdicts['per_update']}; "
            f"lr x N/B helps GD: {verdicts['scaled_lr']}")
