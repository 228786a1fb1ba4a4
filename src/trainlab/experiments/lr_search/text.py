"""What the lr-search study says, computed from its summary; every verdict is recomputed from its
interval (``claims.verdict``), so a sentence always says what the numbers say."""
from __future__ import annotations

from typing import Any, Optional

from trainlab.experiments.claims import claims_table, num, sentence, tally, tally_text, verdict
from trainlab.experiments.lr_search.summary import STAGE_WHAT
from trainlab.report.folder import RunData


def _stat(stat: Optional[dict], unit: str = "") -> str:
    if not stat or stat.get("median") is None:
        return "n/a"
    return f"{num(stat['median'], unit)} [{num(stat['lo'], unit)}, {num(stat['hi'], unit)}]"


def _claims(s: dict, kind: str) -> list[dict]:
    return [c for c in s["claims"] if c["id"].split("/", 1)[1] == kind]


def _names(items: list[str]) -> str:
    return f" ({', '.join(items)})" if items else ""


def stage_sentence(s: dict, k: int) -> str:
    """How often stage k left the configuration carried into it, and how often that was a confirmed gain."""
    moved = [d["name"] for d in s["datasets"] if len(d["staged"]["stages"]) >= k and d["staged"]["stages"][k - 1]["moved"]]
    cs = _claims(s, f"stage{k}")
    confirmed = [c["id"].split("/")[0] for c in cs if verdict(c) == "confirmed"]
    return (f"stage {k} ({STAGE_WHAT.get(k, 'its keys')}) left the configuration carried into it on {len(moved)} of "
            f"{len(cs)} data sets{_names(moved)}, with a lower validation loss confirmed on {len(confirmed)}"
            f"{_names(confirmed)}")


def stages_finding(s: dict) -> str:
    kinds = {c["id"].split("/", 1)[1] for c in s["claims"]}
    ks = sorted(int(k[len("stage"):]) for k in kinds if k.startswith("stage") and k[len("stage"):].isdigit())
    parts = [stage_sentence(s, k) for k in ks]
    return ("Staged search: " + "; ".join(parts) + " (95% paired intervals over "
            f"{s['setup']['seeds']} seeds).") if parts else "Staged search: a single stage, nothing carried."


def lr_finding(s: dict) -> str:
    """Whether one lr wins stage 1 everywhere, or how far apart the data sets' lrs are."""
    picks = [(d["staged"]["stages"][0]["winner"]["values"].get("optim.lr"), d["name"]) for d in s["datasets"]]
    picks = [p for p in picks if p[0] is not None]
    finals = "; ".join(f"{d['name']}: {d['staged']['final']['text']} (val loss {_stat(d['staged']['final']['val_loss'])})"
                       for d in s["datasets"])
    if len({lr for lr, _ in picks}) == 1:
        head = f"The same lr, {picks[0][0]:.3g}, wins the lr stage on every data set"
    else:
        (lo, lo_name), (hi, hi_name) = min(picks), max(picks)
        head = (f"No single lr wins the lr stage everywhere: from {lo:.3g} ({lo_name}) to {hi:.3g} ({hi_name}), "
                f"{hi / lo:.3g}x apart")
    return f"{head}. Final staged configurations: {finals}."


def coarse_finding(s: dict) -> str:
    """Did the coarse stage (a tenth of the steps) pick the full-length grid's lr?"""
    recs = [(d["name"], d["coarse_to_fine"]["coarse"]) for d in s["datasets"]]
    same = [n for n, r in recs if r["same"]]
    out = (f"At a tenth of the steps ({s['setup']['coarse_steps']}), the coarse stage picked the full-length grid's "
           f"lr on {len(same)} of {len(recs)} data sets")
    others = []
    for n, r in recs:
        if r["same"]:
            continue
        how = {True: "ties with the best there", False: "is worse than the best there",
               None: "has no paired interval there"}[r["tie_at_full"]]
        gap = r["gap_at_full"]
        shown = f" (paired gap {_stat(gap)})" if gap and gap.get("median") is not None else ""
        others.append(f"on {n} it picked {r['coarse_lr']:.3g} against {r['grid_lr']:.3g}, which at full length "
                      f"{how}{shown}")
    return out + (": " + "; ".join(others) if others else "") + "."


def tally_finding(s: dict, kind: str, what: str) -> str:
    cs = _claims(s, kind)
    t = tally(cs)
    won = [c["id"].split("/")[0] for c in cs if verdict(c) == "confirmed"]
    return f"{what} on {t['confirmed']} of {len(cs)} data sets{_names(won)}; {tally_text(t)}."


def flat_text(s: dict) -> str:
    """How flat the optimum is: of the fine stages' lrs, how many tie with their stage's best."""
    fine = [d["coarse_to_fine"]["stages"][-1] for d in s["datasets"]]
    return (f" Within the fine stages, {sum(f['ties'] for f in fine)} of {sum(f['configs'] - 1 for f in fine)} lrs "
            "tie with their stage's best.")


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    return [stages_finding(s), lr_finding(s), coarse_finding(s),
            tally_finding(s, "fine_vs_grid", "Refining the lr (12 log-spaced points around the coarse pick, full "
                          "length) beat the full-length grid's best lr") + flat_text(s),
            tally_finding(s, "staged_vs_fine", "The staged search (lr, model, optimizer) ended lower than the lr-only "
                          "coarse-to-fine search")]


def _stage_line(d: dict, search: str, st: dict) -> str:
    w = st["winner"]
    shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in st["fixed"].items())
    fixed = f", with {shown} fixed" if shown else ""
    return (f"{d['name']}, {search} {st['title']} ({st['configs']} configurations at {st['steps']} steps{fixed}): "
            f"best {w['text']}, val loss {_stat(w['val_loss'])}, val accuracy {_stat(w['val_acc'], 'pp')}%; "
            f"{st['ties']} other configuration(s) tie with it.")


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = []
    for d in s["datasets"]:
        out += [_stage_line(d, "staged", st) for st in d["staged"]["stages"]]
        out += [_stage_line(d, "coarse to fine", st) for st in d["coarse_to_fine"]["stages"]]
    out += [sentence(c) for c in s["claims"]]
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    rows: list[list[Any]] = []
    for d in s["datasets"]:
        for search, key in (("staged", "staged"), ("coarse to fine", "coarse_to_fine")):
            for st in d[key]["stages"]:
                rows.append([d["name"], f"{search}: {st['title']}", st["steps"], st["configs"], st["winner"]["text"],
                             st["winner"]["val_loss"], st["winner"]["val_acc"], st["ties"]])
    per = {"title": f"The winner of every stage: median [95% interval] over {s['setup']['seeds']} seeds",
           "columns": ["data set", "stage", "steps", "configurations", "winner", "final val loss", "final val accuracy",
                       "ties with the winner"], "rows": rows}
    return [per, claims_table(s["claims"], "Paired comparisons between the searches' winners")]


def headline(summary: dict) -> str:
    parts = []
    for kind, what in (("stage2", "model stage"), ("stage3", "optimizer stage"), ("fine_vs_grid", "fine beats grid"),
                       ("staged_vs_fine", "staged beats fine")):
        cs = _claims(summary, kind)
        if cs:
            parts.append(f"{what} {tally(cs)['confirmed']}/{len(cs)} confirmed")
    return "lr search: " + "; ".join(parts)

