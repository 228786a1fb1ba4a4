"""What the deep study says in words and tables, computed from its summary (never canned).

``observations``, ``tables`` and ``key_findings`` turn the summary (``RunData``) into sentences and
tables for the report; ``headline`` is the one line for the console. The diagnoses they count are
labels of the results (``summary.DIAGNOSES``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

from trainlab.experiments.deep.summary import DIAGNOSES, THEORY_FACTOR, last_over_first
from trainlab.report.folder import RunData

def fmt(v: Optional[float], flag: Optional[str] = None) -> str:
    """A statistic for a sentence or table cell: 3 significant digits, 0, or why it is missing."""
    if v is None:
        return flag or "n/a"
    if v == 0:
        return "0"
    return f"{v:.3g}"


def _std_story(pair: dict, setup: dict) -> str:
    s = pair["act_std"]
    flags = pair["flags"].get("act_std", [None] * len(s))
    name = f"{pair['init']}+{pair['activation']} at {setup['depth']}x{setup['width']}"
    bad = [i for i, v in enumerate(s) if v is None]
    if bad:
        i = bad[0]
        return (f"{name}: activation std grows from {fmt(s[0])} at layer 1 to {fmt(s[i - 1]) if i else 'n/a'} at layer {i}, "
                f"then {flags[i]} (not finite, null) from layer {i + 1} on")
    return f"{name}: activation std goes from {fmt(s[0])} at layer 1 to {fmt(s[-1])} at layer {len(s)}"


def _pair(setup: dict, init: str, act: str) -> Optional[dict]:
    return next((p for p in setup["pairs"] if p["init"] == init and p["activation"] == act), None)


STORY_PAIRS = (("N(0,1)", "relu"), ("xavier_normal", "relu"), ("he_normal", "relu"), ("lsuv", "relu"))


def _theory_sentence(setup: dict) -> Optional[str]:
    scored = []
    for p in setup["pairs"]:
        if p["ratio"] is None or p["same_as"]:
            continue
        logs = [abs(math.log10(r)) for r in p["ratio"] if r is not None and r > 0]
        if logs:
            scored.append((max(logs), p))
    if not scored:
        return None
    holds = sum(1 for m, _ in scored if m <= math.log10(THEORY_FACTOR))
    worst_m, worst = max(scored, key=lambda t: t[0])
    return (f"{setup['name']} {setup['depth']}x{setup['width']}: variance propagation predicts the pre-activation variance "
            f"within a factor {THEORY_FACTOR:g} at every finite layer for {holds} of {len(scored)} pairs it applies to; "
            f"the worst is {worst['init']}+{worst['activation']} (off by a factor {10 ** worst_m:.3g} at some layer)")


def _train_sentence(setup: dict, training: dict) -> str:
    pairs = [p for p in setup["pairs"] if p["trainable"] and not p["same_as"]]
    ok = [p for p in pairs if (p["trainable"]["reached_acc"]["median"] or 0) >= 0.9]
    fast = min(ok, key=lambda p: p["trainable"]["steps_to_90"]["median"] or math.inf, default=None)
    never = [f"{p['init']}+{p['activation']}" for p in pairs if p["trainable"]["steps_to_90"]["n"] == 0]
    s = (f"{setup['depth']}x{setup['width']} on circles, {training['steps']} steps of SGD (lr {training['lr']:g}, momentum "
         f"{training['momentum']:g}), {training['seeds']} seeds: {len(ok)} of {len(pairs)} distinct pairs end at >= 90% "
         f"training accuracy (median)")
    if fast is not None:
        s += f"; fastest {fast['init']}+{fast['activation']} (median {fmt(fast['trainable']['steps_to_90']['median'])} steps to 90%)"
    if never:
        s += f"; never reach 90% with any seed: {', '.join(never)}"
    return s


def _he_sentences(he: dict) -> list[str]:
    out = []
    for v in he["verdicts"]:
        runs = {r["init"]: r for r in he["runs"] if r["lr"] == v["lr"]}
        he_r, xa_r = runs["he_normal"], runs["xavier_normal"]
        out.append(f"He et al. 2015 at {he['depth']}x{he['width']} ReLU, lr {v['lr']:g}, {he['seeds']} seeds, {he['steps']} steps: "
                   f"He reaches {fmt(v['he_reached_acc'])} median training accuracy ({he_r['steps_to_90']['n']} seeds hit 90%, "
                   f"median {fmt(he_r['steps_to_90']['median'])} steps), Xavier {fmt(v['xavier_reached_acc'])} "
                   f"({xa_r['steps_to_90']['n']} hit 90%, median {fmt(xa_r['steps_to_90']['median'])} steps): claim {v['verdict']}")
    return out


def observations(run: RunData) -> list[str]:
    """Sentences computed from the results."""
    summary = run.summary
    out: list[str] = []
    for setup in summary["setups"]:
        for init, act in STORY_PAIRS:
            p = _pair(setup, init, act)
            if p is not None:
                out.append(_std_story(p, setup))
        tanh = _pair(setup, "N(0,1)", "tanh")
        if tanh is not None and tanh["act_abs_mean"][-1] is not None:
            out.append(f"N(0,1)+tanh at {setup['depth']}x{setup['width']}: mean |activation| at the last layer is "
                       f"{fmt(tanh['act_abs_mean'][-1])} (1 = fully saturated)")
        distinct = [p for p in setup["pairs"] if not p["same_as"]]
        counts = {code: sum(1 for p in distinct if code in p["diagnosis"]) for code in DIAGNOSES}
        out.append(f"{setup['name']} {setup['depth']}x{setup['width']}, {len(distinct)} distinct pairs: "
                   + ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in counts.items()))
        theory = _theory_sentence(setup)
        if theory:
            out.append(theory)
        if setup.get("training"):
            out.append(_train_sentence(setup, setup["training"]))
    out += _he_sentences(summary["he_claim"])
    return out


def _grid(setup: dict, cell: Callable[[dict], Any]) -> tuple[list[str], list[list]]:
    inits = list(dict.fromkeys(p["init"] for p in setup["pairs"]))
    acts = list(dict.fromkeys(p["activation"] for p in setup["pairs"]))
    rows = [[i] + [cell(_pair(setup, i, a)) for a in acts] for i in inits]
    return ["init"] + acts, rows


def _last_std(p: dict) -> str:
    v = p["act_std"][-1]
    flag = (p["flags"].get("act_std") or [None])[-1]
    return "0 (vanished)" if v == 0 else fmt(v, flag)


def _train_cell(p: dict) -> str:
    t = p["trainable"]
    steps = t["steps_to_90"]
    return f"{fmt(t['reached_acc']['median'], 'diverged')} / {fmt(steps['median'], 'never')}"


def tables(run: RunData) -> list[dict]:
    """Report tables: last-layer std per set-up, trainability, He claim."""
    summary = run.summary
    out = []
    for setup in summary["setups"]:
        cols, rows = _grid(setup, _last_std)
        out.append({"title": f"Activation std at the last layer ({setup['name']}, {setup['depth']}x{setup['width']})",
                    "columns": cols, "rows": rows})
        if setup.get("training"):
            cols, rows = _grid(setup, _train_cell)
            out.append({"title": f"Trainability ({setup['depth']}x{setup['width']}, circles): median training accuracy "
                                 f"after {setup['training']['steps']} steps / median steps to 90%", "columns": cols, "rows": rows})
    he = summary["he_claim"]
    out.append({"title": f"He et al. 2015 claim at {he['depth']}x{he['width']} ReLU ({he['seeds']} seeds)",
                "columns": ["init", "lr", "reached_acc median [lo, hi]", "steps_to_90 median", "seeds at 90%", "diverged"],
                "rows": [[r["init"], r["lr"], f"{fmt(r['reached_acc']['median'])} [{fmt(r['reached_acc']['lo'])}, "
                          f"{fmt(r['reached_acc']['hi'])}]", fmt(r["steps_to_90"]["median"], "never"),
                          r["steps_to_90"]["n"], r["diverged"]] for r in he["runs"]]})
    return out


def headline(summary: dict) -> str:
    """One console line: the report set-up's He+ReLU and N(0,1)+ReLU, and the He claim."""
    setup = summary["setups"][-1]
    he = _pair(setup, "he_normal", "relu")
    naive = _pair(setup, "N(0,1)", "relu")
    parts = []
    if he is not None:
        parts.append(f"He+ReLU {setup['depth']}x{setup['width']}: last/first std {fmt(last_over_first(he['act_std']))}")
    if naive is not None:
        parts.append(f"N(0,1)+ReLU: last std {_last_std(naive)}")
    verdicts = summary["he_claim"]["verdicts"]
    if verdicts:
        parts.append(f"He claim: {verdicts[0]['verdict']} (lr {verdicts[0]['lr']:g})")
    return "; ".join(parts)


