"""Parts 2 and 3 of the lab answered (seed 000: a deep network's statistics at init; dropout), from the
deep and dropout studies' summaries. Thresholds are named below with their reason.
"""
from __future__ import annotations

from typing import Any, Optional

from trainlab.report.answers import Answer, Question, inconclusive_notes, quick_note, stat_text, tally, verdict_word
from trainlab.report.lookup import Sources, find
from trainlab.report.verdicts import Above, Check, Direction, Evidence, Highest, Near, WithinFactor

PART2_NAME = "Part 2: Initialization, a deep network"
PART3_NAME = "Part 3: Regularization, dropout"
EXPLODE = 1e3  # mean |activation| at the last layer above this: exploded (the inputs have |x| ~ 1)
SATURATED = 0.9  # mean |tanh| above this: saturated units (|tanh| -> 1)
KEEPS = 4.0  # "keeps its scale": the last layer's mean |a| within this factor of the first layer's
MATCH_POINTS = 0.005  # "matches eval mode": an ensemble within half a point of the eval-mode error
LAB_DEPTH, LAB_WIDTH, LAB_N = 20, 100, 10_000  # Part 2's set-up; "much larger sample set" read as 10,000
LAB_TRAIN, LAB_VAL = 5000, 10000  # Part 3's protocol on MNIST


def check(label: str, evidence: list[Evidence], rule) -> Check:
    return Check(label, evidence, rule).run()


def ev(sources: Sources, study: str, label: str, *path: Any) -> Evidence:
    value, where = find(sources, study, *path)
    return Evidence(label, where, value)


# ---------------------------------------------------------------------------------------------- Part 2

def deep_setup(sources: Sources, a: Answer) -> None:
    s = sources.summaries["deep"]
    st = s["settings"]
    for b in s["setups"]:
        d = b.get("abs_draws") or {}
        a.sentences.append(f"{b['name']}: {b['depth']} hidden layers of {b['width']} units, zero biases, a linear head "
                           f"to {b['n_classes']} classes; statistics at init on {b['n']:,} {b['inputs']} inputs"
                           + (f", the lab's |activation| statistic over {d['draws']} independent draws of the network "
                              f"on the first {d['rows']:,} of them" if d else "") + ".")
    lab = next((b for b in s["setups"] if b["name"] == "lab"), None)
    if lab is not None and (lab["depth"], lab["width"]) != (LAB_DEPTH, LAB_WIDTH):
        a.departures.append(f"The lab's network is {lab['depth']} x {lab['width']} here instead of {LAB_DEPTH} x "
                            f"{LAB_WIDTH} (settings lab_depth, lab_width).")
    if lab is not None and lab["n"] < LAB_N:
        a.departures.append(f"{lab['n']:,} circles points for the statistics instead of a much larger sample "
                            f"(read here as {LAB_N:,}).")
    for b in s["setups"]:
        d = b.get("abs_draws")
        if d and d["rows"] < b["n"]:
            a.departures.append(f"{b['name']}: the draws use the first {d['rows']:,} of the {b['n']:,} rows (one draw's "
                                "statistic over rows x width values varies far less than the draws do); draw 0 is the "
                                "network of the full-batch pass.")
    a.departures.append("In addition: the student report's 50 x 512 network on N(0, 1) vectors, the forward pass "
                        "collecting the statistics per layer (trainlab.lab_models.DeepNet shows it in plain PyTorch), "
                        "and Glorot and He in both their normal and uniform forms.")
    if st.get("preset") == "quick":
        a.departures.append("Quick run: the set-ups are small stand-ins for 20 x 100 and 50 x 512.")
    quick_note(a, s)


def _pair(block: dict, init: str, act: str) -> Optional[dict]:
    return next((p for p in block["pairs"] if p["init"] == init and p["activation"] == act), None)


