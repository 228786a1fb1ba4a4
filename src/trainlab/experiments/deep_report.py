"""What the deep study says in words and tables, computed from its summary (never canned).

``diagnose`` names what a pair's statistics show (a fixed vocabulary, ``DIAGNOSES``);
``observations`` and ``tables`` turn the whole summary into sentences and tables for the report;
``headline`` is the one line for the console.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

EXPLODE = 1e3  # last/first activation std beyond this: exploding
VANISH = 1e-3  # below this: vanishing
GRAD_VANISH = 1e-2  # first-layer / last-layer weight-gradient std below this: vanishing gradients
GRAD_EXPLODE = 1e2
THEORY_FACTOR = 2.0  # "theory holds": measured/predicted within this factor at every layer
SATURATION: dict[str, tuple[str, float]] = {  # activation -> (statistic at the last layer, threshold)
    "tanh": ("act_abs_mean", 0.9),  # |tanh| near 1
    "sigmoid": ("act_std", 0.4),  # outputs near 0 or 1 (std 0.5 at most)
}


def _first_last(values: list) -> tuple[Optional[float], Optional[float]]:
    return values[0], values[-1]


def _ratio(values: list) -> Optional[float]:
    a, b = _first_last(values)
    if a is None or b is None or a <= 0:
        return None
    return b / a


def _has_flag(pair: dict, key: str) -> bool:
    return any(f is not None for f in pair["flags"].get(key, []))


def _saturated(pair: dict) -> bool:
    rule = SATURATION.get(pair["activation"])
    if rule is None:
        return False
    v = pair[rule[0]][-1]
    return v is not None and v >= rule[1]


def _grad_ratio(pair: dict) -> Optional[float]:
    """First-layer over last-layer weight-gradient std: backprop runs from the last layer to the first."""
    first, last = _first_last(pair["grad_std"])
    if first is None or last is None or last <= 0:
        return None
    return first / last


DIAGNOSES: dict[str, tuple[Callable[[dict], bool], str]] = {
    "overflow": (lambda p: max(p["nonfinite_frac"]) > 0, "activations overflow float32 (inf/NaN)"),
    "exploding_activations": (lambda p: _has_flag(p, "act_std") or (_ratio(p["act_std"]) or 0) > EXPLODE,
                              f"activation std grows over {EXPLODE:g}x from the first to the last layer"),
    "vanishing_activations": (lambda p: p["act_std"][-1] == 0 or (_ratio(p["act_std"]) or 1) < VANISH,
                              f"activation std shrinks below {VANISH:g}x of the first layer's"),
    "dead_layer": (lambda p: max(p["zero_frac"]) >= 1.0, "a layer whose activations are all exactly zero"),
    "saturated": (_saturated, "saturating units: tanh |a| mean >= 0.9 or sigmoid std >= 0.4 at the last layer"),
    "vanishing_gradients": (lambda p: (p["grad_std"][0] == 0 and (p["grad_std"][-1] or 0) > 0)
                            or (_grad_ratio(p) or 1) < GRAD_VANISH,
                            f"first-layer weight-gradient std below {GRAD_VANISH:g}x of the last layer's"),
    "exploding_gradients": (lambda p: _has_flag(p, "grad_std") or (_grad_ratio(p) or 0) > GRAD_EXPLODE,
                            f"first-layer weight-gradient std above {GRAD_EXPLODE:g}x of the last layer's, or not finite"),
}


def diagnose(pair: dict) -> list[str]:
    """The DIAGNOSES codes a pair's statistics show, in table order."""
    return [code for code, (test, _) in DIAGNOSES.items() if test(pair)]


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


def observations(summary: dict) -> list[str]:
    """Sentences computed from the results."""
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


def tables(summary: dict) -> list[dict]:
    """Report tables: last-layer std per set-up, trainability, He claim."""
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
        parts.append(f"He+ReLU {setup['depth']}x{setup['width']}: last/first std {fmt(_ratio(he['act_std']))}")
    if naive is not None:
        parts.append(f"N(0,1)+ReLU: last std {_last_std(naive)}")
    verdicts = summary["he_claim"]["verdicts"]
    if verdicts:
        parts.append(f"He claim: {verdicts[0]['verdict']} (lr {verdicts[0]['lr']:g})")
    return "; ".join(parts)