def key_findings(run: RunData) -> list[str]:
    """The 3-5 sentences the report leads with: N(0, 1) vs He through depth, theory, training, He's claim."""
    s = run.summary
    deepest = max(s["setups"], key=lambda st: st["depth"])
    out = []
    naive, he = _pair(deepest, "N(0,1)", "relu"), _pair(deepest, "he_normal", "relu")
    if naive is not None and he is not None:
        last = naive["act_std"][-1]
        ends = ("is not finite at the last layer: it overflowed float32" if last is None
                else f"ends at {fmt(last)} at the last layer")
        out.append(f"At {deepest['depth']}x{deepest['width']}, the activation std of N(0, 1) + ReLU {ends}, while He + "
                   f"ReLU keeps it at {fmt(last_over_first(he['act_std']))}x the first layer's.")
    theory = _theory_sentence(deepest)
    if theory:
        out.append(theory[0].upper() + theory[1:] + ".")
    for setup in s["setups"]:
        tr = setup.get("training")
        if tr:
            pairs = [p for p in setup["pairs"] if p["trainable"] and not p["same_as"]]
            ok = sum(1 for p in pairs if (p["trainable"]["reached_acc"]["median"] or 0) >= 0.9)
            never = sum(1 for p in pairs if p["trainable"]["steps_to_90"]["n"] == 0)
            out.append(f"Trained at {setup['depth']}x{setup['width']} on circles for {tr['steps']} steps, {ok} of "
                       f"{len(pairs)} distinct init x activation pairs end at >= 90% training accuracy; {never} never "
                       "reach it with any seed.")
    out += [f"He et al. 2015 at {s['he_claim']['depth']}x{s['he_claim']['width']} ReLU, lr {v['lr']:g}: claim "
            f"{v['verdict']} (median training accuracy He {fmt(v['he_reached_acc'])}, Xavier "
            f"{fmt(v['xavier_reached_acc'])})." for v in s["he_claim"]["verdicts"]]
    return out[:5]