def _layer_ev(sources: Sources, b: dict, init: str, act: str, layer: int) -> Evidence:
    """Mean |a| over draws at ``layer``; for the last layer (-1), the last one that is not NaN: past an
    overflow the next layer computes inf - inf, and the overflow is what the net did."""
    where = ""
    if layer == -1:
        stats = (_pair(b["abs_draws"], init, act) or {}).get("act_abs_mean") or []
        layer = len(stats) - 1
        while layer > 0 and isinstance(stats[layer], dict) and stats[layer].get("flag") == "nan":
            layer -= 1
        where = "" if layer == len(stats) - 1 else ", the last layer before NaN"
    return ev(sources, "deep", f"{init}+{act}, layer {layer + 1}{where}: mean |a| over draws", "setups",
              {"name": b["name"]}, "abs_draws", "pairs", {"init": init, "activation": act}, "act_abs_mean", layer)


def _last_text(stats: list) -> str:
    """The last layer's statistic, or the last one before NaN, named by its layer."""
    k = len(stats) - 1
    while k > 0 and isinstance(stats[k], dict) and stats[k].get("flag") == "nan":
        k -= 1
    text = stat_text(stats[k])
    return text if k == len(stats) - 1 else f"{text} at layer {k + 1} (NaN after it)"


def deep_stats(sources: Sources, a: Answer) -> None:
    s = sources.summaries["deep"]
    for b in s["setups"]:
        d = b.get("abs_draws")
        if not d:
            continue
        shape = f"{b['depth']} x {b['width']}"
        rules = (("N(0,1)", "relu", f"N(0, 1) + ReLU explodes at {shape} (mean |a| at the last layer above {EXPLODE:g})",
                  [-1], Above(EXPLODE)),
                 ("N(0,1)", "tanh", f"N(0, 1) + tanh saturates at {shape} (mean |a| at the last layer above {SATURATED:g})",
                  [-1], Above(SATURATED)),
                 ("xavier_normal", "relu", f"Glorot + ReLU shrinks from layer 1 to the last at {shape}", [0, -1], Highest()),
                 ("xavier_normal", "tanh", f"Glorot + tanh does not saturate at {shape}", [-1], Above(SATURATED, below=True)),
                 ("he_normal", "relu", f"He + ReLU keeps its scale at {shape} (last layer within a factor {KEEPS:g} of the "
                  "first)", [0, -1], WithinFactor(KEEPS)))
        for init, act, label, layers, rule in rules:
            if _pair(d, init, act) is not None:
                a.checks.append(check(label, [_layer_ev(sources, b, init, act, i) for i in layers], rule))
        parts = [f"{p['init']}+{p['activation']} {stat_text(p['act_abs_mean'][0])} -> {_last_text(p['act_abs_mean'])}"
                 for p in d["pairs"] if p["init"] in ("N(0,1)", "xavier_normal", "he_normal")]
        a.sentences.append(f"At {shape} ({b['name']}), mean |activation| from layer 1 to layer {b['depth']}, median "
                           f"[95% CI] over {d['draws']} draws: " + "; ".join(parts) + ".")
    verdicts = {c.label.split(" at ")[0]: c for c in a.checks}
    said = [f"{k} {verdict_word(c, 'holds', 'does not hold')}" for k, c in list(verdicts.items())[:5]]
    if said:
        a.sentences.append("So: " + "; ".join(said) + ". N(0, 1) ignores the fan-in (the variance grows by the width "
                           "every layer); Glorot keeps the variance for a gain-1 activation and halves it per ReLU "
                           "layer; He's factor 2 makes up for the ReLU's half.")
    a.figures += ["lab_abs_draws.png", "report_abs_draws.png"]
    inconclusive_notes(a, s["settings"].get("draws"))


# ---------------------------------------------------------------------------------------------- Part 3

def dropout_setup(sources: Sources, a: Answer) -> None:
    s = sources.summaries["dropout"]
    st, tr = s["settings"], s["training"]
    a.sentences.append(f"Data: {s['data_source']}; {s['train_size']:,} train / {s['val_size']:,} val samples drawn from "
                       "the training images, normalized with training statistics; the test split untouched"
                       + (" (evaluated once, --test)" if s.get("test_size") else "") + ".")
    a.sentences.append(f"Network {'-'.join(map(str, s['network']['sizes']))} ReLU, zero biases; inits: "
                       + "; ".join(f"{k}: {v['meaning']}" for k, v in s["inits"].items() if k in st["inits"])
                       + f". AdamW lr {tr['lr']:g} (weight decay {tr['weight_decay']:g}), batch {tr['batch_size']}, "
                       f"{tr['epochs']} epochs, {tr['seeds']} seeds.")
    if s.get("data_fallback"):
        a.departures.append(f"{s['train_size']:,} train / {s['val_size']:,} val instead of {LAB_TRAIN:,} / {LAB_VAL:,}, "
                            "because full MNIST was not available: the run fell back to mnist-5k.")
    elif (s["train_size"], s["val_size"]) != (LAB_TRAIN, LAB_VAL):
        a.departures.append(f"{s['train_size']:,} train / {s['val_size']:,} val instead of {LAB_TRAIN:,} / {LAB_VAL:,} "
                            "(settings n_train, n_val or the dataset's size).")
    if not s["data_source"].startswith("mnist"):
        a.departures.append(f"Dataset {s['data_source'].split()[0]} instead of MNIST: the lab's protocol on other data.")
    a.departures.append("Dropout variants: none, 20% input + 50% hidden (the paper's), 20% hidden, 50% hidden only; the "
                        "lab's '50% dropout after every hidden layer and on the input' is closest to the paper's 20% + "
                        "50% (the input at 50% is not trained).")
    a.departures.append("N(0, 0.1) is read with 0.1 as the standard deviation; He init is trained beside it.")
    if tr["weight_decay"]:
        a.departures.append(f"AdamW's weight decay is torch's default {tr['weight_decay']:g}; the lab names only the lr.")
    quick_note(a, s)


def _variant(s: dict, init: str, name: str) -> Optional[dict]:
    return next((v for v in s["variants"] if v["init"] == init and v["name"] == name), None)


def dropout_compare(sources: Sources, a: Answer) -> None:
    s = sources.summaries["dropout"]
    gaps, vals, trains = [], [], []
    for init in s["settings"]["inits"]:
        none = _variant(s, init, "none")
        if none is None:
            continue
        a.details.append(f"{init} init, no dropout: train error {stat_text(none['train_error'], True)}, val error "
                         f"{stat_text(none['val_error'], True)}, val loss {stat_text(none['val_loss'])} at the best "
                         f"epoch {stat_text(none['best_epoch'])}.")
        for name in ("hid50", "in20-hid50"):
            v = _variant(s, init, name)
            if v is None or "vs_none" not in v:
                continue
            gap, val, train = _dropout_checks(sources, init, v)
            gaps.append(gap), vals.append(val), trains.append(train)
            a.details.append(f"{init} init, {v['label']}: train error {stat_text(v['train_error'], True)}, val error "
                             f"{stat_text(v['val_error'], True)}; paired over seeds against no dropout the gap "
                             f"{verdict_word(gap, 'narrows', 'widens')}, the val error {verdict_word(val, 'drops', 'rises')}, "
                             f"the train error {verdict_word(train, 'rises', 'drops')}.")
    a.checks += [c for trio in zip(gaps, vals, trains) for c in trio]
    if gaps:
        a.sentences += _dropout_sentences(s, gaps, vals, trains)
    ext = s.get("he_extension")
    if ext:
        counts = ", ".join(f"{k} {n}/{ext['seeds_main']}" for k, n in ext.get("best_is_last", {}).items())
        text = f"With He init the best epoch is the last of {ext['last_epoch']} for: {counts or 'n/a'}"
        if ext["ran"]:
            text += (f"; the He-only run to at most {ext['epochs_cap']} epochs finds best epochs " + "; ".join(
                f"{r['label']} {', '.join(map(str, r['best_epochs']))}" for r in ext["variants"]))
        elif ext.get("reason"):
            text += f"; no He-only run: {ext['reason']}"
        a.sentences.append(text + ".")
    a.figures += ["curves_lab.png", "curves_he.png"] + (["he_extension.png"] if ext and ext["ran"] else [])
    inconclusive_notes(a, s["settings"]["seeds"])


def _dropout_checks(sources: Sources, init: str, v: dict) -> tuple[Check, Check, Check]:
    """Against no dropout, paired over seeds: the gap narrows, the val error drops, the train error rises."""
    path = ("variants", {"init": init, "name": v["name"]}, "vs_none")
    gap = check(f"{init}, {v['label']}: the train-val gap narrows",
                [ev(sources, "dropout", "gap minus no dropout's, paired", *path, "gap")], Direction("negative"))
    val = check(f"{init}, {v['label']}: the val error drops",
                [ev(sources, "dropout", "val error minus no dropout's, paired", *path, "val_error")], Direction("negative"))
    train = check(f"{init}, {v['label']}: the train error rises",
                  [ev(sources, "dropout", "train error minus no dropout's, paired", *path, "train_error")],
                  Direction("positive"))
    return gap, val, train


def _dropout_sentences(s: dict, gaps: list[Check], vals: list[Check], trains: list[Check]) -> list[str]:
    """What the checks say together: does dropout regularize in this run, and how sure is it."""
    n, seeds, epochs = len(gaps), s["settings"]["seeds"], s["training"]["epochs"]
    narrows = sum(c.verdict == "confirmed" for c in gaps)
    drops = sum(c.verdict == "confirmed" for c in vals)
    rises = sum(c.verdict == "refuted" for c in vals)
    out = [f"Against no dropout, paired over {seeds} seed(s) at each member's best epoch of {epochs}, over {n} "
           f"dropout set-ups (inits x 50% hidden, 20% input + 50% hidden): the train error rises in {tally(trains)}, "
           f"the train-val gap narrows in {tally(gaps)}, and the val error drops in {drops} and rises in {rises} of "
           f"{n} (95% intervals; the rest inconclusive)."]
    if not narrows:
        out.append("This run cannot show dropout regularizing: no gap narrows measurably" + (
            f" with {seeds} seed(s); more seeds decide it." if seeds < 3 else "."))
    elif drops and not rises:
        out.append(f"So dropout regularizes here: it gives up train error for a smaller generalization gap, and in "
                   f"{drops} set-up(s) that buys a measurably lower val error.")
    elif drops:
        out.append(f"Dropout narrows the gap in {narrows} of {n} set-ups, but it pays in val error only in {drops} and "
                   f"costs in {rises}: within {epochs} epochs the heavier dropout has not caught up.")
    else:
        out.append("Dropout narrows the gap here, but the val error does not measurably drop" + (
            f" (it rises in {rises})" if rises else "") + f": within {epochs} epochs the regularization does not pay.")
    return out


def ensembles(sources: Sources, a: Answer) -> None:
    s = sources.summaries["dropout"]
    ones, bigs, last, first = [], [], None, None
    for v in s["variants"]:
        es = v.get("ensemble_seeds")
        if not es:
            continue
        first, last = str(es["sizes"][0]), str(es["sizes"][-1])
        path = ("variants", {"init": v["init"], "name": v["name"]}, "ensemble_seeds", "minus_eval_mode")
        ones.append(check(f"{v['init']}, {v['label']}: one stochastic pass is worse than eval mode",
                          [ev(sources, "dropout", f"T = {first} minus eval mode, paired", *path, first)],
                          Direction("positive")))
        bigs.append(check(f"{v['init']}, {v['label']}: the {last}-pass ensemble is within {100 * MATCH_POINTS:g} points "
                          "of eval mode", [ev(sources, "dropout", f"T = {last} minus eval mode, paired", *path, last)],
                          Near(0.0, MATCH_POINTS)))
        a.details.append(f"{v['init']} init, {v['label']} ({es['seeds']} seeds): eval mode {stat_text(es['eval_mode_error'], True)}; "
                         f"the ensemble minus eval mode is {stat_text(es['minus_eval_mode'][first], True)} at {first} "
                         f"pass and {stat_text(es['minus_eval_mode'][last], True)} at {last}.")
    a.checks += [c for pair in zip(ones, bigs) for c in pair]
    if ones:
        a.sentences += _ensemble_sentences(s, ones, bigs, last)
    longs = _long_runs(s)
    if longs:
        a.sentences.append("Seed 0 carried on further (Wilson 95% intervals over the val samples): " + "; ".join(longs) + ".")
    a.figures += ["ensemble_seeds.png", "ensemble.png"]
    inconclusive_notes(a, s["settings"]["seeds"])


def _ensemble_sentences(s: dict, ones: list[Check], bigs: list[Check], last: str) -> list[str]:
    """What the ensemble checks say together: small ensembles against eval mode, and large ones."""
    out = [f"Over {len(ones)} trained dropout set-ups, every seed's MC ensemble up to {last} passes: a single stochastic "
           f"pass is measurably worse than eval mode (dropout off, weights scaled) in {tally(ones)}, and the {last}-pass "
           f"ensemble is within {100 * MATCH_POINTS:g} points of eval mode in {tally(bigs)} (paired over seeds)."]
    off = [c for c in bigs if c.verdict == "refuted"]
    worse = sum((c.evidence[0].stat.get("median") or 0) > 0 for c in off)
    better = len(off) - worse
    if worse:
        out.append(f"In {worse} set-up(s) the {last}-pass ensemble stays measurably above eval mode: the ensemble "
                   "approaches the weight-scaled net from above and does not reach it here.")
    if better:
        out.append(f"In {better} set-up(s) the {last}-pass ensemble beats eval mode by more than "
                   f"{100 * MATCH_POINTS:g} points: there averaging the passes pays.")
    if all(c.verdict == "confirmed" for c in bigs):
        out.append(f"So a small ensemble is worse than switching dropout off, and a large one ({last} passes) is as good "
                   "as it, no better: eval mode is the cheap way to the same error.")
    return out


def _long_runs(s: dict) -> list[str]:
    out = []
    for v in s["variants"]:
        e, iv = v.get("ensemble"), v.get("ensemble_error_interval") or {}
        if e and str(e["t_max"]) in iv and e["t_max"] > (v.get("ensemble_seeds") or {}).get("t", 0):
            w = iv[str(e["t_max"])]
            out.append(f"{v['init']}, {v['label']}: {e['t_max']} passes {100 * w['error']:.2f}% [{100 * w['lo']:.2f}, "
                       f"{100 * w['hi']:.2f}] vs eval mode {100 * e['eval_mode_error']:.2f}% ({e['samples']:,} samples)")
    return out


PART2 = (
    Question("p2-setup", PART2_NAME, "Set-up (items 1-3)", "A 20-layer net of ~100 neurons per layer whose forward collects the "
             "mean and std of the activations' absolute value, run untrained over a much larger sample of the same data.",
             "setup", "deep", deep_setup),
    Question("p2-item4", PART2_NAME, "Item 4", "Report and discuss the activation statistics when the weights are initialized "
             "with N(0, 1), Glorot and He.", "question", "deep", deep_stats),
)
PART3 = (
    Question("p3-setup", PART3_NAME, "Set-up (items 1-3)", "MNIST, normalized, 5,000 train / 10,000 val, test untouched; a "
             "784-800-800-10 net with dropout on the input and after every hidden layer, N(0, 0.1) weights, zero biases; "
             "AdamW at 3e-4.", "setup", "dropout", dropout_setup),
    Question("p3-item4", PART3_NAME, "Item 4", "Compare 50% dropout with no dropout: training and validation loss and error. "
             "Discuss the ability of dropout to regularize.", "question", "dropout", dropout_compare),
    Question("p3-item5", PART3_NAME, "Item 5", "Use the model trained with dropout as an ensemble (MC dropout): small and "
             "really large ensembles against the model with dropout switched off.", "question", "dropout", ensembles),
)
